"""Disagreement analysis for the benchmark: count wrong answers and say why they are wrong.

Radicado's answers are the yardstick for every query (they equal the reference on the
sample, which the benchmark checks); each disagreement gets a reason from a few
recognisable patterns, with one example per reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from radicado.businesstime import Calendar
from radicado.businesstime.compiler import holiday_dates


class RunLike(Protocol):
    library: str
    answers: list[float | None]

    def rate(self) -> float: ...


Reason = Callable[[int, float | None, float | None], str]
Describe = Callable[[int, float | None, float | None], str]


@dataclass
class Verdict:
    """How one library's answers compare with the reference and with Radicado."""

    library: str
    wrong_in_sample: int
    differs_from_radicado: int
    checked: int
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


def judge_all(
    runs: Sequence[RunLike], reference: Sequence[float | None], explain: tuple[Reason, Describe]
) -> list[Verdict]:
    """Judge every run; the first run (Radicado bulk) is the yardstick for all queries."""
    reason, describe = explain
    yardstick = runs[0].answers
    verdicts = []
    for run in runs:
        verdict = Verdict(run.library, 0, 0, len(run.answers))
        verdict.wrong_in_sample = sum(1 for got, want in zip(run.answers, reference, strict=False) if got != want)
        for k, got in enumerate(run.answers):
            if got != yardstick[k]:
                verdict.differs_from_radicado += 1
                why = reason(k, yardstick[k], got)
                verdict.reasons[why] += 1
                verdict.examples.setdefault(why, describe(k, yardstick[k], got))
        verdicts.append(verdict)
    return verdicts


def print_table(kind: str, runs: Sequence[RunLike], verdicts: Sequence[Verdict], sample: int) -> float:
    """Print rates, speed ratios and disagreements; return single-query speed / faster competitor."""
    bulk, single = runs[0], next(r for r in runs if r.library == "Radicado single")
    others = [r for r in runs if not r.library.startswith("Radicado")]
    print(
        f"\n{kind:<27}{'queries/s':>12}  {'single is':>10}  {'bulk is':>10}"
        f"  {'wrong vs reference':>18}  {'differs from Radicado':>22}"
    )
    for run, v in zip(runs, verdicts, strict=True):
        single_ratio = bulk_ratio = ""
        if run in others:
            single_ratio = f"{single.rate() / run.rate():,.0f}x"
            bulk_ratio = f"{bulk.rate() / run.rate():,.0f}x"
        print(
            f"  {run.library:<25}{run.rate():>12,.0f}  {single_ratio:>10}  {bulk_ratio:>10}  "
            f"{v.wrong_in_sample:>7,} / {sample:<8,}  {v.differs_from_radicado:>8,} / {v.checked:<11,}"
        )
    for v in verdicts:
        for why, count in v.reasons.most_common():
            print(f"    {v.library}: {count:,} x {why}\n        e.g. {v.examples[why]}")
    return single.rate() / max(r.rate() for r in others) if others else 0.0


def deadline_reasons(calendar: Calendar, q: Any) -> tuple[Reason, Describe]:
    def reason(k: int, want: float | None, got: float | None) -> str:
        start = int(q.starts[k])
        if got is None or want is None:
            return "raised an exception" if got is None else "answered where no answer exists"
        if got == want:
            return "agrees"
        at = datetime.fromtimestamp(want, UTC)
        closing = not calendar.is_open(at) and calendar.is_open(at - timedelta(seconds=1))
        if closing and got == calendar.next_open(at).timestamp():
            return "deadline exactly at a closing time: returns the next opening instead"
        return _common_reason(calendar, start, max(want, got), got - want)

    def describe(k: int, want: float | None, got: float | None) -> str:
        return (
            f"start {q.start_times[k].isoformat()} + {q.hours[k]} h: "
            f"expected {_local(calendar, want)}, got {_local(calendar, got)}"
        )

    return reason, describe


def elapsed_reasons(calendar: Calendar, q: Any) -> tuple[Reason, Describe]:
    def reason(k: int, want: float | None, got: float | None) -> str:
        if got is None or want is None:
            return "raised an exception"
        return _common_reason(calendar, int(q.starts[k]), int(q.ends[k]), got - want)

    def describe(k: int, want: float | None, got: float | None) -> str:
        answer = "an error" if got is None else f"{got / 60:g} min"
        return (
            f"{q.start_times[k].isoformat()} to {q.end_times[k].isoformat()}: "
            f"expected {(want or 0) / 60:g} min, got {answer}"
        )

    return reason, describe


def _common_reason(calendar: Calendar, start: int, end: int, diff: float) -> str:
    """Name the features of a query that explain most disagreements."""
    features = []
    if _in_overnight_shift(calendar, start):
        features.append("start inside an overnight shift")
    if (
        datetime.fromtimestamp(start, calendar.zone).utcoffset()
        != datetime.fromtimestamp(end, calendar.zone).utcoffset()
    ):
        features.append("a DST change in range")
    holiday = _holiday_between(calendar, start, end)
    if holiday:
        features.append("a holiday in range")
    sign = "late / too much" if diff > 0 else "early / too little"
    return f"{sign}: {' + '.join(features) or 'other'}"


def _in_overnight_shift(calendar: Calendar, start: int) -> bool:
    """Tell whether ``start`` is inside an open interval that crosses local midnight."""
    at = datetime.fromtimestamp(start, UTC)
    if not calendar.is_open(at):
        return False
    window = calendar.open_intervals(at - timedelta(hours=23), at + timedelta(hours=23))
    opened, closed = next((low, high) for low, high in window if low <= at < high)
    return opened.date() != (closed - timedelta(microseconds=1)).date()


def _holiday_between(calendar: Calendar, low: int, high: int) -> str:
    source = calendar.spec.holidays
    if source is None:
        return ""
    first = datetime.fromtimestamp(low, calendar.zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(high, calendar.zone).date()
    years = range(first.year, last.year + 1)
    found = sorted(d for y in years for d in holiday_dates(source, y) if first <= d <= last)
    return ", ".join(map(str, found))


def _local(calendar: Calendar, value: float | None) -> str:
    return "an error" if value is None else datetime.fromtimestamp(value, calendar.zone).isoformat()
