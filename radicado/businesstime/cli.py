"""Deadlines and elapsed business time for JSON lines, from the command line.

``run`` is pure: it reads only ``stdin`` and the calendar file, and writes only to
``stdout``, so the Django command (``radicado businesstime ...``) and the tests call it
directly. Usage::

    deadline --calendar FILE   {"start": ISO, "minutes": N}  ->  {"deadline": ISO}
    elapsed  --calendar FILE   {"start": ISO, "end": ISO}    ->  {"minutes": N}

The line format is documented in docs/subsystems/businesstime.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

from radicado.businesstime.calendar import Calendar, Pause
from radicado.businesstime.spec import CalendarError

__all__ = ["QueryError", "run"]

AMOUNT_FIELDS = ("minutes", "hours", "days", "calendar_minutes", "calendar_hours")
_DEADLINE_FIELDS = frozenset({"id", "start", "pauses", *AMOUNT_FIELDS})
_ELAPSED_FIELDS = frozenset({"id", "start", "end", "pauses", "calendar_time"})
EXIT_OK, EXIT_BAD_LINES, EXIT_USAGE = 0, 1, 2


class QueryError(ValueError):
    """A query line is malformed; the message names the field."""


class _Stop(Exception):
    """argparse wants to exit: carries the status instead of calling sys.exit."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that writes help to a given stream and never exits the process."""

    def __init__(self, *, out: TextIO, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out = out

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            self.out.write(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Stop(status, message)

    def error(self, message: str) -> NoReturn:
        raise _Stop(EXIT_USAGE, message)


def run(argv: list[str], stdin: TextIO, stdout: TextIO) -> int:
    """Answer one JSON query per line of ``stdin`` with one JSON line on ``stdout``.

    Returns 0 when every line was answered, 1 when some line got an ``{"error", "line"}``
    answer instead, and 2 for bad arguments or an unreadable or invalid calendar (reported
    as one ``{"error": ...}`` line).
    """
    try:
        args = _parser(stdout).parse_args(argv)
    except _Stop as stop:
        if stop.message:
            _write(stdout, {"error": stop.message.strip()})
        return stop.status
    try:
        calendar = Calendar.from_json(Path(args.calendar).read_text(encoding="utf-8"))
    except OSError as exc:
        _write(stdout, {"error": f"cannot read calendar {args.calendar}: {exc.strerror}"})
        return EXIT_USAGE
    except (CalendarError, UnicodeDecodeError) as exc:
        _write(stdout, {"error": f"invalid calendar {args.calendar}: {exc}"})
        return EXIT_USAGE
    answer: Callable[[Calendar, Mapping[str, Any]], dict[str, Any]] = (
        _deadline if args.command == "deadline" else _elapsed
    )
    status = EXIT_OK
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            result = answer(calendar, _parse_line(line))
        except (ValueError, TypeError) as exc:
            result, status = {"error": str(exc), "line": number}, EXIT_BAD_LINES
        _write(stdout, result)
    return status


def _parse_line(line: str) -> dict[str, Any]:
    try:
        query = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QueryError(f"not valid JSON: {exc}") from None
    if not isinstance(query, dict):
        raise QueryError("each line must be a JSON object")
    return query


def _parser(out: TextIO) -> _Parser:
    parser = _Parser(out=out, prog="radicado businesstime", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (
        (
            "deadline",
            'read {"start", "minutes"|"hours"|"days"|...} lines, write deadlines',
        ),
        ("elapsed", 'read {"start", "end"} lines, write elapsed business minutes'),
    ):
        command = commands.add_parser(name, out=out, help=summary, description=summary)
        command.add_argument("--calendar", required=True, metavar="FILE", help="calendar JSON")
    return parser


def _deadline(calendar: Calendar, query: Mapping[str, Any]) -> dict[str, Any]:
    _reject_unknown(query, _DEADLINE_FIELDS)
    given = [name for name in AMOUNT_FIELDS if name in query]
    if len(given) != 1:
        raise QueryError(f"give exactly one of {', '.join(AMOUNT_FIELDS)}")
    unit, amount = given[0], query[given[0]]
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise QueryError(f"{unit}: {json.dumps(amount)} is not a number")
    start = _parse_instant(query, "start")
    deadline = calendar.add(start, amount, unit, pauses=_parse_pauses(query))
    return _with_id(query, {"deadline": deadline.isoformat()})


def _elapsed(calendar: Calendar, query: Mapping[str, Any]) -> dict[str, Any]:
    _reject_unknown(query, _ELAPSED_FIELDS)
    calendar_time = query.get("calendar_time", False)
    if not isinstance(calendar_time, bool):
        raise QueryError("calendar_time: must be true or false")
    elapsed = calendar.elapsed(
        _parse_instant(query, "start"),
        _parse_instant(query, "end"),
        pauses=_parse_pauses(query),
        calendar_time=calendar_time,
    )
    return _with_id(query, {"minutes": _minutes(elapsed)})


def _minutes(elapsed: timedelta) -> int | float:
    """Whole minutes as an integer; otherwise the exact fraction as a float."""
    whole, rest = divmod(elapsed, timedelta(minutes=1))
    return whole if not rest else elapsed / timedelta(minutes=1)


def _parse_instant(query: Mapping[str, Any], name: str) -> datetime:
    if name not in query:
        raise QueryError(f"{name}: is required")
    return _parse_iso(query[name], name)


def _parse_iso(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise QueryError(f"{name}: {json.dumps(value)} is not an ISO 8601 datetime")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name}: {json.dumps(value)} is not an ISO 8601 datetime") from None
    if instant.tzinfo is None:
        raise QueryError(f"{name}: {json.dumps(value)} has no UTC offset (add Z or -05:00)")
    return instant


def _parse_pauses(query: Mapping[str, Any]) -> list[Pause]:
    raw = query.get("pauses", [])
    if not isinstance(raw, list):
        raise QueryError("pauses: must be a list of [start, end] pairs")
    pauses = []
    for k, pair in enumerate(raw):
        if not isinstance(pair, list) or len(pair) != 2:
            raise QueryError(f"pauses[{k}]: must be a pair [start, end]")
        pauses.append(
            (
                _parse_iso(pair[0], f"pauses[{k}][0]"),
                _parse_iso(pair[1], f"pauses[{k}][1]"),
            )
        )
    return pauses


def _reject_unknown(query: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise QueryError(f"{unknown[0]}: unknown field")


def _with_id(query: Mapping[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    # Echo the caller's id so answers can be matched to queries without counting lines.
    return {"id": query["id"], **result} if "id" in query else result


def _write(stdout: TextIO, payload: Mapping[str, Any]) -> None:
    stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
