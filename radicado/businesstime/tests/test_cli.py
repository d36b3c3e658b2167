"""The businesstime command: JSON lines in, JSON lines out, bad lines reported in place."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from radicado.businesstime.cli import run

I2 = {
    "timezone": "America/Bogota",
    "week": {d: [["07:30", "12:30"], ["14:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "CO", "subdivision": None},
}


@pytest.fixture
def calendar_file(tmp_path: Path) -> str:
    path = tmp_path / "i2.json"
    path.write_text(json.dumps(I2), encoding="utf-8")
    return str(path)


def call(argv: list[str], lines: list[Any]) -> tuple[int, list[dict[str, Any]]]:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    out = io.StringIO()
    status = run(argv, io.StringIO(text), out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_deadline_answers_every_unit(calendar_file: str) -> None:
    status, answers = call(
        ["deadline", "--calendar", calendar_file],
        [
            {"start": "2026-01-09T17:30:00-05:00", "hours": 6},
            {"start": "2026-01-09T22:30:00Z", "minutes": 360},
            {"start": "2026-03-20T10:00:00-05:00", "days": 15},
            {"start": "2026-01-10T09:00:00-05:00", "calendar_minutes": 90},
            {
                "start": "2026-01-05T08:00:00-05:00",
                "hours": 8,
                "pauses": [["2026-01-05T10:00:00-05:00", "2026-01-06T09:00:00-05:00"]],
            },
        ],
    )
    assert status == 0
    assert answers == [
        {"deadline": "2026-01-13T14:30:00-05:00"},
        {"deadline": "2026-01-13T14:30:00-05:00"},
        {"deadline": "2026-04-15T18:00:00-05:00"},
        {"deadline": "2026-01-10T10:30:00-05:00"},
        {"deadline": "2026-01-06T16:30:00-05:00"},
    ]


def test_elapsed_answers_minutes_fractional_when_seconds_are_involved(
    calendar_file: str,
) -> None:
    status, answers = call(
        ["elapsed", "--calendar", calendar_file],
        [
            {"start": "2026-01-09T17:30:00-05:00", "end": "2026-01-13T14:30:00-05:00"},
            {"start": "2026-01-13T07:30:00-05:00", "end": "2026-01-13T07:31:30-05:00"},
            {
                "start": "2026-01-10T09:00:00-05:00",
                "end": "2026-01-10T10:00:00-05:00",
                "calendar_time": True,
            },
        ],
    )
    assert status == 0
    assert answers == [{"minutes": 360}, {"minutes": 1.5}, {"minutes": 60}]
    assert isinstance(answers[0]["minutes"], int)


def test_a_bad_line_is_reported_and_the_rest_answered(calendar_file: str) -> None:
    status, answers = call(
        ["deadline", "--calendar", calendar_file],
        [
            {"start": "2026-01-09T17:30:00", "hours": 6},
            "not json",
            {"start": "2026-01-09T17:30:00-05:00", "hours": 6, "minutes": 1},
            {"start": "2026-01-09T17:30:00-05:00", "weeks": 1},
            {"start": "2026-13-01T00:00:00Z", "hours": 1},
            {"start": "2026-01-09T17:30:00-05:00", "days": 1.5},
            {"start": "2026-01-09T17:30:00-05:00", "hours": -1},
            {"id": "T-9", "start": "2026-01-09T17:30:00-05:00", "hours": 6},
        ],
    )
    assert status == 1
    assert answers[0] == {
        "error": 'start: "2026-01-09T17:30:00" has no UTC offset (add Z or -05:00)',
        "line": 1,
    }
    assert answers[1]["line"] == 2 and answers[1]["error"].startswith("not valid JSON")
    assert answers[2] == {
        "error": "give exactly one of minutes, hours, days, calendar_minutes, calendar_hours",
        "line": 3,
    }
    assert answers[3] == {"error": "weeks: unknown field", "line": 4}
    assert answers[4] == {
        "error": 'start: "2026-13-01T00:00:00Z" is not an ISO 8601 datetime',
        "line": 5,
    }
    assert answers[5]["line"] == 6 and "whole number" in answers[5]["error"]
    assert answers[6]["line"] == 7 and "non-negative" in answers[6]["error"]
    assert answers[7] == {"id": "T-9", "deadline": "2026-01-13T14:30:00-05:00"}


def test_blank_lines_are_skipped_but_counted(calendar_file: str) -> None:
    status, answers = call(["elapsed", "--calendar", calendar_file], ["", {"start": "x"}])
    assert status == 1
    assert answers == [{"error": 'start: "x" is not an ISO 8601 datetime', "line": 2}]


def test_calendar_problems_stop_before_reading_input(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    status, answers = call(["deadline", "--calendar", missing], [{"start": "x"}])
    assert status == 2
    assert answers == [{"error": f"cannot read calendar {missing}: No such file or directory"}]
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"timezone": "UTC", "week": {"mon": [["07:30", "25:00"]]}}),
        encoding="utf-8",
    )
    status, answers = call(["deadline", "--calendar", str(bad)], [])
    assert status == 2
    assert answers == [{"error": f'invalid calendar {bad}: week.mon[0]: "25:00" is not a time HH:MM'}]


def test_usage_errors_and_help() -> None:
    status, answers = call(["deadline"], [])
    assert (status, answers) == (
        2,
        [{"error": "the following arguments are required: --calendar"}],
    )
    status, answers = call(["estimate", "--calendar", "x"], [])
    assert status == 2 and "invalid choice" in answers[0]["error"]
    out = io.StringIO()
    assert run(["--help"], io.StringIO(), out) == 0
    assert "deadline" in out.getvalue() and "elapsed" in out.getvalue()
