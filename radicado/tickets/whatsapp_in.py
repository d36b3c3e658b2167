"""WhatsApp messages in (T13): appended to the sender's open request, or a new one (T6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from radicado.channels.models import WhatsAppAccount, WhatsAppMessage, WhatsAppStatus
from radicado.channels.whatsapp.transport import InboundMessage, number_variants
from radicado.customers.access import actor_for_contact
from radicado.customers.models import Contact
from radicado.tickets import actions
from radicado.tickets.models import ACTIVE_CATEGORIES, Channel, Ticket, TicketType


@dataclass(frozen=True)
class WhatsAppResult:
    outcome: str  # threaded | created | duplicate | unknown
    ticket: str | None = None


def receive_whatsapp(*, account: WhatsAppAccount, message: InboundMessage, now: dt.datetime) -> WhatsAppResult:
    """Record an inbound message and append it to the sender's open request, or register one (T13, T6)."""
    ws_id = account.workspace_id
    if WhatsAppMessage.objects.filter(workspace_id=ws_id, provider_message_id=message.provider_message_id).exists():
        return WhatsAppResult("duplicate")
    contact = (
        Contact.objects.filter(workspace_id=ws_id, phone_e164__in=number_variants(message.from_number))
        .select_related("customer", "workspace")
        .first()
    )
    record = WhatsAppMessage.objects.create(
        workspace_id=ws_id,
        inbound=True,
        number=message.from_number,
        text=message.text,
        status=WhatsAppStatus.RECEIVED,
        provider_message_id=message.provider_message_id,
        created_at=now,
        status_at=message.at,
    )
    if contact is None:
        return WhatsAppResult("unknown")
    actor = actor_for_contact(contact=contact)
    body = message.text.strip() or "(mensaje sin texto)"
    ticket = (
        Ticket.objects.filter(workspace_id=ws_id, requester=contact, category__in=ACTIVE_CATEGORIES)
        .select_related("workspace", "state", "customer", "requester", "type", "priority")
        .order_by("-updated_at", "-id")
        .first()
    )
    if ticket is not None:
        actions.add_reply(actor=actor, ticket=ticket, body=body, now=now)
        outcome = "threaded"
    else:
        ticket_type = TicketType.objects.filter(workspace_id=ws_id, in_portal=True).order_by("order").first()
        if ticket_type is None:
            return WhatsAppResult("unknown")
        ticket = actions.create_ticket(
            actor=actor,
            requester=contact,
            ticket_type=ticket_type,
            subject=body[:80],
            description=body,
            channel=Channel.WHATSAPP,
            now=now,
        )
        outcome = "created"
    WhatsAppMessage.objects.filter(id=record.id).update(ticket=ticket)
    return WhatsAppResult(outcome, ticket.reference)
