"""Writes to ANS configuration that must keep running clocks true."""

from __future__ import annotations

import datetime as dt
from typing import Any

from radicado.action import action
from radicado.businesstime import Calendar, CalendarError
from radicado.errors import UserError
from radicado.sla.clocks import recompute_calendar
from radicado.sla.models import BusinessCalendar
from radicado.workspaces.actions import audit
from radicado.workspaces.models import User


class InvalidCalendar(UserError):
    """The calendar definition does not parse; the message names the field."""


@action
def update_calendar(*, calendar: BusinessCalendar, spec: dict[str, Any], actor: User | None, now: dt.datetime) -> int:
    """Replace a calendar's definition and recompute its unfinished clocks; return how many.

    The previous definition is kept in the audit entry, so the change can be undone
    by applying it again (C10). Raises InvalidCalendar before anything is written.
    """
    try:
        Calendar.from_json(spec)
    except CalendarError as exc:
        raise InvalidCalendar(str(exc)) from exc
    previous = calendar.spec
    calendar.spec = spec
    calendar.version += 1
    calendar.save(update_fields=["spec", "version"])
    count = recompute_calendar(calendar_id=calendar.id)
    audit(
        workspace=calendar.workspace,
        actor=actor,
        action="sla.calendar_updated",
        target=calendar.code,
        now=now,
        data={"previous": previous, "version": calendar.version, "recomputed_clocks": count},
    )
    return count
