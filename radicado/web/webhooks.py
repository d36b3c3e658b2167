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
from radicado.tickets.whatsapp_in import close_delivery, process_delivery, record_delivery
from radicado.web.helpers import now


def _account(ws: str, provider: str) -> WhatsAppAccount:
    return get_object_or_404(WhatsAppAccount, workspace__slug=ws, provider=provider)


def _store(account: WhatsAppAccount, request: HttpRequest, signature_ok: bool) -> WebhookDelivery:
    return record_delivery(account=account, body=request.body, signature_ok=signature_ok, now=now())


def _done(delivery: WebhookDelivery, outcome: str, detail: str = "") -> HttpResponse:
    close_delivery(delivery=delivery, outcome=outcome, detail=detail)
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
    process_delivery(account=account, delivery=delivery, statuses=statuses, messages=messages, now=now())
    return HttpResponse("ok", content_type="text/plain")


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
            statuses, messages, outcome = [parse_twilio_status(params)], [], "status"
        else:
            statuses, messages, outcome = [], [parse_twilio_inbound(params)], "processed"
    except WebhookPayloadError as exc:
        return _done(delivery, "malformed", str(exc))
    process_delivery(
        account=account, delivery=delivery, statuses=statuses, messages=messages, now=now(), outcome=outcome
    )
    return HttpResponse("ok", content_type="text/plain")
