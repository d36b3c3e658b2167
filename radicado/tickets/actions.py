"""Every write to tickets: named, typed, keyword-only, atomic, and recorded.

Interfaces load objects through ``radicado.tickets.access`` and then make one
call here. Each action validates, writes, and appends TicketEvent rows in the
same transaction. ``now`` is always a parameter: the domain never reads a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.translation import gettext as _

from radicado import errors
from radicado.action import action, cached, insert, update
from radicado.customers.models import Contact
from radicado.errors import Conflict, UserError
from radicado.sla import clocks as sla_clocks
from radicado.sla.rules import PriorityNotAllowed, check_priority
from radicado.tickets import automations, notify, surveys, terms
from radicado.tickets import sla as ticket_sla
from radicado.tickets.attachments import Upload, store_uploads, validate_uploads
from radicado.tickets.events import record_event
from radicado.tickets.lookups import lookups
from radicado.tickets.models import (
    TERMINAL_CATEGORIES,
    Category,
    Channel,
    EventKind,
    Note,
    Priority,
    Reply,
    Ticket,
    TicketEvent,
    TicketType,
    WorkflowState,
    WorkflowTransition,
)
from radicado.workspaces.access import Actor
from radicado.workspaces.models import Level, Membership, Team

SUBJECT_MAX = 250
BODY_MAX = 100_000


class TicketError(UserError):
    """A request that cannot be carried out; the message is for the user."""


class TicketClosed(TicketError, Conflict):
    """The ticket is closed for good (T6): a new request must be registered."""


class TransitionNotAllowed(TicketError):
    pass


class NotPermitted(TicketError, errors.NotPermitted):
    pass


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise NotPermitted(_("Only support staff can do this."))


def _same_workspace(actor: Actor, *objs: object) -> None:
    for obj in objs:
        if obj is not None and getattr(obj, "workspace_id", None) != actor.workspace.id:
            raise NotPermitted(_("That item belongs to another workspace."))


def _staff_edit(actor: Actor, ticket: Ticket, *objs: object) -> None:
    """The guard of every field change: staff only, same workspace, ticket not closed."""
    _require_staff(actor)
    _same_workspace(actor, ticket, *objs)
    _ensure_open(ticket)


def _clean_text(value: str, *, field: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise TicketError(_("%(field)s cannot be empty.") % {"field": field})
    if len(value) > max_length:
        raise TicketError(
            _("%(field)s is too long (at most %(max)d characters).") % {"field": field, "max": max_length}
        )
    return value


def _record(
    *,
    ticket: Ticket,
    actor: Actor | None,
    kind: EventKind,
    now: dt.datetime,
    from_value: str = "",
    to_value: str = "",
    reply: Reply | None = None,
    note: Note | None = None,
    data: dict[str, object] | None = None,
) -> TicketEvent:
    return record_event(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        actor=actor,
        kind=kind,
        now=now,
        from_value=from_value,
        to_value=to_value,
        reply=reply,
        note=note,
        data=data,
    )


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
    sla_clocks.start_clocks(facts=ticket_sla.facts_of(ticket), now=now, tier=tier)
    if announce:
        notify.announce_registration(ticket=ticket, actor=actor, now=now)
    return ticket


def _ensure_terms(ticket: Ticket) -> None:
    try:
        terms.ensure_terms_accepted(ticket)
    except terms.TermsError as exc:
        raise TicketError(str(exc)) from exc


def _ensure_open(ticket: Ticket) -> None:
    if ticket.category in TERMINAL_CATEGORIES:
        raise TicketClosed(
            _("Request %(ref)s is closed. Please register a new request about it.") % {"ref": ticket.reference}
        )


def _move(
    *,
    ticket: Ticket,
    actor: Actor | None,
    state: WorkflowState,
    now: dt.datetime,
    auto: bool = False,
    rule: dict[str, str] | None = None,
) -> None:
    previous = ticket.state
    ticket.state = state
    ticket.category = state.category
    ticket.updated_at = now
    if state.category == Category.RESOLVED:
        ticket.resolved_at = now
    if state.category in TERMINAL_CATEGORIES:
        ticket.closed_at = now
    ticket.auto_action_at = automations.auto_deadline(workspace_id=ticket.workspace_id, state=state, since=now)
    ticket.save(update_fields=["state", "category", "updated_at", "resolved_at", "closed_at", "auto_action_at"])
    if previous.category != state.category:
        sla_clocks.on_category(ticket_id=ticket.id, category=state.category, now=now)
        if state.category == Category.RESOLVED:
            surveys.start_survey(ticket=ticket, now=now)
    event = _record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.TRANSITIONED,
        now=now,
        from_value=previous.code,
        to_value=state.code,
        data={"auto": True, **(rule or {})} if auto else None,
    )
    notify.status_changed(ticket=ticket, actor=actor, now=now, key=f"ev{event.id}")


@cached
def _state_by_code(workflow_id: int, code: str) -> WorkflowState | None:
    return WorkflowState.objects.filter(workflow_id=workflow_id, code=code).first()


def _auto_move(*, ticket: Ticket, actor: Actor, now: dt.datetime) -> None:
    code = ticket.state.on_customer_reply if actor.is_customer else ticket.state.on_agent_reply
    if not code:
        return
    target = _state_by_code(ticket.state.workflow_id, code)
    if target is not None and target.id != ticket.state_id:
        _move(ticket=ticket, actor=actor, state=target, now=now, auto=True)


@action
def add_reply(*, actor: Actor, ticket: Ticket, body: str, now: dt.datetime, uploads: Sequence[Upload] = ()) -> Reply:
    """Add a public reply by a customer or an agent; raise TicketClosed on a closed ticket."""
    _same_workspace(actor, ticket)
    _ensure_open(ticket)
    if not actor.is_customer:
        _ensure_terms(ticket)
    body = _clean_text(body, field=_("Message"), max_length=BODY_MAX)
    validate_uploads(uploads)
    reply = insert(
        Reply(
            workspace_id=ticket.workspace_id,
            ticket=ticket,
            author=actor.user,
            author_name=actor.display_name,
            by_customer=actor.is_customer,
            body=body,
            created_at=now,
        )
    )
    store_uploads(ticket=ticket, uploads=uploads, uploaded_by=actor.user, now=now, reply=reply)
    event = _record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.REPLIED,
        now=now,
        reply=reply,
        data={"by_customer": actor.is_customer},
    )
    if actor.is_customer:
        # An automatic move waits for the customer's silence; a reply cancels it.
        update(ticket, updated_at=now, auto_action_at=None)
    else:
        update(ticket, updated_at=now)
    if not actor.is_customer:
        sla_clocks.on_agent_reply(ticket_id=ticket.id, now=now)
    notify.notify(
        ticket=ticket,
        event="reply.customer" if actor.is_customer else "reply.agent",
        actor=actor,
        now=now,
        key=f"ev{event.id}",
        context={"reply": {"author": actor.display_name, "body": body}},
    )
    _auto_move(ticket=ticket, actor=actor, now=now)
    return reply


@action
def add_note(*, actor: Actor, ticket: Ticket, body: str, now: dt.datetime, uploads: Sequence[Upload] = ()) -> Note:
    """Add an internal note (staff only; never shown to the customer)."""
    _require_staff(actor)
    _same_workspace(actor, ticket)
    body = _clean_text(body, field=_("Note"), max_length=BODY_MAX)
    validate_uploads(uploads)
    note = insert(
        Note(
            workspace_id=ticket.workspace_id,
            ticket=ticket,
            author=actor.user,
            author_name=actor.display_name,
            body=body,
            created_at=now,
        )
    )
    store_uploads(ticket=ticket, uploads=uploads, uploaded_by=actor.user, now=now, note=note)
    _record(ticket=ticket, actor=actor, kind=EventKind.NOTED, now=now, note=note)
    return note


def available_transitions(*, actor: Actor, ticket: Ticket) -> list[WorkflowTransition]:
    """The transitions the actor may make from the ticket's current state."""
    if ticket.category in TERMINAL_CATEGORIES:
        return []
    transitions = WorkflowTransition.objects.filter(from_state_id=ticket.state_id).select_related("to_state")
    return [t for t in transitions if actor.role in t.allowed_roles]


@action
def transition_ticket(*, actor: Actor, ticket: Ticket, to_state: str, now: dt.datetime) -> Ticket:
    """Move the ticket to the state with code ``to_state`` if the workflow allows the actor."""
    _same_workspace(actor, ticket)
    _ensure_open(ticket)
    for transition in available_transitions(actor=actor, ticket=ticket):
        if transition.to_state.code == to_state:
            if actor.is_staff and transition.to_state.category != Category.CANCELLED:
                _ensure_terms(ticket)
            _move(ticket=ticket, actor=actor, state=transition.to_state, now=now)
            return ticket
    raise TransitionNotAllowed(_("That status change is not allowed from the current status."))


def _change(
    *,
    ticket: Ticket,
    actor: Actor,
    kind: EventKind,
    field: str,
    old: str,
    new: str,
    now: dt.datetime,
    data: dict[str, object] | None = None,
) -> TicketEvent:
    ticket.updated_at = now
    ticket.save(
        update_fields=[field, "updated_at"] if field != "priority" else ["priority", "priority_rank", "updated_at"]
    )
    return _record(ticket=ticket, actor=actor, kind=kind, now=now, from_value=old, to_value=new, data=data)


@action
def set_priority(*, actor: Actor, ticket: Ticket, priority: Priority, now: dt.datetime) -> Ticket:
    """Change the priority (staff only)."""
    _staff_edit(actor, ticket, priority)
    if priority.id == ticket.priority_id:
        return ticket
    try:
        ticket_sla.check_tier_priority(customer=ticket.customer, priority=priority, on=now.date())
    except PriorityNotAllowed as exc:
        raise TicketError(str(exc)) from exc
    old = ticket.priority.code
    ticket.priority = priority
    ticket.priority_rank = priority.rank
    _change(
        ticket=ticket,
        actor=actor,
        kind=EventKind.PRIORITY_CHANGED,
        field="priority",
        old=old,
        new=priority.code,
        now=now,
    )
    sla_clocks.retarget(facts=ticket_sla.facts_of(ticket), now=now)
    return ticket


@action
def set_ticket_type(*, actor: Actor, ticket: Ticket, ticket_type: TicketType, now: dt.datetime) -> Ticket:
    """Change the type; when the workflow differs, move to its state of the same category."""
    _staff_edit(actor, ticket, ticket_type)
    if ticket_type.id == ticket.type_id:
        return ticket
    old = ticket.type.code
    if ticket_type.workflow_id != ticket.state.workflow_id:
        state = WorkflowState.objects.filter(
            workflow_id=ticket_type.workflow_id, category=ticket.category
        ).first() or _initial_state(ticket_type)
        _move(ticket=ticket, actor=actor, state=state, now=now, auto=True)
    ticket.type = ticket_type
    _change(
        ticket=ticket, actor=actor, kind=EventKind.TYPE_CHANGED, field="type", old=old, new=ticket_type.code, now=now
    )
    sla_clocks.retarget(facts=ticket_sla.facts_of(ticket), now=now)
    return ticket


@action
def assign_ticket(*, actor: Actor, ticket: Ticket, assignee: Membership | None, now: dt.datetime) -> Ticket:
    """Assign the ticket to a staff member of the workspace, or unassign it."""
    _staff_edit(actor, ticket, assignee)
    if assignee is not None and not assignee.is_staff_role:
        raise TicketError(_("Tickets can only be assigned to support staff."))
    if (assignee.id if assignee else None) == ticket.assignee_id:
        return ticket
    old = str(ticket.assignee_id or "")
    ticket.assignee = assignee
    names: dict[str, object] = {"to_name": assignee.user.name if assignee else ""}
    _change(
        ticket=ticket,
        actor=actor,
        kind=EventKind.ASSIGNED,
        field="assignee",
        old=old,
        new=str(assignee.id if assignee else ""),
        now=now,
        data=names,
    )
    return ticket


@action
def set_team(*, actor: Actor, ticket: Ticket, team: Team | None, now: dt.datetime) -> Ticket:
    """Hand the ticket to a team of the workspace, or to none."""
    _staff_edit(actor, ticket, team)
    if (team.id if team else None) == ticket.team_id:
        return ticket
    old = ticket.team.code if ticket.team else ""
    ticket.team = team
    _change(
        ticket=ticket,
        actor=actor,
        kind=EventKind.TEAM_CHANGED,
        field="team",
        old=old,
        new=team.code if team else "",
        now=now,
    )
    return ticket


@action
def set_level(*, actor: Actor, ticket: Ticket, level: Level, now: dt.datetime) -> Ticket:
    """Escalate (or return) the ticket between support levels N1, N2 and N3."""
    _staff_edit(actor, ticket)
    level = Level(level)
    if level == ticket.level:
        return ticket
    old = ticket.level
    ticket.level = level
    event = _change(
        ticket=ticket, actor=actor, kind=EventKind.LEVEL_CHANGED, field="level", old=old, new=level, now=now
    )
    notify.notify(ticket=ticket, event="level.changed", actor=actor, now=now, key=f"ev{event.id}")
    return ticket


@action
def apply_automatic_move(*, ticket: Ticket, now: dt.datetime, due_at: dt.datetime) -> bool:
    """Make the state's configured automatic move (claimed by the sweep); False if it no longer applies."""
    state = ticket.state
    if not state.auto_to or ticket.category in TERMINAL_CATEGORIES:
        return False
    target = WorkflowState.objects.filter(workflow_id=state.workflow_id, code=state.auto_to).first()
    if target is None:
        return False
    rule = {"after": f"{state.auto_after:g}", "unit": state.auto_unit, "due_at": due_at.isoformat()}
    _move(ticket=ticket, actor=None, state=target, now=now, auto=True, rule=rule)
    return True


def move_to_category(*, actor: Actor | None, ticket: Ticket, category: Category, now: dt.datetime) -> None:
    """Move the ticket to its workflow's first state of ``category`` (a system move, not a role's transition)."""
    if ticket.category == category:
        return
    state = WorkflowState.objects.filter(workflow_id=ticket.state.workflow_id, category=category).first()
    if state is not None:
        _move(ticket=ticket, actor=actor, state=state, now=now, auto=True)


def move_to_state(
    *, ticket: Ticket, state: WorkflowState | None, fallback: Category, now: dt.datetime, actor: Actor | None = None
) -> None:
    """Move the ticket to ``state``, or to the first state of ``fallback`` when it is None."""
    if state is None:
        move_to_category(actor=actor, ticket=ticket, category=fallback, now=now)
    elif state.id != ticket.state_id:
        _move(ticket=ticket, actor=actor, state=state, now=now, auto=True)
