"""WhatsApp provider webhooks: size checked, signature checked, then stored, then one action each.

Nothing a stranger sends is stored whole (issue 19): a body over ``MAX_BODY_BYTES`` is refused
unread (413); a request whose signature does not verify — or that names a workspace or provider
without a WhatsApp line, which gets the very same answer — leaves at most a bounded summary
(``record_refusal``), deleted after ``WEBHOOK_REFUSED_RETENTION_DAYS``. A signed delivery is stored
as received before it is processed (raw input first), then parsed with nesting limits, and entries
outside the replay window are acknowledged without effect.
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from radicado.channels.models import WebhookDelivery, WhatsAppAccount, WhatsAppProvider
from radicado.channels.whatsapp.webhooks import (
    MAX_BODY_BYTES,
    WebhookPayloadError,
    parse_meta_webhook_body,
    parse_twilio_inbound,
    parse_twilio_status,
    verify_meta_signature,
    verify_meta_subscription,
    verify_twilio_signature,
)
from radicado.tickets.whatsapp_in import close_delivery, process_delivery, record_delivery, record_refusal
from radicado.web.helpers import client_address, now

REFUSED = "forbidden"


def _account(ws: str, provider: str) -> WhatsAppAccount | None:
    return WhatsAppAccount.objects.filter(workspace__slug=ws, provider=provider).select_related("workspace").first()


def _refused(account: WhatsAppAccount | None, request: HttpRequest, reason: str) -> HttpResponse:
    """The one answer to anything not signed by the line's provider (whether or not the line exists)."""
    if account is not None:  # a summary for the line's admins; nothing for a line that does not exist
        body = request.body
        summary = (
            f"{reason}; {len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()[:16]}, "
            f"from {client_address(request)}"
        )
        record_refusal(account=account, summary=summary, now=now())
    return HttpResponse(REFUSED, status=403, content_type="text/plain")


def _too_big(request: HttpRequest) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    return declared > MAX_BODY_BYTES


def _too_big_answer() -> HttpResponse:
    return HttpResponse("too large", status=413, content_type="text/plain")


def _done(delivery: WebhookDelivery, outcome: str, detail: str = "") -> HttpResponse:
    close_delivery(delivery=delivery, outcome=outcome, detail=detail)
    # Malformed payloads are kept for review and still acknowledged, so the provider stops retrying.
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest, ws: str) -> HttpResponse:
    account = _account(ws, WhatsAppProvider.META)
    if request.method == "GET":
        challenge = verify_meta_subscription(request.GET.dict(), account.verify_token if account else "")
        if challenge is None:
            return HttpResponse(REFUSED, status=403, content_type="text/plain")
        return HttpResponse(challenge, content_type="text/plain")
    if _too_big(request) or len(request.body) > MAX_BODY_BYTES:
        return _too_big_answer()
    header = request.headers.get("X-Hub-Signature-256")
    if account is None or not verify_meta_signature(request.body, header, account.app_secret):
        return _refused(account, request, "bad signature")
    delivery = record_delivery(account=account, body=request.body, signature_ok=True, now=now())
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
    if _too_big(request) or len(request.body) > MAX_BODY_BYTES:
        return _too_big_answer()
    params = {k: request.POST.getlist(k) for k in request.POST}
    url = (account.webhook_url if account else "") or request.build_absolute_uri()
    header = request.headers.get("X-Twilio-Signature")
    if account is None or not verify_twilio_signature(url, params, header, account.auth_token):
        return _refused(account, request, "bad signature")
    delivery = record_delivery(account=account, body=request.body, signature_ok=True, now=now())
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
