"""Compile a calendar spec into sorted open intervals in UTC with a cumulative index.

Everything here runs once per calendar and year; queries (``calendar.py``) only search the
arrays built here. Instants are integer seconds since the Unix epoch (UTC). A "wall" second
is the same count for a local wall-clock reading taken as if it were UTC: it lets us map a
local interval to UTC with one subtraction per UTC-offset segment.

The mapping is exact across DST changes because it does not convert boundaries one by one:
for every stretch of time with a constant UTC offset ``o`` (a segment), the instants whose
wall clock reads inside ``[A, B)`` are exactly ``[A - o, B - o)`` clipped to the segment.
A boundary that falls in a spring-forward gap therefore lands on the first instant after
the gap, and a fall-back overlap is open during both passes of the wall clock through it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

from radicado.businesstime.spec import HOLIDAY_LANGUAGE, CalendarSpec, HolidaySource

__all__ = [
    "SECONDS_PER_DAY",
    "Index",
    "YearPieces",
    "build_index",
    "compile_year",
    "holiday_dates",
    "offset_segments",
    "wall_second",
]

Int64Array = npt.NDArray[np.int64]

SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Offsets used by tzdata stay within -12h..+14h; a full day is a safe, simple bound.
_MAX_OFFSET = SECONDS_PER_DAY
# Offset changes are found by sampling and then bisecting to the second; a change that is
# undone before the next sample would be missed. Since 1901 tzdata never changes a zone's
# offset twice within four days (the closest pair: Africa/Freetown, 1939, 95.7 h apart),
# so six-hour samples leave a wide margin.
_SAMPLE_STEP = 6 * 3_600


def wall_second(day: date) -> int:
    """Return the wall second of local midnight at the start of ``day``."""
    return (day.toordinal() - _EPOCH_ORDINAL) * SECONDS_PER_DAY


@dataclass(frozen=True, slots=True)
class YearPieces:
    """The open time of the intervals that start on the local dates of one year.

    ``starts``/``ends`` are sorted, disjoint UTC intervals (they may reach into the next
    year); ``day_ordinals`` lists the local dates that have open time, in order, and
    ``day_closes`` the UTC instant at which each of them closes.
    """

    year: int
    starts: Int64Array
    ends: Int64Array
    day_ordinals: Int64Array
    day_closes: Int64Array


@lru_cache(maxsize=512)
def offset_segments(zone: ZoneInfo, lo: int, hi: int) -> tuple[tuple[int, int, int], ...]:
    """Split the UTC range ``[lo, hi)`` into ``(start, end, utc_offset_seconds)`` segments.

    Cached: calendars that share a time zone share the (slow, sampled) transition search.
    """

    def offset_at(instant: int) -> int:
        moment = datetime.fromtimestamp(instant, tz=UTC).astimezone(zone)
        delta = moment.utcoffset()
        assert delta is not None  # a ZoneInfo always knows its offset
        return delta.days * SECONDS_PER_DAY + delta.seconds

    segments: list[tuple[int, int, int]] = []
    seg_start, current = lo, offset_at(lo)
    previous = lo
    for sample in range(lo + _SAMPLE_STEP, hi + _SAMPLE_STEP, _SAMPLE_STEP):
        sample = min(sample, hi)
        offset = offset_at(sample)
        if offset != current:
            # The change happened in (previous, sample]: find its first second.
            low, high = previous, sample
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(middle) == current:
                    low = middle
                else:
                    high = middle
            segments.append((seg_start, high, current))
            seg_start, current = high, offset
        previous = sample
    segments.append((seg_start, hi, current))
    return tuple(segments)


def compile_year(spec: CalendarSpec, zone: ZoneInfo, year: int) -> YearPieces:
    """Return the open time of the intervals starting on the local dates of ``year``."""
    holiday_dates = _holiday_dates(spec, year)
    walls_from: list[int] = []
    walls_to: list[int] = []
    ordinals: list[int] = []
    for ordinal in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()):
        day = date.fromordinal(ordinal)
        midnight = (ordinal - _EPOCH_ORDINAL) * SECONDS_PER_DAY
        for interval in spec.intervals_on(day, holiday_dates):
            walls_from.append(midnight + interval.start * 60)
            walls_to.append(midnight + interval.end_offset * 60)
            ordinals.append(ordinal)
    wall_from = np.array(walls_from, dtype=np.int64)
    wall_to = np.array(walls_to, dtype=np.int64)
    day_of = np.array(ordinals, dtype=np.int64)

    lo = wall_second(date(year, 1, 1)) - 2 * _MAX_OFFSET
    hi = wall_second(date(year + 1, 1, 1)) + 3 * _MAX_OFFSET
    piece_from, piece_to, piece_day = [], [], []
    for seg_start, seg_end, offset in offset_segments(zone, lo, hi):
        utc_from = np.maximum(wall_from - offset, seg_start)
        utc_to = np.minimum(wall_to - offset, seg_end)
        keep = utc_from < utc_to
        piece_from.append(utc_from[keep])
        piece_to.append(utc_to[keep])
        piece_day.append(day_of[keep])
    starts, ends = merge(np.concatenate(piece_from), np.concatenate(piece_to))
    day_ordinals, day_closes = _day_closes(np.concatenate(piece_day), np.concatenate(piece_to))
    return YearPieces(year, starts, ends, day_ordinals, day_closes)


def merge(starts: Int64Array, ends: Int64Array) -> tuple[Int64Array, Int64Array]:
    """Return the union of ``[starts[i], ends[i])`` as sorted, disjoint, non-touching intervals."""
    if starts.size == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    opens_group = np.empty(starts.size, dtype=bool)
    opens_group[0] = True
    # Touching intervals ([a, b) and [b, c)) merge too, so the index has no empty gaps.
    opens_group[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(opens_group)
    last = np.append(first[1:] - 1, starts.size - 1)
    return starts[first], reach[last]


def _day_closes(days: Int64Array, ends: Int64Array) -> tuple[Int64Array, Int64Array]:
    if days.size == 0:
        return days, ends
    order = np.argsort(days, kind="stable")
    days, ends = days[order], ends[order]
    first = np.flatnonzero(np.append(True, days[1:] != days[:-1]))
    return days[first], np.maximum.reduceat(ends, first)


def _holiday_dates(spec: CalendarSpec, year: int) -> frozenset[date]:
    if spec.holidays is None:
        return frozenset()
    return holiday_dates(spec.holidays, year)


@lru_cache(maxsize=1024)
def holiday_dates(source: HolidaySource, year: int) -> frozenset[date]:
    """Return the public holidays of ``source`` in ``year`` (observed dates included)."""
    found = holidays.country_holidays(source.country, subdiv=source.subdivision, years=year, language=HOLIDAY_LANGUAGE)
    return frozenset(found.keys())


@dataclass(frozen=True, slots=True)
class Index:
    """Open intervals of the years ``first_year..last_year`` with cumulative open seconds.

    ``cum[i]`` is the open time before ``starts[i]`` (counted from the first interval),
    ``cum_end[i] = cum[i] + ends[i] - starts[i]``. Answers are exact for instants in
    ``[valid_from, valid_until)``; outside it, intervals of unbuilt years may be missing.
    The ``*_list`` copies serve single queries, where ``bisect`` on a list beats numpy.
    """

    first_year: int
    last_year: int
    valid_from: int
    valid_until: int
    starts: Int64Array
    ends: Int64Array
    cum: Int64Array
    cum_end: Int64Array
    day_ordinals: Int64Array
    day_closes: Int64Array
    starts_list: list[int]
    ends_list: list[int]
    cum_list: list[int]
    cum_end_list: list[int]
    day_ordinals_list: list[int]
    day_closes_list: list[int]

    def covers(self, instant: int) -> bool:
        """Tell whether answers about ``instant`` are exact with the years built so far."""
        return self.valid_from <= instant < self.valid_until

    def open_before(self, instant: int) -> tuple[int, bool]:
        """Return the open seconds before ``instant`` and whether ``instant`` is open."""
        i = bisect_right(self.starts_list, instant) - 1
        if i < 0:
            return 0, False
        end = self.ends_list[i]
        if instant < end:
            return self.cum_list[i] + instant - self.starts_list[i], True
        return self.cum_end_list[i], False


def build_index(years: list[YearPieces]) -> Index:
    """Join the pieces of consecutive years (sorted by year) into one searchable index."""
    starts, ends = merge(
        np.concatenate([y.starts for y in years]),
        np.concatenate([y.ends for y in years]),
    )
    cum_end = np.cumsum(ends - starts, dtype=np.int64)
    cum = cum_end - (ends - starts)
    day_ordinals = np.concatenate([y.day_ordinals for y in years])
    day_closes = np.concatenate([y.day_closes for y in years])
    first, last = years[0].year, years[-1].year
    return Index(
        first_year=first,
        last_year=last,
        # Intervals of the year before may run up to a day into January (plus the offset).
        valid_from=wall_second(date(first, 1, 1)) + 3 * _MAX_OFFSET,
        # Intervals of the year after cannot start earlier than a day before it (offset).
        valid_until=wall_second(date(last + 1, 1, 1)) - 2 * _MAX_OFFSET,
        starts=starts,
        ends=ends,
        cum=cum,
        cum_end=cum_end,
        day_ordinals=day_ordinals,
        day_closes=day_closes,
        starts_list=starts.tolist(),
        ends_list=ends.tolist(),
        cum_list=cum.tolist(),
        cum_end_list=cum_end.tolist(),
        day_ordinals_list=day_ordinals.tolist(),
        day_closes_list=day_closes.tolist(),
    )
