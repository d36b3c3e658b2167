"""WhatsApp follow-ups to the requester (T7): best effort, never in the way of the ticket."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from radicado.channels.jobs import send_after_commit, send_whatsapp
from radicado.channels.models import WhatsAppAccount, WhatsAppMessage
from radicado.channels.whatsapp_outbox import queue_whatsapp
from radicado.tickets.models import Ticket

log = logging.getLogger(__name__)


def queue_followup(
    *,
    ticket: Ticket,
    body: str,
    now: dt.datetime,
    number: str | None = None,
    event: str = "",
    idempotency_key: str | None = None,
) -> WhatsAppMessage | None:
    """Tell the requester (or ``number``) about the ticket by WhatsApp, if the workspace has a line.

    Best effort (T7): any problem is logged and swallowed inside a savepoint, so the reply,
    its e-mail and the ticket never depend on WhatsApp.
    """
    account = WhatsAppAccount.objects.filter(workspace_id=ticket.workspace_id).first()
    number = number or ticket.requester.phone_e164
    if account is None or not number:
        return None
    if idempotency_key and WhatsAppMessage.objects.filter(idempotency_key=idempotency_key).exists():
        return None
    try:
        with transaction.atomic():
            message = queue_whatsapp(
                account=account,
                ticket_id=ticket.id,
                number=number,
                text=f"[{ticket.reference}] {body}"[:4000],
                template_params=[ticket.reference, ticket.subject[:60]],
                now=now,
                event=event,
                idempotency_key=idempotency_key,
            )
            if message is not None:
                send_after_commit(send_whatsapp, message.id)
            return message
    except Exception:  # best effort by design: never break the reply
        log.exception("WhatsApp follow-up for %s not queued", ticket.reference)
        return None
