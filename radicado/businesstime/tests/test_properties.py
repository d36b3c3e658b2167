"""Property tests: the compiled calendar agrees with the minute-stepping reference.

Calendars are random (split shifts, overnight shifts, 24x7, overlapping intervals, closed
and open dates, schedule versions, holidays) in zones with and without DST, including
half-hour offsets and Lord Howe's half-hour DST. Each example looks at one week around an
anchor date, usually a DST change, so the slow reference stays fast.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from radicado.businesstime import Calendar, NoOpenTimeError
from radicado.businesstime.tests.reference import WEEKDAY_KEYS, ReferenceCalendar

ZONES = (
    "America/Bogota",
    "America/New_York",
    "America/Santiago",
    "America/Mexico_City",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Europe/London",
    "Asia/Kolkata",
    "UTC",
)
HOLIDAY_SOURCES: tuple[dict[str, Any] | None, ...] = (
    None,
    {"country": "CO", "subdivision": None},
    {"country": "US", "subdivision": "NY"},
    {"country": "CL", "subdivision": None},
)
FIRST_ANCHOR, LAST_ANCHOR = date(2019, 1, 1), date(2027, 12, 20)
# Times next to typical DST changes (00:00-03:00 and 23:00) are drawn more often.
EDGE_MINUTES = (0, 30, 60, 90, 120, 150, 180, 1380, 1410, 450, 750, 840, 1080, 1320)
WINDOW_BEFORE, WINDOW_AFTER = timedelta(days=2), timedelta(days=5)

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def dst_dates(zone_name: str) -> list[date]:
    """Local dates on which the UTC offset changes (daily samples at local noon)."""
    zone, found = ZoneInfo(zone_name), []
    day = FIRST_ANCHOR
    previous = datetime.combine(day, time(12), zone).utcoffset()
    while day < LAST_ANCHOR:
        day += timedelta(days=1)
        offset = datetime.combine(day, time(12), zone).utcoffset()
        if offset != previous:
            found.append(day)
        previous = offset
    return found


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def intervals(draw: st.DrawFn, max_size: int = 3) -> list[list[str]]:
    minute = st.one_of(st.sampled_from(EDGE_MINUTES), st.integers(0, 1439))
    result = []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(minute)
        end = draw(st.one_of(minute, st.just(1440)).filter(start.__ne__))
        result.append([_hhmm(start), _hhmm(end)])
    return result


@st.composite
def weeks(draw: st.DrawFn) -> dict[str, list[list[str]]]:
    kind = draw(st.sampled_from(["split", "overnight", "24x7", "random"]))
    if kind == "split":
        shift = [["07:30", "12:30"], ["14:00", "18:00"]]
        return dict.fromkeys(WEEKDAY_KEYS[:5], shift) | {"sat": [["08:00", "12:00"]]}
    if kind == "overnight":
        return {day: [["22:00", "06:00"]] for day in WEEKDAY_KEYS}
    if kind == "24x7":
        return {day: [["00:00", "24:00"]] for day in WEEKDAY_KEYS}
    return {day: draw(intervals()) for day in WEEKDAY_KEYS}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], int, int]:
    """Return a calendar JSON and the UTC window ``[low, high)`` the example stays in."""
    zone = draw(st.sampled_from(ZONES))
    changes = dst_dates(zone)
    any_day = st.dates(FIRST_ANCHOR, LAST_ANCHOR)
    anchor = draw(st.sampled_from(changes) | any_day if changes else any_day)
    window_days = [anchor - WINDOW_BEFORE + timedelta(days=k) for k in range(7)]
    data: dict[str, Any] = {
        "timezone": zone,
        "week": draw(weeks()),
        "holidays": draw(st.sampled_from(HOLIDAY_SOURCES)),
    }
    if draw(st.booleans()):
        effective = draw(st.sampled_from(window_days))
        data["schedules"] = [{"effective_from": str(effective), "week": draw(weeks())}]
    closed = draw(st.lists(st.sampled_from(window_days), max_size=2, unique=True))
    data["closed_dates"] = [str(day) for day in closed]
    open_days = [day for day in window_days if day not in closed]
    chosen = draw(st.lists(st.sampled_from(open_days), max_size=2, unique=True))
    data["open_dates"] = {str(day): draw(intervals(max_size=2)) for day in chosen}
    low = datetime.combine(anchor - WINDOW_BEFORE, time(), UTC)
    return data, int(low.timestamp()), int((low + timedelta(days=7)).timestamp())


@st.composite
def pauses(draw: st.DrawFn, low: int, high: int) -> list[tuple[int, int]]:
    spans = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(low, high))
        spans.append((start, start + draw(st.integers(0, 36 * 3600))))
    return spans


def _aware(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


def _seconds(value: datetime) -> int:
    assert value.tzinfo is not None
    return int(value.timestamp())


def _amounts() -> st.SearchStrategy[int]:
    minutes = st.integers(0, 3 * 24 * 60).map(lambda m: m * 60)
    return st.one_of(minutes, st.integers(0, 3 * 24 * 3600))


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_add_matches_reference(scenario: tuple[dict[str, Any], int, int], data: Any) -> None:
    spec, low, high = scenario
    calendar, reference = Calendar.from_json(spec), ReferenceCalendar(spec)
    start = data.draw(st.integers(low, low + 3 * 86_400), label="start")
    amount = data.draw(_amounts(), label="amount")
    paused = data.draw(pauses(low, high), label="pauses")

    expected = reference.add(start, amount, high, paused)
    try:
        got = calendar.add(
            _aware(start),
            amount / 60,
            "minutes",
            pauses=[(_aware(a), _aware(b)) for a, b in paused],
        )
    except NoOpenTimeError:
        # A calendar that never opens again (no weekly hours, only a few open dates already
        # past) has no deadline: the reference found none in its window either.
        assert expected is None
        return
    assert got.tzinfo == calendar.zone
    if expected is None:
        assert _seconds(got) >= high
    else:
        assert _seconds(got) == expected
    if not paused:
        bulk = calendar.add_many(np.array([start]), np.array([amount]))
        assert int(bulk[0]) == _seconds(got)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_elapsed_matches_reference(scenario: tuple[dict[str, Any], int, int], data: Any) -> None:
    spec, low, high = scenario
    calendar, reference = Calendar.from_json(spec), ReferenceCalendar(spec)
    start = data.draw(st.integers(low, high), label="start")
    end = data.draw(st.integers(start, high), label="end")
    paused = data.draw(pauses(low, high), label="pauses")

    expected = reference.elapsed(start, end, paused)
    got = calendar.elapsed(_aware(start), _aware(end), pauses=[(_aware(a), _aware(b)) for a, b in paused])
    assert got == timedelta(seconds=expected)
    if not paused:
        bulk = calendar.elapsed_many(np.array([start]), np.array([end]))
        assert int(bulk[0]) == expected


@settings(SETTINGS, max_examples=120)
@given(scenario=scenarios(), data=st.data())
def test_open_checks_match_reference(scenario: tuple[dict[str, Any], int, int], data: Any) -> None:
    spec, low, high = scenario
    calendar, reference = Calendar.from_json(spec), ReferenceCalendar(spec)
    at = data.draw(st.integers(low, low + 4 * 86_400), label="at")

    assert calendar.is_open(_aware(at)) == reference.is_open(at)
    expected = reference.next_open(at, high)
    if expected is not None:
        assert _seconds(calendar.next_open(_aware(at))) == expected


@settings(SETTINGS, max_examples=30)
@given(scenario=scenarios(), data=st.data())
def test_business_days_match_reference(scenario: tuple[dict[str, Any], int, int], data: Any) -> None:
    spec, low, _ = scenario
    weeks_used = [spec["week"]] + [v["week"] for v in spec.get("schedules", [])]
    # Without a weekly interval the reference would search for business days forever.
    assume(all(any(week.values()) for week in weeks_used))
    calendar, reference = Calendar.from_json(spec), ReferenceCalendar(spec)
    start = data.draw(st.integers(low, low + 2 * 86_400), label="start")
    days = data.draw(st.integers(1, 3), label="days")

    got = calendar.add(_aware(start), days, "days")
    assert _seconds(got) == reference.add_business_days(start, days)


def test_a_calendar_that_never_opens_has_no_deadline_but_zero_is_now() -> None:
    """The case Hypothesis found: no weekly hours, no open dates."""
    spec: dict[str, Any] = {"timezone": "UTC", "week": {}, "holidays": None, "closed_dates": [], "open_dates": {}}
    calendar, reference = Calendar.from_json(spec), ReferenceCalendar(spec)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    low = _seconds(start)
    assert reference.add(low, 300, low + 7 * 86_400, []) is None
    with pytest.raises(NoOpenTimeError):
        calendar.add(start, 5, "minutes")
    assert calendar.add(start, 0, "minutes") == start
