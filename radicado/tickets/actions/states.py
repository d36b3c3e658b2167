"""Moving a ticket through its workflow: by a role's transition, a reply, or the system."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from radicado.action import action, cached
from radicado.sla import clocks as sla_clocks
from radicado.tickets import automations, notify, surveys
from radicado.tickets.actions.errors import TransitionNotAllowed
from radicado.tickets.actions.guards import _ensure_open, _ensure_terms, _record, _same_workspace
from radicado.tickets.models import (
    TERMINAL_CATEGORIES,
    Category,
    EventKind,
    Ticket,
    WorkflowState,
    WorkflowTransition,
)
from radicado.workspaces.access import Actor


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
