"""WhatsApp messages in (T13): appended to the sender's open request, or a new one (T6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from radicado.action import action
from radicado.channels.models import WebhookDelivery, WhatsAppAccount, WhatsAppMessage, WhatsAppStatus
from radicado.channels.whatsapp.transport import InboundMessage, StatusUpdate, number_variants
from radicado.channels.whatsapp_outbox import apply_status
from radicado.customers.access import actor_for_contact
from radicado.customers.models import Contact
from radicado.tickets import actions
from radicado.tickets.models import ACTIVE_CATEGORIES, Channel, Ticket, TicketType


@dataclass(frozen=True)
class WhatsAppResult:
    outcome: str  # threaded | created | duplicate | unknown
    ticket: str | None = None


@action
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


@action
def record_delivery(*, account: WhatsAppAccount, body: bytes, signature_ok: bool, now: dt.datetime) -> WebhookDelivery:
    """Keep a provider's webhook request as it came (committed before it is processed)."""
    return WebhookDelivery.objects.create(
        workspace_id=account.workspace_id,
        provider=account.provider,
        body=body,
        received_at=now,
        signature_ok=signature_ok,
        outcome="" if signature_ok else "rejected",
    )


REFUSALS_PER_HOUR = 100  # summaries kept per line and hour; a flood beyond leaves nothing more


@action
def record_refusal(*, account: WhatsAppAccount, summary: str, now: dt.datetime) -> WebhookDelivery | None:
    """A bounded note of a refused webhook request (never its body), at most ``REFUSALS_PER_HOUR`` per line."""
    recent = WebhookDelivery.objects.filter(
        workspace_id=account.workspace_id, signature_ok=False, received_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= REFUSALS_PER_HOUR:
        return None
    return WebhookDelivery.objects.create(
        workspace_id=account.workspace_id,
        provider=account.provider,
        body=b"",
        received_at=now,
        signature_ok=False,
        outcome="rejected",
        detail=summary[:500],
    )


@action
def purge_refused_webhooks(*, now: dt.datetime) -> int:
    """Delete refusal summaries older than ``WEBHOOK_REFUSED_RETENTION_DAYS``; return how many."""
    cutoff = now - dt.timedelta(days=settings.WEBHOOK_REFUSED_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(signature_ok=False, received_at__lt=cutoff).delete()
    return deleted


def _in_window(at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an entry's own time is inside the replay window (providers retry for up to 7 days)."""
    if at is None:
        return True
    window = dt.timedelta(hours=settings.WHATSAPP_REPLAY_WINDOW_HOURS)
    return now - window <= at <= now + dt.timedelta(minutes=5)


@action
def close_delivery(*, delivery: WebhookDelivery, outcome: str, detail: str = "") -> None:
    """Record what became of a webhook request."""
    WebhookDelivery.objects.filter(id=delivery.id).update(outcome=outcome, detail=detail[:2000])


@action
def process_delivery(
    *,
    account: WhatsAppAccount,
    delivery: WebhookDelivery,
    statuses: Sequence[StatusUpdate],
    messages: Sequence[InboundMessage],
    now: dt.datetime,
    outcome: str = "processed",
) -> str:
    """Apply a webhook's status updates and inbound messages, all or nothing (a failure rolls every part back,
    and the provider's retry finds nothing done yet); return the outcomes, comma-separated. Entries dated
    outside the replay window (a delivery recorded long ago and sent again) are acknowledged and ignored."""
    results = []
    for update in statuses:
        if _in_window(update.at, now):
            apply_status(workspace_id=account.workspace_id, update=update)
        else:
            results.append("stale")
    for message in messages:
        fresh = _in_window(message.at, now)
        results.append(receive_whatsapp(account=account, message=message, now=now).outcome if fresh else "stale")
    outcomes = ",".join(results)
    close_delivery(delivery=delivery, outcome=outcome, detail=outcomes)
    return outcomes
