"""Registering a request: its number, initial state, priority, ANS clocks and notice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.translation import gettext as _

from radicado.action import action, cached, insert
from radicado.customers.models import Contact
from radicado.sla import clocks as sla_clocks
from radicado.sla.models import TargetKind
from radicado.sla.rules import PriorityNotAllowed, check_priority
from radicado.tickets import automations, notify, terms
from radicado.tickets import sla as ticket_sla
from radicado.tickets.actions.errors import NotPermitted, TicketError
from radicado.tickets.actions.guards import BODY_MAX, SUBJECT_MAX, _clean_text, _record, _same_workspace
from radicado.tickets.attachments import Upload, store_uploads, validate_uploads
from radicado.tickets.lookups import lookups
from radicado.tickets.models import (
    Channel,
    EventKind,
    Priority,
    Ticket,
    TicketType,
    WorkflowState,
)
from radicado.workspaces.access import Actor
from radicado.workspaces.models import Level


def allocate_ticket_number(*, workspace_id: int) -> int:
    """Hand out the next ticket number of a workspace, without gaps or duplicates (ADR 0003).

    Runs inside the transaction that inserts the ticket: the counter's row lock serialises
    concurrent callers until commit, and a rollback returns the number.
    """
    return lookups().next_ticket_number(workspace_id)


@cached
def _initial_state_of(workflow_id: int) -> WorkflowState | None:
    return WorkflowState.objects.filter(workflow_id=workflow_id, is_initial=True).first()


@cached
def _default_priority_of(workspace_id: int) -> Priority | None:
    return Priority.objects.filter(workspace_id=workspace_id).order_by("-is_default", "-rank").first()


def _initial_state(ticket_type: TicketType) -> WorkflowState:
    state = _initial_state_of(ticket_type.workflow_id)
    if state is None:
        raise TicketError(_("The workflow of this request type has no initial state."))
    return state


def _default_priority(workspace_id: int) -> Priority:
    priority = _default_priority_of(workspace_id)
    if priority is None:
        raise TicketError(_("This workspace has no priorities configured."))
    return priority


@action
def create_ticket(
    *,
    actor: Actor,
    requester: Contact,
    ticket_type: TicketType,
    subject: str,
    description: str,
    channel: Channel,
    now: dt.datetime,
    priority: Priority | None = None,
    urgency: str = "",
    impact: str = "",
    uploads: Sequence[Upload] = (),
    announce: bool = True,
) -> Ticket:
    """Register a request for ``requester`` and return it.

    ``announce`` False leaves the registration notice to the caller (the e-mail channel
    sends it once the customer's message is indexed, so that the notice threads).

    With ``urgency`` and ``impact`` the priority comes from the workspace's matrix (I5)
    unless staff name a priority explicitly.

    Customers register for themselves (a key user for anyone of its company) and
    only portal types; staff register on behalf of any contact (e.g. a phone call).
    Raises TicketError (and its subclasses) with a message for the user.
    """
    _same_workspace(actor, requester, ticket_type, priority)
    subject = _clean_text(subject, field=_("Subject"), max_length=SUBJECT_MAX)
    description = _clean_text(description, field=_("Description"), max_length=BODY_MAX)
    validate_uploads(uploads)
    if actor.is_customer:
        own = requester.id == actor.contact_id or (actor.is_key_user and requester.customer_id == actor.customer_id)
        if not own:
            raise NotPermitted(_("You can only register requests for your own company."))
        if not ticket_type.in_portal:
            raise NotPermitted(_("This request type is not available in the portal."))
        if priority is not None:
            raise NotPermitted(_("The priority is set by the support team."))
    state = _initial_state(ticket_type)
    if urgency or impact:
        matrix_code = ticket_sla.priority_for(workspace_id=actor.workspace.id, urgency=urgency, impact=impact)
        if matrix_code is None:
            raise TicketError(_("Choose how urgent it is and whom it affects."))
        priority = priority or Priority.objects.get(workspace_id=actor.workspace.id, code=matrix_code)
    priority = priority or _default_priority(actor.workspace.id)
    customer = requester.customer
    # The tier is read once: it decides the allowed priorities (T2) and, below, the ANS targets.
    tier = ticket_sla.tier_of(customer=customer, on=now.date())
    try:
        check_priority(tier, priority.code)
    except PriorityNotAllowed as exc:
        raise TicketError(str(exc)) from exc
    ticket = Ticket(
        workspace=actor.workspace,
        number=allocate_ticket_number(workspace_id=actor.workspace.id),
        type=ticket_type,
        priority=priority,
        priority_rank=priority.rank,
        state=state,
        category=state.category,
        channel=channel,
        customer=customer,  # in hand: the ANS facts below read it from the ticket
        requester=requester,
        level=Level.N1,
        urgency=urgency,
        impact=impact,
        subject=subject,
        description=description,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
        auto_action_at=automations.auto_deadline(workspace_id=actor.workspace.id, state=state, since=now),
    )
    insert(ticket)
    _record(
        ticket=ticket, actor=actor, kind=EventKind.CREATED, now=now, to_value=state.code, data={"channel": str(channel)}
    )
    store_uploads(ticket=ticket, uploads=uploads, uploaded_by=actor.user, now=now)
    if ticket_type.requires_terms:  # post_terms would do nothing else, after reading the current version
        terms.post_terms(ticket=ticket, now=now)
    started = sla_clocks.start_clocks(facts=ticket_sla.facts_of(ticket), now=now, tier=tier)
    if announce:
        due = next((c.due_at for c in started.clocks if c.kind == TargetKind.FIRST_RESPONSE), None)
        notify.announce_registration(ticket=ticket, actor=actor, now=now, due=due)
    return ticket
