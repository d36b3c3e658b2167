"""The calendar definition: immutable data classes and the JSON format that produces them.

The JSON format is documented in ``docs/subsystems/businesstime.md``. Parsing is strict:
every error is a :class:`CalendarError` whose message starts with the path of the bad
field (``week.mon[1]: "25:00" is not a time HH:MM``), so that an administrator editing a
calendar in the console can find the mistake without reading code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "WEEKDAYS",
    "CalendarError",
    "CalendarSpec",
    "HolidaySource",
    "Interval",
    "ScheduleVersion",
    "parse_calendar",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
HOLIDAY_LANGUAGE = "es"

_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")
_TOP_LEVEL_KEYS = {
    "timezone",
    "week",
    "schedules",
    "holidays",
    "closed_dates",
    "open_dates",
}


class CalendarError(ValueError):
    """A calendar definition is invalid; ``field`` is the path of the offending field."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path}: {problem}" if field_path else problem)
        self.field = field_path


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A local wall-clock interval ``[start, end)`` in minutes after the local midnight of its day.

    ``end < start`` means the interval runs past midnight into the next day
    (``22:00``-``06:00``); ``end == 1440`` is ``24:00``.
    """

    start: int
    end: int

    @property
    def end_offset(self) -> int:
        """Minutes from the local midnight of the interval's own day to its end (may exceed 1440)."""
        return self.end if self.end > self.start else self.end + MINUTES_PER_DAY

    def to_json(self) -> list[str]:
        return [_format_minutes(self.start), _format_minutes(self.end)]


Week = tuple[tuple[Interval, ...], ...]
"""Seven tuples of intervals, Monday first."""


@dataclass(frozen=True, slots=True)
class ScheduleVersion:
    """A weekly schedule that applies to the days from ``effective_from`` (None: since always)."""

    effective_from: date | None
    week: Week


@dataclass(frozen=True, slots=True)
class HolidaySource:
    """Public holidays of a country (ISO 3166-1) and optional subdivision, from ``holidays``."""

    country: str
    subdivision: str | None = None


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """Everything that defines a calendar; two calendars with equal specs behave identically."""

    timezone: str
    versions: tuple[ScheduleVersion, ...]
    holidays: HolidaySource | None = None
    closed_dates: frozenset[date] = frozenset()
    open_dates: tuple[tuple[date, tuple[Interval, ...]], ...] = ()
    _open_dates_map: dict[date, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        self._open_dates_map.update(self.open_dates)

    def intervals_on(self, day: date, holiday_dates: frozenset[date]) -> tuple[Interval, ...]:
        """Return the intervals that start on ``day`` given that year's public holidays.

        ``open_dates`` replace the day's intervals (even on a holiday); otherwise a holiday
        or a closed date has none; otherwise the weekly schedule in force that day applies.
        """
        special = self._open_dates_map.get(day)
        if special is not None:
            return special
        if day in self.closed_dates or day in holiday_dates:
            return ()
        return self.week_on(day)[day.weekday()]

    def week_on(self, day: date) -> Week:
        """Return the weekly schedule in force on ``day`` (the latest version effective by then)."""
        current = self.versions[0].week
        for version in self.versions[1:]:
            if version.effective_from is not None and version.effective_from <= day:
                current = version.week
            else:
                break
        return current

    def open_time_ends(self) -> int | None:
        """Return the last year that can hold open time (0: none ever), or None if unbounded.

        Open time never runs out when the latest schedule version has an interval: closed
        dates are finite and holidays cannot cover every week of a year.
        """
        if any(self.versions[-1].week):
            return None
        years = [day.year for day, intervals in self.open_dates if intervals]
        years += [
            following.effective_from.year
            for version, following in zip(self.versions, self.versions[1:], strict=False)
            if any(version.week) and following.effective_from is not None
        ]
        return max(years, default=0)

    def to_json(self) -> dict[str, Any]:
        """Return the canonical JSON form (parsing it gives an equal spec)."""
        data: dict[str, Any] = {
            "timezone": self.timezone,
            "week": _week_to_json(self.versions[0].week),
        }
        if len(self.versions) > 1:
            data["schedules"] = [
                {"effective_from": str(v.effective_from), "week": _week_to_json(v.week)} for v in self.versions[1:]
            ]
        data["holidays"] = (
            None
            if self.holidays is None
            else {
                "country": self.holidays.country,
                "subdivision": self.holidays.subdivision,
            }
        )
        data["closed_dates"] = sorted(str(d) for d in self.closed_dates)
        data["open_dates"] = {str(day): [i.to_json() for i in intervals] for day, intervals in self.open_dates}
        return data


def parse_calendar(data: Mapping[str, Any] | str) -> CalendarSpec:
    """Validate a calendar in the JSON format (a dict or a JSON string) and return its spec.

    Raises CalendarError (a ValueError) naming the first bad field.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise CalendarError("", f"not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise CalendarError("", "a calendar must be a JSON object")
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise CalendarError(unknown[0], "unknown field")
    if "timezone" not in data:
        raise CalendarError("timezone", "is required")
    if "week" not in data:
        raise CalendarError("week", "is required")
    open_dates = _parse_open_dates(data.get("open_dates", {}))
    closed_dates = _parse_closed_dates(data.get("closed_dates", []))
    for day, _ in open_dates:
        if day in closed_dates:
            raise CalendarError(f"open_dates.{day}", "the date is also in closed_dates")
    return CalendarSpec(
        timezone=_parse_timezone(data["timezone"]),
        versions=(
            ScheduleVersion(None, _parse_week(data["week"], "week")),
            *_parse_versions(data.get("schedules", [])),
        ),
        holidays=_parse_holidays(data.get("holidays")),
        closed_dates=closed_dates,
        open_dates=open_dates,
    )


def _parse_timezone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise CalendarError("timezone", f"{json.dumps(value)} is not an IANA time zone name")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError("timezone", f'"{value}" is not a known IANA time zone') from None
    return value


def _parse_week(value: object, path: str) -> Week:
    if not isinstance(value, Mapping):
        raise CalendarError(path, "must be an object with keys mon..sun")
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise CalendarError(f"{path}.{unknown[0]}", "unknown weekday (use mon, tue, ..., sun)")
    return tuple(_parse_intervals(value.get(name, []), f"{path}.{name}") for name in WEEKDAYS)


def _parse_intervals(value: object, path: str) -> tuple[Interval, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise CalendarError(path, 'must be a list of ["HH:MM", "HH:MM"] pairs')
    intervals = []
    for index, pair in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise CalendarError(item_path, 'must be a pair ["HH:MM", "HH:MM"]')
        start = _parse_time(pair[0], item_path, allow_24=False)
        end = _parse_time(pair[1], item_path, allow_24=True)
        if start == end:
            raise CalendarError(
                item_path,
                f'"{pair[0]}"-"{pair[1]}" is empty (a whole day is "00:00"-"24:00")',
            )
        intervals.append(Interval(start, end))
    return tuple(sorted(intervals))


def _parse_time(value: object, path: str, *, allow_24: bool) -> int:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise CalendarError(path, f"{json.dumps(value)} is not a time HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) == (24, 0):
        if not allow_24:
            raise CalendarError(path, '"24:00" may only end an interval')
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise CalendarError(path, f'"{value}" is not a time HH:MM')
    return hours * 60 + minutes


def _parse_date(value: object, path: str) -> date:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(path, f"{json.dumps(value)} is not a date YYYY-MM-DD")


def _parse_versions(value: object) -> tuple[ScheduleVersion, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise CalendarError("schedules", 'must be a list of {"effective_from", "week"} objects')
    versions: list[ScheduleVersion] = []
    previous: date | None = None
    for index, item in enumerate(value):
        path = f"schedules[{index}]"
        if not isinstance(item, Mapping):
            raise CalendarError(path, 'must be an object {"effective_from": ..., "week": ...}')
        unknown = sorted(set(item) - {"effective_from", "week"})
        if unknown:
            raise CalendarError(f"{path}.{unknown[0]}", "unknown field")
        if "effective_from" not in item or "week" not in item:
            raise CalendarError(path, 'needs both "effective_from" and "week"')
        effective = _parse_date(item["effective_from"], f"{path}.effective_from")
        if previous is not None and effective <= previous:
            raise CalendarError(f"{path}.effective_from", "versions must be in increasing date order")
        versions.append(ScheduleVersion(effective, _parse_week(item["week"], f"{path}.week")))
        previous = effective
    return tuple(versions)


def _parse_holidays(value: object) -> HolidaySource | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CalendarError("holidays", 'must be null or {"country": "CO", "subdivision": null}')
    unknown = sorted(set(value) - {"country", "subdivision"})
    if unknown:
        raise CalendarError(f"holidays.{unknown[0]}", "unknown field")
    country, subdivision = value.get("country"), value.get("subdivision")
    if not isinstance(country, str) or not country:
        raise CalendarError("holidays.country", f"{json.dumps(country)} is not a country code")
    if subdivision is not None and not isinstance(subdivision, str):
        raise CalendarError("holidays.subdivision", "must be a string or null")
    if country not in holidays.list_supported_countries():
        raise CalendarError("holidays.country", f'"{country}" is not supported by the holidays package')
    try:
        holidays.country_holidays(country, subdiv=subdivision, language=HOLIDAY_LANGUAGE)
    except NotImplementedError:
        raise CalendarError("holidays.subdivision", f'"{subdivision}" is not a subdivision of {country}') from None
    return HolidaySource(country, subdivision)


def _parse_closed_dates(value: object) -> frozenset[date]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise CalendarError("closed_dates", 'must be a list of "YYYY-MM-DD" dates')
    return frozenset(_parse_date(item, f"closed_dates[{i}]") for i, item in enumerate(value))


def _parse_open_dates(value: object) -> tuple[tuple[date, tuple[Interval, ...]], ...]:
    if not isinstance(value, Mapping):
        raise CalendarError("open_dates", 'must be an object {"YYYY-MM-DD": [intervals]}')
    parsed = {
        _parse_date(key, f"open_dates.{key}"): _parse_intervals(item, f"open_dates.{key}")
        for key, item in value.items()
    }
    return tuple(sorted(parsed.items()))


def _week_to_json(week: Week) -> dict[str, list[list[str]]]:
    return {name: [i.to_json() for i in day] for name, day in zip(WEEKDAYS, week, strict=True)}


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
