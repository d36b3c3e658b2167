"""WhatsApp provider webhooks: raw body stored first, signature checked, then one call each."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from radicado.channels.models import WebhookDelivery, WhatsAppAccount, WhatsAppProvider
from radicado.channels.whatsapp.webhooks import (
    WebhookPayloadError,
    parse_meta_webhook_body,
    parse_twilio_inbound,
    parse_twilio_status,
    verify_meta_signature,
    verify_meta_subscription,
    verify_twilio_signature,
)
from radicado.channels.whatsapp_outbox import apply_status
from radicado.tickets.whatsapp_in import receive_whatsapp
from radicado.web.helpers import now


def _account(ws: str, provider: str) -> WhatsAppAccount:
    return get_object_or_404(WhatsAppAccount, workspace__slug=ws, provider=provider)


def _store(account: WhatsAppAccount, request: HttpRequest, signature_ok: bool) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        workspace_id=account.workspace_id,
        provider=account.provider,
        body=request.body,
        received_at=now(),
        signature_ok=signature_ok,
        outcome="" if signature_ok else "rejected",
    )


def _done(delivery: WebhookDelivery, outcome: str, detail: str = "") -> HttpResponse:
    WebhookDelivery.objects.filter(id=delivery.id).update(outcome=outcome, detail=detail[:2000])
    # Malformed payloads are kept for review and still acknowledged, so the provider stops retrying.
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest, ws: str) -> HttpResponse:
    account = _account(ws, WhatsAppProvider.META)
    if request.method == "GET":
        challenge = verify_meta_subscription(request.GET.dict(), account.verify_token)
        if challenge is None:
            return HttpResponseForbidden()
        return HttpResponse(challenge, content_type="text/plain")
    ok = verify_meta_signature(request.body, request.headers.get("X-Hub-Signature-256"), account.app_secret)
    delivery = _store(account, request, ok)
    if not ok:
        return HttpResponseForbidden()
    try:
        statuses, messages = parse_meta_webhook_body(request.body)
    except WebhookPayloadError as exc:
        return _done(delivery, "malformed", str(exc))
    for update in statuses:
        apply_status(workspace_id=account.workspace_id, update=update)
    results = [receive_whatsapp(account=account, message=m, now=now()).outcome for m in messages]
    return _done(delivery, "processed", ",".join(results))


@csrf_exempt
@require_http_methods(["POST"])
def twilio_webhook(request: HttpRequest, ws: str) -> HttpResponse:
    account = _account(ws, WhatsAppProvider.TWILIO)
    params = {k: request.POST.getlist(k) for k in request.POST}
    url = account.webhook_url or request.build_absolute_uri()
    ok = verify_twilio_signature(url, params, request.headers.get("X-Twilio-Signature"), account.auth_token)
    delivery = _store(account, request, ok)
    if not ok:
        return HttpResponseForbidden()
    try:
        if "MessageStatus" in params and "Body" not in params:
            apply_status(workspace_id=account.workspace_id, update=parse_twilio_status(params))
            return _done(delivery, "status")
        result = receive_whatsapp(account=account, message=parse_twilio_inbound(params), now=now())
    except WebhookPayloadError as exc:
        return _done(delivery, "malformed", str(exc))
    return _done(delivery, "processed", result.outcome)
