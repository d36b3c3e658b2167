"""The calendar JSON format: the documented example, canonical output, and error messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from radicado.businesstime import Calendar, CalendarError

EXAMPLE = """
{"timezone": "America/Bogota",
 "week": {"mon": [["07:30", "12:30"], ["14:00", "18:00"]],
          "tue": [["07:30", "12:30"], ["14:00", "18:00"]],
          "wed": [], "thu": [], "fri": [], "sat": [], "sun": []},
 "holidays": {"country": "CO", "subdivision": null},
 "closed_dates": ["2026-12-24"],
 "open_dates": {"2026-12-26": [["08:00", "12:00"]]}}
"""


def test_the_documented_example_round_trips() -> None:
    calendar = Calendar.from_json(EXAMPLE)
    assert calendar.to_json() == json.loads(EXAMPLE)
    assert Calendar.from_json(calendar.to_json()) == calendar


def test_canonical_form_fills_in_defaults_and_sorts() -> None:
    calendar = Calendar.from_json(
        {
            "timezone": "UTC",
            "week": {"sun": [["22:00", "06:00"], ["08:00", "24:00"]]},
            "schedules": [{"effective_from": "2027-01-01", "week": {}}],
            "closed_dates": ["2026-02-01", "2026-01-01"],
        }
    )
    assert calendar.to_json() == {
        "timezone": "UTC",
        "week": {
            "mon": [],
            "tue": [],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [],
            "sun": [["08:00", "24:00"], ["22:00", "06:00"]],
        },
        "schedules": [
            {
                "effective_from": "2027-01-01",
                "week": {d: [] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            }
        ],
        "holidays": None,
        "closed_dates": ["2026-01-01", "2026-02-01"],
        "open_dates": {},
    }


def _with(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _with(week={"mon": [["07:30", "12:30"], ["14:00", "25:00"]]}),
            'week.mon[1]: "25:00" is not a time HH:MM',
        ),
        (
            _with(week={"mon": [["7:30", "12:30"]]}),
            'week.mon[0]: "7:30" is not a time HH:MM',
        ),
        (
            _with(week={"tue": [["24:00", "06:00"]]}),
            'week.tue[0]: "24:00" may only end',
        ),
        (
            _with(week={"wed": [["08:00", "08:00"]]}),
            'week.wed[0]: "08:00"-"08:00" is empty',
        ),
        (_with(week={"wed": [["08:00"]]}), "week.wed[0]: must be a pair"),
        (_with(week={"wed": "08:00-12:00"}), "week.wed: must be a list"),
        (_with(week={"thurs": []}), "week.thurs: unknown weekday"),
        (_with(week=[]), "week: must be an object"),
        (
            _with(timezone="Mars/Olympus"),
            'timezone: "Mars/Olympus" is not a known IANA',
        ),
        (_with(timezone=5), "timezone: 5 is not an IANA time zone name"),
        (_with(holidays={"country": "XX"}), 'holidays.country: "XX" is not supported'),
        (
            _with(holidays={"country": "CO", "subdivision": "ZZ"}),
            'holidays.subdivision: "ZZ" is not a subdivision of CO',
        ),
        (
            _with(holidays={"country": "CO", "language": "en"}),
            "holidays.language: unknown",
        ),
        (
            _with(closed_dates=["2026-02-30"]),
            'closed_dates[0]: "2026-02-30" is not a date',
        ),
        (_with(closed_dates="2026-12-24"), "closed_dates: must be a list"),
        (
            _with(open_dates={"2026-12-24": [["08:00", "12:00"]]}),
            "open_dates.2026-12-24: the date is also in closed_dates",
        ),
        (
            _with(open_dates={"2026-12-26": [["08:00", "31:00"]]}),
            "open_dates.2026-12-26[0]",
        ),
        (
            _with(
                schedules=[
                    {"effective_from": "2027-01-01", "week": {}},
                    {"effective_from": "2026-01-01", "week": {}},
                ]
            ),
            "schedules[1].effective_from: versions must be in increasing date order",
        ),
        (_with(schedules=[{"week": {}}]), "schedules[0]: needs both"),
        (_with(holiday={"country": "CO"}), "holiday: unknown field"),
    ],
)
def test_errors_name_the_bad_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CalendarError) as caught:
        Calendar.from_json(data)
    assert str(caught.value).startswith(message)


def test_required_fields_and_bad_json() -> None:
    with pytest.raises(CalendarError, match="timezone: is required"):
        Calendar.from_json({"week": {}})
    with pytest.raises(CalendarError, match="week: is required"):
        Calendar.from_json({"timezone": "UTC"})
    with pytest.raises(CalendarError, match="not valid JSON"):
        Calendar.from_json("{")
    with pytest.raises(CalendarError, match="must be a JSON object"):
        Calendar.from_json("[]")


def test_calendar_errors_are_value_errors_that_carry_the_field() -> None:
    with pytest.raises(ValueError, match=r"week\.mon") as caught:
        Calendar.from_json(_with(week={"mon": [["x", "12:00"]]}))
    assert isinstance(caught.value, CalendarError)
    assert caught.value.field == "week.mon[0]"
