"""The only way an interface loads a ticket or its files for a request.

Every loader is scoped by workspace and, for customers, by contact or company.
Anything out of scope is indistinguishable from something that does not exist.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from radicado.tickets.models import Attachment, Ticket
from radicado.workspaces.access import Actor


class TicketNotFound(Http404):
    pass


class AttachmentNotFound(Http404):
    pass


def tickets_visible_to(actor: Actor) -> QuerySet[Ticket]:
    """Tickets the actor may list: staff all, key users their company's, contacts their own."""
    qs = Ticket.objects.filter(workspace_id=actor.workspace.id)
    if actor.is_staff:
        return qs
    if actor.is_key_user and actor.customer_id is not None:
        return qs.filter(customer_id=actor.customer_id)
    if actor.contact_id is not None:
        return qs.filter(requester_id=actor.contact_id)
    return qs.none()


def _detail_qs(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    # The workspace's small lookup rows are not joined: see queries.LOOKUP_RELATIONS.
    return qs.select_related("customer", "requester", "assignee__user").prefetch_related(
        "workspace", "type", "priority", "state", "team", "terms_pending"
    )


def access_ticket_for_agent(*, actor: Actor, number: int) -> Ticket:
    """Load a ticket of the actor's workspace for a staff member; raise TicketNotFound."""
    if not actor.is_staff:
        raise TicketNotFound
    try:
        return _detail_qs(Ticket.objects.filter(workspace_id=actor.workspace.id)).get(number=number)
    except Ticket.DoesNotExist:
        raise TicketNotFound from None


def access_ticket_for_contact(*, actor: Actor, number: int) -> Ticket:
    """Load a ticket a contact (own) or key user (company's) may see; raise TicketNotFound."""
    if not actor.is_customer:
        raise TicketNotFound
    try:
        return _detail_qs(tickets_visible_to(actor)).get(number=number)
    except Ticket.DoesNotExist:
        raise TicketNotFound from None


def access_ticket(*, actor: Actor, number: int) -> Ticket:
    """Load a ticket with the rule that fits the actor's role; raise TicketNotFound."""
    if actor.is_staff:
        return access_ticket_for_agent(actor=actor, number=number)
    return access_ticket_for_contact(actor=actor, number=number)


def access_attachment(*, actor: Actor, attachment_id: int) -> Attachment:
    """Load an attachment the actor may download; notes' files are staff-only."""
    qs = Attachment.objects.filter(workspace_id=actor.workspace.id, ticket__in=tickets_visible_to(actor))
    if not actor.is_staff:
        qs = qs.filter(note__isnull=True)
    try:
        return qs.select_related("ticket").get(id=attachment_id)
    except Attachment.DoesNotExist:
        raise AttachmentNotFound from None
