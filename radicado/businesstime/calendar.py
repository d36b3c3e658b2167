"""Business-time arithmetic on a compiled calendar: deadlines, elapsed time, open checks.

Queries never step through time: each is one or two binary searches in the UTC index built
by ``compiler.py``. Years are compiled lazily on first use and cached on the calendar.
Single queries work in integer microseconds, so no precision is lost on the way in or out;
bulk queries work in integer seconds on numpy arrays.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from radicado.businesstime.compiler import (
    SECONDS_PER_DAY,
    Index,
    YearPieces,
    build_index,
    compile_year,
)
from radicado.businesstime.spec import CalendarSpec, parse_calendar

__all__ = ["FIRST_YEAR", "LAST_YEAR", "Calendar", "NoOpenTimeError", "Pause", "Unit"]

Int64Array = npt.NDArray[np.int64]
Pause = tuple[datetime, datetime]
"""A paused period ``[start, end)``; pass ``now`` as the end of a pause still running."""

FIRST_YEAR = 1901
LAST_YEAR = 2998
_US = 1_000_000
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Below 2**33 s (year 2242) a float's rounding error stays under half a microsecond, so
# fromtimestamp(us / 1e6), which rounds to the nearest microsecond, is exact (and 3x faster).
_FLOAT_EXACT_US = 2**33 * _US


class Unit(StrEnum):
    """How an amount given to :meth:`Calendar.add` is counted."""

    MINUTES = "minutes"  # business minutes
    HOURS = "hours"  # business hours
    DAYS = "days"  # business days, legal style
    CALENDAR_MINUTES = "calendar_minutes"  # real elapsed time, open or not
    CALENDAR_HOURS = "calendar_hours"


_DAYS = 0
# Microseconds per unit; negative for calendar units, 0 for business days. Keyed by the
# plain strings, which also finds the (str) Unit members, so lookups need no conversion.
_UNIT_SCALE: dict[str, int] = {
    Unit.MINUTES.value: 60 * _US,
    Unit.HOURS.value: 3_600 * _US,
    Unit.DAYS.value: _DAYS,
    Unit.CALENDAR_MINUTES.value: -60 * _US,
    Unit.CALENDAR_HOURS.value: -3_600 * _US,
}


class NoOpenTimeError(ValueError):
    """The calendar has no open time where the answer would have to be."""


class Calendar:
    """A compiled business calendar; safe to share between threads.

    Every method takes and returns aware datetimes (returned ones are in the calendar's
    time zone) and raises ValueError on naive ones. Periods are half-open ``[start, end)``.
    """

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.timezone)
        self._open_time_ends = spec.open_time_ends()
        self._years: dict[int, YearPieces] = {}
        self._index: Index | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Calendar:
        """Build a calendar from its JSON form; raises CalendarError naming the bad field."""
        return cls(parse_calendar(data))

    def to_json(self) -> dict[str, Any]:
        """Return the canonical JSON form of the calendar."""
        return self.spec.to_json()

    def __repr__(self) -> str:
        return f"Calendar({self.spec.timezone!r}, holidays={self.spec.holidays!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    # Single queries -------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Tell whether ``at`` falls inside an open interval."""
        second = _to_us(at, "at") // _US
        return self._covering(second, second).open_before(second)[1]

    def next_open(self, at: datetime) -> datetime:
        """Return ``at`` if the calendar is open then, else the next instant it opens.

        Raises NoOpenTimeError when the calendar never opens again.
        """
        us = _to_us(at, "at")
        second = us // _US
        index = self._covering(second, second)
        while True:
            if index.open_before(second)[1]:
                return self._to_datetime(us)
            i = bisect_right(index.starts_list, second)
            if i < len(index.starts_list) and index.starts_list[i] < index.valid_until:
                return self._to_datetime(index.starts_list[i] * _US)
            index = self._extend(index)

    def add(
        self,
        start: datetime,
        amount: float,
        unit: Unit | str = Unit.MINUTES,
        *,
        pauses: Sequence[Pause] = (),
    ) -> datetime:
        """Return the deadline: the earliest instant at which ``amount`` has elapsed.

        Business minutes/hours count only open time; calendar units count real time. Time
        inside ``pauses`` does not count. Business days follow the legal style: day 1 is
        the first business day after the local date of ``start``, and the deadline is the
        close of day ``amount``. An amount of 0 returns ``start``. Raises ValueError for an
        unknown unit, a negative amount, a fractional number of days, pauses with days or
        naive datetimes, and NoOpenTimeError when the calendar runs out of open time.
        """
        scale = _UNIT_SCALE.get(unit) if isinstance(unit, str) else None
        if scale is None:
            choices = ", ".join(u.value for u in Unit)
            raise ValueError(f"unknown unit {unit!r} (use one of {choices})")
        start_us = _to_us(start, "start")
        if isinstance(amount, bool) or amount < 0:
            raise ValueError(f"amount must be a non-negative number, got {amount!r}")
        if scale == _DAYS:
            if pauses:
                raise ValueError("pauses cannot be combined with business days")
            return self._add_business_days(start_us, amount)
        amount_us = amount * scale if type(amount) is int else round(amount * scale)
        if amount_us == 0:
            return self._to_datetime(start_us)
        calendar_time = scale < 0
        if calendar_time:
            amount_us = -amount_us
        if pauses:
            return self._to_datetime(self._advance_around(start_us, amount_us, _merge_pauses(pauses), calendar_time))
        if calendar_time:
            return self._to_datetime(start_us + amount_us)
        return self._to_datetime(self._business_advance(start_us, amount_us))

    def elapsed(
        self,
        start: datetime,
        end: datetime,
        *,
        pauses: Sequence[Pause] = (),
        calendar_time: bool = False,
    ) -> timedelta:
        """Return the open time in ``[start, end)`` minus the open time inside ``pauses``.

        With ``calendar_time=True`` count real time instead of open time (24x7 targets).
        Raises ValueError when ``end`` is before ``start`` or a datetime is naive.
        """
        start_us, end_us = _to_us(start, "start"), _to_us(end, "end")
        if end_us < start_us:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        measure = _calendar_measure if calendar_time else self._business_measure
        total = measure(start_us, end_us)
        for pause_from, pause_to in _merge_pauses(pauses):
            low, high = max(pause_from, start_us), min(pause_to, end_us)
            if low < high:
                total -= measure(low, high)
        return timedelta(microseconds=total)

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Return the open periods inside ``[start, end)``, clipped to it, in order."""
        start_us, end_us = _to_us(start, "start"), _to_us(end, "end")
        index = self._covering(start_us // _US, end_us // _US)
        first = max(bisect_right(index.ends_list, start_us // _US), 0)
        last = bisect_left(index.starts_list, -(-end_us // _US))
        periods = []
        for i in range(first, last):
            low = max(index.starts_list[i] * _US, start_us)
            high = min(index.ends_list[i] * _US, end_us)
            if low < high:
                periods.append((self._to_datetime(low), self._to_datetime(high)))
        return periods

    # Bulk queries ---------------------------------------------------------------------

    def add_many(self, starts: npt.ArrayLike, seconds: npt.ArrayLike) -> Int64Array:
        """Return deadlines for business ``seconds`` added to ``starts`` (epoch seconds).

        The bulk form of ``add(start, seconds / 60, "minutes")``; both inputs are integer
        arrays (broadcast together), the result is an int64 array of epoch seconds.
        """
        start_s, amount_s = np.broadcast_arrays(_as_int64(starts, "starts"), _as_int64(seconds, "seconds"))
        if np.any(amount_s < 0):
            raise ValueError("seconds must be non-negative")
        if start_s.size == 0:
            return np.empty(start_s.shape, dtype=np.int64)
        index = self._covering(int(start_s.min()), int(start_s.max()))
        while True:
            target = _open_before_many(index, start_s) + amount_s
            i = np.searchsorted(index.cum_end, target, side="left")
            clipped = np.minimum(i, max(index.cum.size - 1, 0))
            if index.cum.size:
                deadline = index.starts[clipped] + (target - index.cum[clipped])
                done = (i < index.cum.size) & (deadline < index.valid_until)
            else:
                deadline, done = start_s.copy(), np.zeros(start_s.shape, dtype=bool)
            idle = amount_s == 0
            if np.all(done | idle):
                return np.where(idle, start_s, deadline).astype(np.int64)
            index = self._extend(index)

    def elapsed_many(self, starts: npt.ArrayLike, ends: npt.ArrayLike) -> Int64Array:
        """Return the open seconds in each ``[starts[i], ends[i])`` (epoch seconds, int64)."""
        start_s, end_s = np.broadcast_arrays(_as_int64(starts, "starts"), _as_int64(ends, "ends"))
        if np.any(end_s < start_s):
            raise ValueError("every end must be at or after its start")
        if start_s.size == 0:
            return np.empty(start_s.shape, dtype=np.int64)
        index = self._covering(int(start_s.min()), int(end_s.max()))
        return (_open_before_many(index, end_s) - _open_before_many(index, start_s)).astype(np.int64)

    # Internals ------------------------------------------------------------------------

    def _advance_around(
        self,
        start_us: int,
        amount_us: int,
        pauses: list[tuple[int, int]],
        calendar_time: bool,
    ) -> int:
        """Earliest instant by which ``amount_us`` has elapsed outside the merged ``pauses``."""
        advance = _calendar_advance if calendar_time else self._business_advance
        measure = _calendar_measure if calendar_time else self._business_measure
        remaining, cursor = amount_us, start_us
        for pause_from, pause_to in pauses:
            if pause_to <= cursor:
                continue
            if pause_from > cursor:
                candidate = advance(cursor, remaining)
                if candidate <= pause_from:
                    return candidate
                remaining -= measure(cursor, pause_from)
            cursor = pause_to
        return advance(cursor, remaining)

    def _business_measure(self, start_us: int, end_us: int) -> int:
        """Open microseconds in ``[start_us, end_us)``."""
        index = self._covering(start_us // _US, end_us // _US)
        return _open_before_us(index, end_us) - _open_before_us(index, start_us)

    def _business_advance(self, start_us: int, amount_us: int) -> int:
        """Earliest instant (µs) by which ``amount_us > 0`` open microseconds have elapsed."""
        second = start_us // _US
        index = self._index
        if index is None or not index.valid_from <= second < index.valid_until:
            index = self._covering(second, second)
        while True:
            # Cumulative values are relative to the index's first year: recompute per index.
            target = _open_before_us(index, start_us) + amount_us
            # Interval boundaries are whole seconds, so compare in ceiling seconds.
            i = bisect_left(index.cum_end_list, -(-target // _US))
            if i < len(index.cum_end_list):
                deadline = (index.starts_list[i] - index.cum_list[i]) * _US + target
                if deadline < index.valid_until * _US:
                    return deadline
            index = self._extend(index)

    def _add_business_days(self, start_us: int, days: float) -> datetime:
        if not float(days).is_integer():
            raise ValueError(f"business days must be a whole number, got {days!r}")
        if days == 0:
            return self._to_datetime(start_us)
        second = start_us // _US
        local_day = datetime.fromtimestamp(second, self.zone).toordinal()
        index = self._covering(second, second)
        while True:
            j = bisect_right(index.day_ordinals_list, local_day) + int(days) - 1
            if j < len(index.day_closes_list) and index.day_closes_list[j] < index.valid_until:
                return self._to_datetime(index.day_closes_list[j] * _US)
            index = self._extend(index)

    def _to_datetime(self, us: int) -> datetime:
        if -_FLOAT_EXACT_US < us < _FLOAT_EXACT_US:
            return datetime.fromtimestamp(us / _US, self.zone)
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self.zone)

    def _covering(self, low: int, high: int) -> Index:
        """Return an index whose answers are exact for every instant in ``[low, high]``."""
        index = self._index
        if index is not None and index.valid_from <= low and high < index.valid_until:
            return index
        first, last = _utc_year(low) - 1, _utc_year(high) + 1
        if index is not None:
            first, last = min(first, index.first_year), max(last, index.last_year)
        return self._build(first, last)

    def _extend(self, index: Index) -> Index:
        """Return an index reaching further into the future (by its span, at most 10 years)."""
        latest = self._index or index
        first = min(index.first_year, latest.first_year)
        last = max(index.last_year, latest.last_year)
        limit = self._open_time_ends
        if limit is not None and last > limit:
            raise NoOpenTimeError(f"the calendar has no open time after the year {limit}")
        if last >= LAST_YEAR:
            raise NoOpenTimeError(f"the answer lies beyond the supported year {LAST_YEAR}")
        return self._build(first, min(last + min(last - first + 1, 10), LAST_YEAR))

    def _build(self, first: int, last: int) -> Index:
        if first < FIRST_YEAR - 1 or last > LAST_YEAR + 1:
            raise ValueError(f"instants must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
        with self._lock:
            index = self._index
            if index is not None and index.first_year <= first and last <= index.last_year:
                return index
            for year in range(first, last + 1):
                if year not in self._years:
                    self._years[year] = compile_year(self.spec, self.zone, year)
            index = build_index([self._years[year] for year in range(first, last + 1)])
            self._index = index
            return index


def _open_before_us(index: Index, us: int) -> int:
    """Open microseconds before ``us`` (relative to the index origin)."""
    second, fraction = divmod(us, _US)
    # Same search as Index.open_before, inlined: this is the hot path of every query.
    i = bisect_right(index.starts_list, second) - 1
    if i < 0:
        return 0
    if second < index.ends_list[i]:
        # Boundaries are whole seconds: the second holding ``us`` is entirely open.
        return (index.cum_list[i] + second - index.starts_list[i]) * _US + fraction
    return index.cum_end_list[i] * _US


def _open_before_many(index: Index, seconds: Int64Array) -> Int64Array:
    if index.starts.size == 0:
        return np.zeros(seconds.shape, dtype=np.int64)
    i = np.searchsorted(index.starts, seconds, side="right") - 1
    clipped = np.maximum(i, 0)
    inside = seconds < index.ends[clipped]
    before = np.where(
        inside,
        index.cum[clipped] + seconds - index.starts[clipped],
        index.cum_end[clipped],
    )
    return np.where(i < 0, 0, before)


def _calendar_advance(start_us: int, amount_us: int) -> int:
    return start_us + amount_us


def _calendar_measure(start_us: int, end_us: int) -> int:
    return end_us - start_us


def _merge_pauses(pauses: Sequence[Pause]) -> list[tuple[int, int]]:
    """Validate pauses and return them as sorted, disjoint microsecond intervals."""
    spans = []
    for k, pause in enumerate(pauses):
        low, high = (
            _to_us(pause[0], f"pauses[{k}] start"),
            _to_us(pause[1], f"pauses[{k}] end"),
        )
        if high < low:
            raise ValueError(f"pauses[{k}] ends before it starts")
        spans.append((low, high))
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def _to_us(value: datetime, name: str) -> int:
    """Return an aware datetime as integer microseconds since the epoch."""
    try:
        delta = value - _EPOCH
    except TypeError:
        if not isinstance(value, datetime):
            kind = type(value).__name__
            raise TypeError(f"{name} must be a datetime, got {kind}") from None
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}") from None
    return (delta.days * SECONDS_PER_DAY + delta.seconds) * _US + delta.microseconds


def _utc_year(second: int) -> int:
    try:
        return (_EPOCH + timedelta(seconds=second)).year
    except OverflowError:
        raise ValueError(f"instants must lie between the years {FIRST_YEAR} and {LAST_YEAR}") from None


def _as_int64(values: npt.ArrayLike, name: str) -> Int64Array:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64)
    raise ValueError(f"{name} must be whole epoch seconds (an integer array)")
