"""Adapters that put each library behind the same two calls: deadline and elapsed.

Every adapter takes aware datetimes and returns an aware datetime (a deadline) or a
timedelta (elapsed business time), or None when the library raised. Conversions a caller
needs anyway (aware datetime in, aware datetime out) are inside the timed calls; building
rule or offset objects, and turning answers into epoch seconds for comparison, are not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import businesstimedelta as btd
import pandas as pd
import pytz

from radicado.businesstime import Calendar
from radicado.businesstime.compiler import holiday_dates

WEEKMASK = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Shape:
    """What a competitor needs to know about a case's calendar."""

    zone: str
    weekdays: tuple[int, ...]  # 0 = Monday
    shifts: tuple[tuple[time, time], ...]  # one shift, or two with a break between
    holidays: frozenset[date]


Deadline = Callable[[datetime, int], datetime | None]
Elapsed = Callable[[datetime, datetime], timedelta | None]


def radicado(calendar: Calendar) -> tuple[Deadline, Elapsed]:
    def deadline(start: datetime, hours: int) -> datetime | None:
        return calendar.add(start, hours, "hours")

    def elapsed(start: datetime, end: datetime) -> timedelta | None:
        return calendar.elapsed(start, end)

    return deadline, elapsed


def businesstimedelta(shape: Shape) -> tuple[Deadline, Elapsed]:
    """businesstimedelta: a work-day rule, a lunch rule for the break, a holiday rule."""
    zone = pytz.timezone(shape.zone)
    first, last = shape.shifts[0], shape.shifts[-1]
    rules: list[btd.Rule] = [btd.WorkDayRule(first[0], last[1], list(shape.weekdays), tz=zone)]
    if len(shape.shifts) == 2:
        rules.append(btd.LunchTimeRule(first[1], last[0], list(shape.weekdays), tz=zone))
    rules.append(btd.HolidayRule(set(shape.holidays), tz=zone))
    combined = btd.Rules(rules)

    def deadline(start: datetime, hours: int) -> datetime | None:
        try:
            return start + btd.BusinessTimeDelta(combined, hours=hours)
        except Exception:  # any failure counts as a wrong answer
            return None

    def elapsed(start: datetime, end: datetime) -> timedelta | None:
        try:
            return combined.difference(start, end).timedelta
        except Exception:
            return None

    return deadline, elapsed


def pandas_cbh(shape: Shape, hours: Sequence[int]) -> Deadline:
    """pandas CustomBusinessHour: start/end lists for split shifts, holidays passed in.

    pandas offers no business-time difference, so there is no elapsed adapter.
    """
    offsets = {
        n: pd.offsets.CustomBusinessHour(
            n=n,
            start=[s.strftime("%H:%M") for s, _ in shape.shifts],
            end=[e.strftime("%H:%M") for _, e in shape.shifts],
            weekmask=" ".join(WEEKMASK[d] for d in shape.weekdays),
            holidays=sorted(shape.holidays),
        )
        for n in set(hours)
    }

    def deadline(start: datetime, n: int) -> datetime | None:
        try:
            return (pd.Timestamp(start) + offsets[n]).to_pydatetime()
        except Exception:
            return None

    return deadline


def shape_holidays(calendar: Calendar, years: Sequence[int]) -> frozenset[date]:
    """The holiday dates a calendar closes, to hand to the competitors."""
    source = calendar.spec.holidays
    if source is None:
        return frozenset()
    return frozenset(d for year in years for d in holiday_dates(source, year))
