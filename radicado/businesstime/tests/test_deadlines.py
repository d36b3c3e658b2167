"""Deadlines and elapsed time on Radicado's reference calendars, computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radicado.businesstime import Calendar, NoOpenTimeError

BOGOTA = ZoneInfo("America/Bogota")
SPLIT_SHIFT = [["07:30", "12:30"], ["14:00", "18:00"]]
I2 = {
    "timezone": "America/Bogota",
    "week": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), SPLIT_SHIFT),
    "holidays": {"country": "CO", "subdivision": None},
}


@pytest.fixture(scope="module")
def i2() -> Calendar:
    return Calendar.from_json(I2)


def bogota(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    us: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=BOGOTA)


def test_i2_friday_evening_ticket_skips_the_holiday_monday(i2: Calendar) -> None:
    # Fri 2026-01-09 17:30: 30 min that day. Mon 12 is Reyes Magos (observed).
    # Tue 13: 07:30-12:30 gives 5 h (5.5 in all), 14:00-14:30 the last half hour.
    start = bogota(2026, 1, 9, 17, 30)
    assert i2.add(start, 6, "hours") == bogota(2026, 1, 13, 14, 30)
    assert i2.add(start, 360, "minutes") == bogota(2026, 1, 13, 14, 30)
    assert i2.elapsed(start, bogota(2026, 1, 13, 14, 30)) == timedelta(hours=6)


def test_deadline_is_the_earliest_instant_so_a_full_shift_ends_at_its_close(
    i2: Calendar,
) -> None:
    # 07:30-12:30 holds exactly 5 h: due at 12:30, not at 14:00 when the next shift opens.
    assert i2.add(bogota(2026, 1, 13, 7, 30), 5, "hours") == bogota(2026, 1, 13, 12, 30)
    # From a closed moment the clock starts when the office opens.
    assert i2.add(bogota(2026, 1, 13, 6, 0), 1, "hours") == bogota(2026, 1, 13, 8, 30)


def test_petition_registered_on_a_friday_is_due_at_the_close_of_day_15(
    i2: Calendar,
) -> None:
    # Fri 2026-03-20. Mon 23 is San José (observed), Thu 2 and Fri 3 April are Holy
    # Thursday and Good Friday. Day 1 is Tue 24 March; 24-27 (4), 30-31 and 1 April (7),
    # 6-10 April (12), 13-15 April (15): due Wednesday 15 April at 18:00.
    due = bogota(2026, 4, 15, 18, 0)
    assert i2.add(bogota(2026, 3, 20, 10, 0), 15, "days") == due
    assert i2.add(bogota(2026, 3, 20, 21, 0), 15, "days") == due  # after hours
    assert i2.add(bogota(2026, 3, 21, 10, 0), 15, "days") == due  # on the Saturday
    assert i2.add(bogota(2026, 3, 20, 10, 0), 10, "days") == bogota(2026, 4, 8, 18, 0)


def test_zero_amount_returns_the_start(i2: Calendar) -> None:
    start = bogota(2026, 1, 10, 9, 0)  # a Saturday, closed
    assert i2.add(start, 0) == start
    assert i2.add(start, 0, "days") == start


def test_pauses_are_not_counted(i2: Calendar) -> None:
    start = bogota(2026, 1, 5, 8, 0)  # Monday
    pause = (bogota(2026, 1, 5, 10, 0), bogota(2026, 1, 6, 9, 0))
    # 2 h before the pause; from Tue 09:00, 3.5 h to 12:30 and 2.5 h from 14:00.
    assert i2.add(start, 8, "hours", pauses=[pause]) == bogota(2026, 1, 6, 16, 30)
    # The same as adding the paused business time (2.5 + 4 + 1.5 = 8 h) to the target.
    paused_time = i2.elapsed(*pause)
    assert paused_time == timedelta(hours=8)
    assert i2.add(start, 16, "hours") == bogota(2026, 1, 6, 16, 30)
    end = bogota(2026, 1, 6, 12, 0)
    assert i2.elapsed(start, end, pauses=[pause]) == timedelta(hours=5)
    overlapping = [
        (pause[0], bogota(2026, 1, 5, 15, 0)),
        (bogota(2026, 1, 5, 14, 0), pause[1]),
    ]
    assert i2.elapsed(start, end, pauses=overlapping) == timedelta(hours=5)
    assert i2.add(start, 8, "hours", pauses=overlapping) == bogota(2026, 1, 6, 16, 30)


def test_a_pause_after_the_deadline_changes_nothing(i2: Calendar) -> None:
    start = bogota(2026, 1, 5, 8, 0)
    later = (bogota(2026, 1, 5, 9, 0), bogota(2026, 1, 5, 11, 0))
    assert i2.add(start, 30, pauses=[later]) == bogota(2026, 1, 5, 8, 30)
    assert i2.add(start, 60, pauses=[later]) == bogota(2026, 1, 5, 9, 0)
    assert i2.add(start, 61, pauses=[later]) == bogota(2026, 1, 5, 11, 1)


def test_sub_second_precision_is_kept(i2: Calendar) -> None:
    start = bogota(2026, 1, 5, 10, 0, 0, 250_000)
    assert i2.add(start, 1) == bogota(2026, 1, 5, 10, 1, 0, 250_000)
    assert i2.add(bogota(2026, 1, 5, 12, 29, 59, 500_000), 1) == bogota(2026, 1, 5, 14, 0, 59, 500_000)
    assert i2.add(bogota(2026, 1, 5, 12, 45, 0, 900_000), 1) == bogota(2026, 1, 5, 14, 1)
    assert i2.elapsed(start, bogota(2026, 1, 5, 10, 0, 1)) == timedelta(microseconds=750_000)


def test_results_are_in_the_calendar_zone_whatever_the_input_zone(i2: Calendar) -> None:
    got = i2.add(datetime(2026, 1, 13, 12, 30, tzinfo=UTC), 60)
    assert got.tzinfo == BOGOTA
    assert got == bogota(2026, 1, 13, 8, 30)


def test_an_interval_belongs_to_the_day_it_starts() -> None:
    cal = Calendar.from_json(
        {
            "timezone": "America/Bogota",
            "week": {"fri": [["22:00", "06:00"]]},
            "holidays": {"country": "CO", "subdivision": None},
        }
    )
    # Good Friday 2026-04-03 closes the whole night shift, Saturday morning included.
    assert not cal.is_open(bogota(2026, 4, 4, 3, 0))
    # A Saturday holiday (Boyacá, 2027-08-07) does not close Friday's shift.
    assert cal.is_open(bogota(2027, 8, 7, 3, 0))
    # A business day closes when its last interval ends, on the next morning.
    assert cal.add(bogota(2026, 3, 26, 12, 0), 1, "days") == bogota(2026, 3, 28, 6, 0)


def test_open_and_closed_dates_and_schedule_versions() -> None:
    cal = Calendar.from_json(
        {
            "timezone": "America/Bogota",
            "week": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "schedules": [
                {
                    "effective_from": "2026-07-01",
                    "week": {d: [["07:00", "16:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                }
            ],
            "holidays": {"country": "CO", "subdivision": None},
            "closed_dates": ["2026-12-24"],
            "open_dates": {
                "2026-01-12": [["09:00", "13:00"]],
                "2026-12-26": [["08:00", "24:00"]],
            },
        }
    )
    assert cal.is_open(bogota(2026, 1, 12, 10, 0))  # a holiday, opened on purpose
    assert not cal.is_open(bogota(2026, 1, 12, 14, 0))  # open_dates replace the day
    assert not cal.is_open(bogota(2026, 12, 24, 10, 0))
    assert cal.is_open(bogota(2026, 12, 26, 23, 59))  # a Saturday, "24:00" ends it
    assert cal.is_open(bogota(2026, 6, 30, 16, 30))
    assert not cal.is_open(bogota(2026, 7, 1, 16, 30))
    assert cal.is_open(bogota(2026, 7, 1, 7, 0))


def test_calendar_units_count_real_time(i2: Calendar) -> None:
    start = bogota(2026, 1, 10, 9, 0)  # Saturday: closed, but calendar time runs
    assert i2.add(start, 90, "calendar_minutes") == bogota(2026, 1, 10, 10, 30)
    assert i2.add(start, 2, "calendar_hours") == bogota(2026, 1, 10, 11, 0)
    pause = (bogota(2026, 1, 10, 9, 30), bogota(2026, 1, 10, 10, 0))
    assert i2.add(start, 90, "calendar_minutes", pauses=[pause]) == bogota(2026, 1, 10, 11, 0)
    end = bogota(2026, 1, 10, 12, 0)
    assert i2.elapsed(start, end, calendar_time=True, pauses=[pause]) == timedelta(hours=2.5)


def test_open_intervals_lists_the_open_periods(i2: Calendar) -> None:
    got = i2.open_intervals(bogota(2026, 1, 9, 12, 0), bogota(2026, 1, 13, 8, 0))
    assert got == [
        (bogota(2026, 1, 9, 12, 0), bogota(2026, 1, 9, 12, 30)),
        (bogota(2026, 1, 9, 14, 0), bogota(2026, 1, 9, 18, 0)),
        (bogota(2026, 1, 13, 7, 30), bogota(2026, 1, 13, 8, 0)),
    ]


def test_far_deadlines_compile_more_years_on_demand() -> None:
    cal = Calendar.from_json(
        {
            "timezone": "UTC",
            "week": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        }
    )
    start = datetime(2026, 5, 17, 13, 45, tzinfo=UTC)
    minutes = 10 * 366 * 24 * 60
    assert cal.add(start, minutes) == start + timedelta(minutes=minutes)


def test_a_calendar_that_stops_opening_says_so() -> None:
    cal = Calendar.from_json(
        {
            "timezone": "America/Bogota",
            "week": {},
            "open_dates": {"2026-03-02": [["08:00", "12:00"]]},
        }
    )
    start = bogota(2026, 3, 1, 0, 0)
    assert cal.add(start, 4, "hours") == bogota(2026, 3, 2, 12, 0)
    with pytest.raises(NoOpenTimeError, match="no open time after"):
        cal.add(start, 5, "hours")
    with pytest.raises(NoOpenTimeError):
        cal.next_open(bogota(2026, 3, 2, 12, 0))
    assert not cal.is_open(bogota(2031, 1, 1, 0, 0))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.add(datetime(2026, 1, 5, 8), 5), "start must be timezone-aware"),
        (lambda c: c.is_open(datetime(2026, 1, 5, 8)), "at must be timezone-aware"),
        (lambda c: c.add(bogota(2026, 1, 5, 8), -1), "non-negative"),
        (lambda c: c.add(bogota(2026, 1, 5, 8), 5, "weeks"), "unknown unit 'weeks'"),
        (lambda c: c.add(bogota(2026, 1, 5, 8), 1.5, "days"), "whole number"),
        (
            lambda c: c.add(
                bogota(2026, 1, 5, 8),
                1,
                "days",
                pauses=[(bogota(2026, 1, 5, 9), bogota(2026, 1, 5, 10))],
            ),
            "pauses cannot be combined",
        ),
        (
            lambda c: c.elapsed(bogota(2026, 1, 6), bogota(2026, 1, 5)),
            "is before start",
        ),
        (
            lambda c: c.elapsed(
                bogota(2026, 1, 5),
                bogota(2026, 1, 6),
                pauses=[(bogota(2026, 1, 5, 10), bogota(2026, 1, 5, 9))],
            ),
            r"pauses\[0\] ends before it starts",
        ),
    ],
)
def test_bad_input_raises_a_clear_value_error(i2: Calendar, call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(i2)  # type: ignore[operator]


def test_bulk_answers_equal_single_answers(i2: Calendar) -> None:
    rng = np.random.default_rng(7)
    base = int(bogota(2025, 12, 1).timestamp())
    starts = base + rng.integers(0, 400 * 86_400, size=1_000)
    amounts = rng.integers(0, 60 * 3_600, size=1_000)
    ends = starts + rng.integers(0, 30 * 86_400, size=1_000)
    deadlines = i2.add_many(starts, amounts)
    elapsed = i2.elapsed_many(starts, ends)
    for k in range(0, 1_000, 7):
        start = datetime.fromtimestamp(int(starts[k]), UTC)
        single = i2.add(start, int(amounts[k]) / 60)
        assert int(deadlines[k]) == int(single.timestamp())
        end = datetime.fromtimestamp(int(ends[k]), UTC)
        assert int(elapsed[k]) == i2.elapsed(start, end).total_seconds()


def test_bulk_input_is_checked(i2: Calendar) -> None:
    with pytest.raises(ValueError, match="whole epoch seconds"):
        i2.add_many(np.array([1.5e9 + 0.5]), np.array([60]))
    with pytest.raises(ValueError, match="non-negative"):
        i2.add_many(np.array([1_700_000_000]), np.array([-60]))
    with pytest.raises(ValueError, match="at or after"):
        i2.elapsed_many(np.array([1_700_000_000]), np.array([1_600_000_000]))
    assert i2.add_many(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC),
    ),
    amount_us=st.integers(0, 10**12),
)
def test_instants_survive_the_round_trip_to_the_microsecond(start: datetime, amount_us: int) -> None:
    cal = Calendar.from_json({"timezone": "America/Bogota", "week": {}})
    got = cal.add(start, amount_us / 60_000_000, "calendar_minutes")
    assert got == start + timedelta(microseconds=amount_us)
