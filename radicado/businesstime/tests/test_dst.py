"""DST changes, hand-computed: New York (2026), Santiago (2026), Mexico City (2022/2023).

"Open" means the local wall clock reads inside an interval, so an interval that contains
a spring-forward gap is shorter in real time and one that contains a fall-back overlap is
longer; a boundary inside a gap opens at the first instant after the gap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from radicado.businesstime import Calendar

NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
MEXICO = ZoneInfo("America/Mexico_City")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def calendar(zone: ZoneInfo, **week: list[list[str]]) -> Calendar:
    return Calendar.from_json({"timezone": zone.key, "week": week})


def every_day(zone: ZoneInfo, *intervals: list[str]) -> Calendar:
    return calendar(zone, **{day: list(intervals) for day in DAYS})


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def assert_instant(got: datetime, utc_text: str, offset_hours: int) -> None:
    """Compare instants in UTC: aware datetimes in one zone compare wall clocks, not folds."""
    assert got.astimezone(UTC) == datetime.fromisoformat(utc_text)
    assert got.utcoffset() == hours(offset_hours)


# New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.


def test_new_york_24x7_days_are_23_and_25_hours_long() -> None:
    cal = every_day(NEW_YORK, ["00:00", "24:00"])
    spring = cal.elapsed(datetime(2026, 3, 8, tzinfo=NEW_YORK), datetime(2026, 3, 9, tzinfo=NEW_YORK))
    autumn = cal.elapsed(datetime(2026, 11, 1, tzinfo=NEW_YORK), datetime(2026, 11, 2, tzinfo=NEW_YORK))
    assert (spring, autumn) == (hours(23), hours(25))


def test_new_york_24x7_adds_real_hours_across_both_changes() -> None:
    cal = every_day(NEW_YORK, ["00:00", "24:00"])
    # 00:00 EST is 05:00Z; three real hours later the wall clock reads 04:00 EDT.
    assert_instant(
        cal.add(datetime(2026, 3, 8, tzinfo=NEW_YORK), 3, "hours"),
        "2026-03-08T08:00Z",
        -4,
    )
    # 00:00 EDT is 04:00Z; three real hours later it is 02:00 EST.
    assert_instant(
        cal.add(datetime(2026, 11, 1, tzinfo=NEW_YORK), 3, "hours"),
        "2026-11-01T07:00Z",
        -5,
    )


def test_new_york_whole_sunday_closes_after_23_hours() -> None:
    cal = calendar(NEW_YORK, sun=[["00:00", "24:00"]])
    got = cal.add(datetime(2026, 3, 7, 12, tzinfo=NEW_YORK), 23, "hours")
    assert_instant(got, "2026-03-09T04:00Z", -4)  # Monday 00:00 EDT


def test_new_york_interval_starting_in_the_gap_opens_after_it() -> None:
    cal = calendar(NEW_YORK, sun=[["02:30", "04:00"]])
    sunday, monday = (
        datetime(2026, 3, 8, tzinfo=NEW_YORK),
        datetime(2026, 3, 9, tzinfo=NEW_YORK),
    )
    assert cal.elapsed(sunday, monday) == hours(1)
    assert_instant(cal.next_open(datetime(2026, 3, 8, 1, tzinfo=NEW_YORK)), "2026-03-08T07:00Z", -4)
    assert_instant(cal.add(sunday, 30), "2026-03-08T07:30Z", -4)  # 03:30 EDT
    ordinary = datetime(2026, 3, 15, tzinfo=NEW_YORK)
    assert cal.elapsed(ordinary, ordinary + timedelta(days=1)) == hours(1.5)


def test_new_york_overlap_is_open_on_both_passes_of_the_wall_clock() -> None:
    cal = calendar(NEW_YORK, sun=[["01:30", "03:00"]])
    sunday, monday = (
        datetime(2026, 11, 1, tzinfo=NEW_YORK),
        datetime(2026, 11, 2, tzinfo=NEW_YORK),
    )
    # 01:30-02:00 EDT, then closed 01:00-01:30 EST, then 01:30-03:00 EST.
    assert cal.elapsed(sunday, monday) == hours(2)
    assert cal.is_open(datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK, fold=0))
    assert not cal.is_open(datetime(2026, 11, 1, 1, 15, tzinfo=NEW_YORK, fold=1))
    assert cal.is_open(datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK, fold=1))
    # 30 minutes in the EDT pass, 15 more from 01:30 EST.
    assert_instant(cal.add(sunday, 45), "2026-11-01T06:45Z", -5)


def test_new_york_overnight_shift_is_7_or_9_hours_on_change_nights() -> None:
    cal = every_day(NEW_YORK, ["22:00", "06:00"])
    spring_start = datetime(2026, 3, 7, 22, tzinfo=NEW_YORK)
    assert cal.elapsed(spring_start, datetime(2026, 3, 8, 6, tzinfo=NEW_YORK)) == hours(7)
    # 7 hours that night, the 8th hour from Sunday 22:00 EDT.
    assert_instant(cal.add(spring_start, 8, "hours"), "2026-03-09T03:00Z", -4)
    autumn_start = datetime(2026, 10, 31, 22, tzinfo=NEW_YORK)
    assert cal.elapsed(autumn_start, datetime(2026, 11, 1, 6, tzinfo=NEW_YORK)) == hours(9)
    assert_instant(cal.add(autumn_start, 8, "hours"), "2026-11-01T10:00Z", -5)  # 05:00 EST


def test_new_york_calendar_minutes_are_real_minutes() -> None:
    cal = calendar(NEW_YORK, mon=[["09:00", "17:00"]])
    got = cal.add(datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK), 60, "calendar_minutes")
    assert_instant(got, "2026-03-08T07:30Z", -4)  # 03:30 EDT


# Santiago: 2026-04-05 00:00 -03 -> 2026-04-04 23:00 -04 (Saturday 23:00-24:00 twice);
# 2026-09-05 24:00 -04 -> 2026-09-06 01:00 -03 (Sunday 00:00-01:00 does not exist).


def test_santiago_24x7_days_are_25_and_23_hours_long() -> None:
    cal = every_day(SANTIAGO, ["00:00", "24:00"])
    saturday = cal.elapsed(datetime(2026, 4, 4, tzinfo=SANTIAGO), datetime(2026, 4, 5, tzinfo=SANTIAGO))
    assert saturday == hours(25)
    only_sunday = calendar(SANTIAGO, sun=[["00:00", "24:00"]])
    week = only_sunday.elapsed(datetime(2026, 9, 3, tzinfo=SANTIAGO), datetime(2026, 9, 10, tzinfo=SANTIAGO))
    assert week == hours(23)
    # Sunday opens when the wall clock first reads 00:00 or later: 01:00 -03.
    got = only_sunday.next_open(datetime(2026, 9, 5, 23, 30, tzinfo=SANTIAGO))
    assert_instant(got, "2026-09-06T04:00Z", -3)


def test_santiago_overnight_shift_across_both_changes() -> None:
    cal = every_day(SANTIAGO, ["20:00", "02:00"])
    april = datetime(2026, 4, 4, 20, tzinfo=SANTIAGO)
    assert cal.elapsed(april, datetime(2026, 4, 5, 2, tzinfo=SANTIAGO)) == hours(7)
    # 20:00 -03 is 23:00Z; 6.5 hours later it is 01:30 -04.
    assert_instant(cal.add(april, 6.5, "hours"), "2026-04-05T05:30Z", -4)
    september = datetime(2026, 9, 5, 20, tzinfo=SANTIAGO)
    assert cal.elapsed(september, datetime(2026, 9, 6, 2, tzinfo=SANTIAGO)) == hours(5)
    # That night holds 5 hours; the last half hour comes from Sunday 20:00 -03.
    assert_instant(cal.add(september, 5.5, "hours"), "2026-09-06T23:30Z", -3)


def test_santiago_evening_that_repeats_an_hour() -> None:
    cal = calendar(SANTIAGO, sat=[["22:00", "24:00"]])
    start = datetime(2026, 4, 4, 22, tzinfo=SANTIAGO)
    # 22:00-24:00 -03 (01:00Z-03:00Z), then 23:00-24:00 -04 again (03:00Z-04:00Z).
    assert cal.elapsed(start, datetime(2026, 4, 6, tzinfo=SANTIAGO)) == hours(3)
    assert_instant(cal.add(start, 150), "2026-04-05T03:30Z", -4)  # 23:30 -04


# Mexico City observed DST until 2022: 2022-04-03 02:00 -> 03:00, 2022-10-30 02:00 -> 01:00.


@pytest.mark.parametrize(
    ("day", "length"),
    [
        (datetime(2022, 4, 3, tzinfo=MEXICO), 23),
        (datetime(2022, 10, 30, tzinfo=MEXICO), 25),
        (datetime(2023, 4, 2, tzinfo=MEXICO), 24),  # DST abolished in late 2022
        (datetime(2023, 10, 29, tzinfo=MEXICO), 24),
    ],
)
def test_mexico_city_24x7_day_lengths(day: datetime, length: int) -> None:
    cal = every_day(MEXICO, ["00:00", "24:00"])
    assert cal.elapsed(day, day + timedelta(days=1)) == hours(length)


def test_mexico_city_night_shift_before_and_after_abolition() -> None:
    cal = every_day(MEXICO, ["01:00", "05:00"])
    april = datetime(2022, 4, 3, 1, tzinfo=MEXICO)
    assert cal.elapsed(april, datetime(2022, 4, 3, 5, tzinfo=MEXICO)) == hours(3)
    assert_instant(cal.add(april, 2, "hours"), "2022-04-03T09:00Z", -5)  # 04:00 CDT
    october = datetime(2022, 10, 30, 1, tzinfo=MEXICO)  # fold=0: 01:00 CDT
    assert cal.elapsed(october, datetime(2022, 10, 30, 5, tzinfo=MEXICO)) == hours(5)
    assert_instant(cal.add(october, 90), "2022-10-30T07:30Z", -6)  # 01:30 CST
    later = datetime(2023, 4, 2, 1, tzinfo=MEXICO)
    assert cal.elapsed(later, datetime(2023, 4, 2, 5, tzinfo=MEXICO)) == hours(4)
