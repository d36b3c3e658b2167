"""A slow, obviously correct reference for business time: it walks the clock minute by minute.

It reads the calendar JSON itself (it shares no code with the package) and decides whether
each UTC minute is open by converting it to the local wall clock and checking the literal
rule: some interval of that local date, or of the day before (an interval that runs past
midnight), contains the wall-clock reading. Deadlines and elapsed time then come from
walking forward one minute (or less, at a start or pause boundary) at a time.

Assumes UTC offsets and DST changes fall on whole minutes, which holds for every zone and
year the tests use, so each UTC minute is wholly open or wholly closed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Span = tuple[int, int]  # [start, end) in epoch seconds


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class ReferenceCalendar:
    """Answers business-time questions by brute force; instants are epoch seconds."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.zone = ZoneInfo(data["timezone"])
        self.versions: list[tuple[date | None, dict[str, Any]]] = [(None, data["week"])]
        for version in data.get("schedules", []):
            effective = date.fromisoformat(version["effective_from"])
            self.versions.append((effective, version["week"]))
        self.source = data.get("holidays")
        self.closed = {date.fromisoformat(d) for d in data.get("closed_dates", [])}
        self.open_dates = {date.fromisoformat(day): spans for day, spans in data.get("open_dates", {}).items()}
        # Caches only; each cached function is a plain, direct computation.
        self.holidays_of = lru_cache(maxsize=None)(self._holidays_of)
        self.covered = lru_cache(maxsize=None)(self._covered)

    def _holidays_of(self, year: int) -> frozenset[date]:
        if self.source is None:
            return frozenset()
        found = holidays.country_holidays(
            self.source["country"],
            subdiv=self.source.get("subdivision"),
            years=year,
            language="es",
        )
        return frozenset(found)

    def intervals_on(self, day: date) -> list[tuple[int, int]]:
        """Return the intervals that start on ``day`` in minutes after its local midnight.

        An interval that runs past midnight ends after minute 1440.
        """
        if day in self.open_dates:
            raw = self.open_dates[day]
        elif day in self.closed or day in self.holidays_of(day.year):
            raw = []
        else:
            week = self.versions[0][1]
            for effective, candidate in self.versions[1:]:
                if effective is not None and effective <= day:
                    week = candidate
            raw = week.get(WEEKDAY_KEYS[day.weekday()], [])
        result = []
        for start_text, end_text in raw:
            start, end = _minutes(start_text), _minutes(end_text)
            if end <= start:
                end += 1440  # runs past midnight
            result.append((start, end))
        return result

    def _covered(self, ordinal: int) -> bytes:
        """Flags for the wall-clock minutes 0..2879 after the local midnight of a date that
        the intervals starting on that date cover."""
        flags = bytearray(2 * 1440)
        for start, end in self.intervals_on(date.fromordinal(ordinal)):
            flags[start:end] = b"\x01" * (end - start)
        return bytes(flags)

    def wall_clock(self, second: int) -> datetime:
        return datetime.fromtimestamp(second, self.zone).replace(tzinfo=None)

    def owner_days(self, minute: int) -> list[date]:
        """Return the local dates whose intervals contain the wall clock of UTC ``minute``."""
        local = datetime.fromtimestamp(minute * 60, self.zone)
        ordinal, of_day = local.toordinal(), local.hour * 60 + local.minute
        owners = []
        if self.covered(ordinal - 1)[of_day + 1440]:  # an interval of the day before
            owners.append(date.fromordinal(ordinal - 1))
        if self.covered(ordinal)[of_day]:
            owners.append(date.fromordinal(ordinal))
        return owners

    def is_open_minute(self, minute: int) -> bool:
        """Tell whether an interval of the local date or of the day before covers the minute."""
        local = datetime.fromtimestamp(minute * 60, self.zone)
        ordinal, of_day = local.toordinal(), local.hour * 60 + local.minute
        return bool(self.covered(ordinal)[of_day] or self.covered(ordinal - 1)[of_day + 1440])

    def is_open(self, second: int) -> bool:
        return self.is_open_minute(second // 60)

    def _chunks(self, start: int, pauses: Sequence[Span]) -> Iterator[tuple[int, int, bool]]:
        """Yield ``(low, high, counts)`` pieces from ``start``, at most a minute long.

        A piece counts when its minute is open and it is not paused; pieces also end at
        pause boundaries, so each piece is wholly paused or not paused at all.
        """
        cuts = sorted({edge for span in pauses for edge in span})
        low = start
        while True:
            high = (low // 60 + 1) * 60
            paused = False
            if cuts:  # the check is skipped without pauses only to keep benchmarks fast
                high = min([high] + [c for c in cuts if c > low])
                paused = any(a <= low < b for a, b in pauses)
            yield low, high, not paused and self.is_open_minute(low // 60)
            low = high

    def add(self, start: int, amount: int, limit: int, pauses: Sequence[Span] = ()) -> int | None:
        """Earliest instant by which ``amount`` open, unpaused seconds have elapsed.

        Returns None if that instant lies beyond ``limit``.
        """
        if amount == 0:
            return start
        remaining = amount
        for low, high, counts in self._chunks(start, pauses):
            if low >= limit:
                return None
            if counts:
                if remaining <= high - low:
                    return low + remaining
                remaining -= high - low
        raise AssertionError("unreachable")

    def elapsed(self, start: int, end: int, pauses: Sequence[Span] = ()) -> int:
        """Open, unpaused seconds in ``[start, end)``."""
        total = 0
        for low, high, counts in self._chunks(start, pauses):
            if low >= end:
                return total
            if counts:
                total += min(high, end) - low
        raise AssertionError("unreachable")

    def next_open(self, start: int, limit: int) -> int | None:
        """First open instant at or after ``start`` (None beyond ``limit``)."""
        if self.is_open(start):
            return start
        minute = start // 60 + 1
        while minute * 60 < limit:
            if self.is_open_minute(minute):
                return minute * 60
            minute += 1
        return None

    def day_close(self, day: date) -> int | None:
        """The instant the last open minute owned by ``day`` ends (None: not a business day)."""
        midnight = datetime.combine(day, time()).replace(tzinfo=self.zone)
        first = int(midnight.timestamp()) // 60 - 24 * 60
        close = None
        for minute in range(first, first + 4 * 24 * 60):
            if day in self.owner_days(minute):
                close = (minute + 1) * 60
        return close

    def add_business_days(self, start: int, days: int) -> int:
        """Close of the ``days``-th business day after the local date of ``start``."""
        day = self.wall_clock(start).date()
        counted = 0
        while True:
            day += timedelta(days=1)
            close = self.day_close(day)
            if close is not None:
                counted += 1
                if counted == days:
                    return close
