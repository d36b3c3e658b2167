"""Exact business-time arithmetic for SLA clocks and legal terms (pure Python, no Django).

A :class:`Calendar` says when a service is open: a time zone, weekly schedules of local
intervals with effective dates, public holidays, and extra closed or open dates. It answers
deadlines (:meth:`Calendar.add`), elapsed open time (:meth:`Calendar.elapsed`) and open
checks with binary searches over a compiled UTC index. See docs/subsystems/businesstime.md.
"""

from radicado.businesstime.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    Calendar,
    NoOpenTimeError,
    Pause,
    Unit,
)
from radicado.businesstime.spec import CalendarError, CalendarSpec

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "Calendar",
    "CalendarError",
    "CalendarSpec",
    "NoOpenTimeError",
    "Pause",
    "Unit",
]
