"""The side panel: priority, type, assignee, team and level (staff only)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from radicado.action import action
from radicado.sla import clocks as sla_clocks
from radicado.sla.rules import PriorityNotAllowed
from radicado.tickets import notify
from radicado.tickets import sla as ticket_sla
from radicado.tickets.actions.create import _initial_state
from radicado.tickets.actions.errors import TicketError
from radicado.tickets.actions.guards import _record, _staff_edit
from radicado.tickets.actions.states import _move
from radicado.tickets.models import (
    EventKind,
    Priority,
    Ticket,
    TicketEvent,
    TicketType,
    WorkflowState,
)
from radicado.workspaces.access import Actor
from radicado.workspaces.models import Level, Membership, Team


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
