"""Terms of attention (H2): versioned per workspace, posted on new tickets of the types that
require them; staff work on the ticket waits until the customer accepts inside it."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max
from django.utils.translation import gettext as _

from radicado.action import action
from radicado.errors import UserError
from radicado.tickets.events import record_event
from radicado.tickets.models import EventKind, TermsAcceptance, TermsVersion, Ticket
from radicado.workspaces.access import Actor
from radicado.workspaces.actions import audit
from radicado.workspaces.models import User, Workspace


class TermsError(UserError):
    """The terms cannot be accepted (or published) as asked; the message is for the user."""


@action
def publish_terms(
    *, workspace: Workspace, text_es: str, text_en: str, now: dt.datetime, actor: User | None = None
) -> TermsVersion:
    """Publish a new version; tickets registered from now on post it. Earlier versions stay as accepted."""
    if not text_es.strip():
        raise TermsError(_("The terms cannot be empty."))
    latest = TermsVersion.objects.filter(workspace=workspace).aggregate(v=Max("version"))["v"] or 0
    terms = TermsVersion.objects.create(
        workspace=workspace, version=latest + 1, text_es=text_es.strip(), text_en=text_en.strip(), created_at=now
    )
    audit(workspace=workspace, actor=actor, action="terms.published", target=f"v{terms.version}", now=now)
    return terms


def current_terms(workspace_id: int) -> TermsVersion | None:
    return TermsVersion.objects.filter(workspace_id=workspace_id).order_by("-version").first()


def post_terms(*, ticket: Ticket, now: dt.datetime) -> None:
    """Post the current terms on a new ticket whose type requires them."""
    terms = current_terms(ticket.workspace_id)
    if terms is None or not ticket.type.requires_terms:
        return
    ticket.terms_pending = terms
    Ticket.objects.filter(id=ticket.id).update(terms_pending=terms)
    record_event(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        actor=None,
        kind=EventKind.TERMS_POSTED,
        to_value=str(terms.version),
        now=now,
    )


def ensure_terms_accepted(ticket: Ticket) -> None:
    """Raise TermsError while the ticket waits for the customer to accept the terms (blocks staff work)."""
    if ticket.terms_pending_id is not None:
        raise TermsError(_("The customer has not accepted the terms of attention yet; work on it waits."))


@action
def accept_terms(*, actor: Actor, ticket: Ticket, now: dt.datetime) -> TermsAcceptance:
    """The customer accepts the posted terms inside the ticket; records who, when and which version."""
    if not actor.is_customer or actor.customer_id != ticket.customer_id:
        raise TermsError(_("Only the customer can accept the terms of attention."))
    pending = Ticket.objects.select_for_update().filter(id=ticket.id).values_list("terms_pending", flat=True).get()
    if pending is None:
        raise TermsError(_("There are no terms waiting for acceptance on this request."))
    terms = TermsVersion.objects.get(id=pending)
    acceptance = TermsAcceptance.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        terms=terms,
        contact_id=actor.contact_id,
        user=actor.user,
        name=actor.display_name,
        accepted_at=now,
    )
    Ticket.objects.filter(id=ticket.id).update(terms_pending=None)
    ticket.terms_pending = None
    record_event(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        actor=actor,
        kind=EventKind.TERMS_ACCEPTED,
        to_value=str(terms.version),
        now=now,
    )
    return acceptance
