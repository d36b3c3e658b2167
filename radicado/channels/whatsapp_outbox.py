"""WhatsApp messages as rows: queued with the event, sent after commit, retried, statuses applied.

Best effort by design (T7): nothing here raises into the caller's transaction, and a failed
WhatsApp message never touches the ticket or its e-mail.
"""

from __future__ import annotations

import datetime as dt

from radicado.channels.claims import backoff, claim_due
from radicado.channels.models import WhatsAppAccount, WhatsAppMessage, WhatsAppProvider
from radicado.channels.whatsapp.meta import DEFAULT_BASE_URL as META_API
from radicado.channels.whatsapp.meta import MetaCloudTransport
from radicado.channels.whatsapp.transport import (
    OutgoingMessage,
    StatusUpdate,
    TransportError,
    WhatsAppTransport,
    status_advances,
)
from radicado.channels.whatsapp.twilio import DEFAULT_BASE_URL as TWILIO_API
from radicado.channels.whatsapp.twilio import TwilioTransport

WINDOW = dt.timedelta(hours=24)
MAX_ATTEMPTS = 6


def transport_for(account: WhatsAppAccount) -> WhatsAppTransport:
    if account.provider == WhatsAppProvider.META:
        return MetaCloudTransport(
            phone_number_id=account.phone_number_id,
            access_token=account.access_token,
            base_url=account.api_base_url or META_API,
        )
    return TwilioTransport(
        account_sid=account.account_sid,
        auth_token=account.auth_token,
        from_number=account.number,
        status_callback_url=account.webhook_url or None,
        base_url=account.api_base_url or TWILIO_API,
    )


def within_window(*, workspace_id: int, number: str, now: dt.datetime) -> bool:
    """True when the customer wrote to us from this number in the last 24 hours."""
    return WhatsAppMessage.objects.filter(
        workspace_id=workspace_id, number=number, inbound=True, created_at__gt=now - WINDOW
    ).exists()


def queue_whatsapp(
    *,
    account: WhatsAppAccount,
    ticket_id: int | None,
    number: str,
    text: str,
    template_params: list[str],
    now: dt.datetime,
    event: str = "",
    idempotency_key: str | None = None,
) -> WhatsAppMessage | None:
    """Record a message to send: text inside the window, the approved template outside it.

    Returns None when outside the window and the account has no template (nothing can be sent).
    """
    inside = within_window(workspace_id=account.workspace_id, number=number, now=now)
    if not inside and not account.followup_template:
        return None
    return WhatsAppMessage.objects.create(
        workspace_id=account.workspace_id,
        ticket_id=ticket_id,
        inbound=False,
        number=number,
        text=text,
        template="" if inside else account.followup_template,
        params=[] if inside else template_params,
        within_window=inside,
        created_at=now,
        next_attempt_at=now,
        event=event,
        idempotency_key=idempotency_key,
    )


def send_due(*, now: dt.datetime, ids: list[int] | None = None, limit: int = 100) -> int:
    """Send pending messages whose time has come (or the given ids); return how many were sent."""
    qs = WhatsAppMessage.objects.filter(status="pending", inbound=False)
    if ids is not None:
        qs = qs.filter(id__in=ids)
        limit = max(limit, len(ids))  # a batch's send job names all its rows
    sent = 0
    for message in claim_due(qs, now=now, limit=limit):
        assert isinstance(message, WhatsAppMessage)
        message_id = message.id
        account = WhatsAppAccount.objects.filter(workspace_id=message.workspace_id).first()
        if account is None:
            WhatsAppMessage.objects.filter(id=message_id).update(status="failed", last_error="sin cuenta de WhatsApp")
            continue
        outgoing = OutgoingMessage(
            to=message.number,
            text=message.text,
            within_window=message.within_window,
            template=message.template or None,
            template_language=account.followup_template_language,
            template_params=[str(p) for p in message.params],
        )
        try:
            result = transport_for(account).send(outgoing)
        except TransportError as exc:
            failed = exc.permanent or message.attempts >= MAX_ATTEMPTS
            WhatsAppMessage.objects.filter(id=message_id).update(
                status="failed" if failed else "pending",
                next_attempt_at=None if failed else now + backoff(message.attempts),
                last_error=str(exc)[:2000],
            )
            continue
        WhatsAppMessage.objects.filter(id=message_id).update(
            status="sent", provider_message_id=result.provider_message_id, status_at=now, last_error=""
        )
        sent += 1
    return sent


def apply_status(*, workspace_id: int, update: StatusUpdate) -> bool:
    """Apply a delivery-status webhook to its message; repeats and stale statuses change nothing."""
    message = WhatsAppMessage.objects.filter(
        workspace_id=workspace_id, provider_message_id=update.provider_message_id, inbound=False
    ).first()
    if message is None or not status_advances(message.status if message.status != "pending" else None, update.status):
        return False
    WhatsAppMessage.objects.filter(id=message.id).update(
        status=update.status, status_at=update.at, last_error=update.error or message.last_error
    )
    return True
