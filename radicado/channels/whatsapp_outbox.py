"""WhatsApp messages as rows: queued with the event, sent after commit, retried, statuses applied.

Sending is ``delivery.deliver_due`` (shared with e-mail) with the provider as the transport.

Best effort by design (T7): nothing here raises into the caller's transaction, and a failed
WhatsApp message never touches the ticket or its e-mail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from radicado.channels.delivery import DeliveryFailed, deliver_due
from radicado.channels.models import WhatsAppAccount, WhatsAppMessage, WhatsAppProvider, WhatsAppStatus
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
    return deliver_due(
        WhatsAppMessage.objects.filter(status=WhatsAppStatus.PENDING, inbound=False),
        send=lambda message: _send_message(message, now=now),
        max_attempts=MAX_ATTEMPTS,
        now=now,
        ids=ids,
        limit=limit,
    )


def _send_message(message: WhatsAppMessage, *, now: dt.datetime) -> dict[str, Any]:
    """Hand one message to the workspace's provider (the WhatsApp transport of ``delivery.deliver_due``)."""
    account = WhatsAppAccount.objects.filter(workspace_id=message.workspace_id).first()
    if account is None:
        raise DeliveryFailed("sin cuenta de WhatsApp", permanent=True)
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
        raise DeliveryFailed(str(exc), permanent=exc.permanent) from exc
    return {"provider_message_id": result.provider_message_id, "status_at": now}


def apply_status(*, workspace_id: int, update: StatusUpdate) -> bool:
    """Apply a delivery-status webhook to its message; repeats and stale statuses change nothing."""
    message = WhatsAppMessage.objects.filter(
        workspace_id=workspace_id, provider_message_id=update.provider_message_id, inbound=False
    ).first()
    if message is None:
        return False
    if not status_advances(None if message.status == WhatsAppStatus.PENDING else message.status, update.status):
        return False
    WhatsAppMessage.objects.filter(id=message.id).update(
        status=update.status, status_at=update.at, last_error=update.error or message.last_error
    )
    return True
