"""Automatic moves configured on workflow states (T5: close 3 days after an answer; I8: close
48 h after "resolved"), and the sweep that performs them once each."""

from __future__ import annotations

import datetime as dt

from radicado.action import acting
from radicado.sla.models import BusinessCalendar
from radicado.sla.rules import compiled
from radicado.tickets.models import Ticket, WorkflowState


def auto_deadline(*, workspace_id: int, state: WorkflowState, since: dt.datetime) -> dt.datetime | None:
    """When the state's automatic move is due if the ticket enters it at ``since``; None if none."""
    if not state.auto_to or state.auto_after is None:
        return None
    amount = float(state.auto_after)
    if state.auto_unit.startswith("calendar_"):
        per = 60 if state.auto_unit == "calendar_hours" else 1
        return since + dt.timedelta(minutes=amount * per)
    calendar = BusinessCalendar.objects.get(workspace_id=workspace_id, code=state.auto_calendar)
    unit = state.auto_unit
    return compiled(calendar).add(since, int(amount) if unit == "days" else amount, unit)


def run_due(*, now: dt.datetime, limit: int = 500) -> int:
    """Perform every automatic move due by ``now``; return how many. Safe with several sweepers."""
    from radicado.tickets.actions import apply_automatic_move

    due = list(
        Ticket.objects.filter(auto_action_at__lte=now)
        .order_by("auto_action_at")
        .values_list("id", "auto_action_at")[:limit]
    )
    done = 0
    for ticket_id, seen in due:
        if seen is None:
            continue
        with acting():  # one action per clock/ticket: an error rolls back only that one
            if Ticket.objects.filter(id=ticket_id, auto_action_at=seen).update(auto_action_at=None) != 1:
                continue  # another sweeper took it, or the ticket moved meanwhile
            ticket = Ticket.objects.select_related("workspace", "state", "customer", "priority", "type").get(
                id=ticket_id
            )
            if apply_automatic_move(ticket=ticket, now=now, due_at=seen):
                done += 1
    return done
