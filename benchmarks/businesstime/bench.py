"""Benchmark Radicado's business time against businesstimedelta and pandas CustomBusinessHour.

Reproduce (about 4 minutes; --quick takes a few seconds):

    uv run --frozen python benchmarks/businesstime/bench.py [--quick]

The main case times the same deadline and elapsed queries on the split-shift Bogotá
calendar with Colombian holidays through every library, checks a sample against the
minute-stepping reference, and compares every answer with Radicado's. Two smaller cases
check correctness only: an overnight shift (22:00-06:00) and a DST zone (New York).
Exits with status 1 if Radicado disagrees with the reference or with itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import analysis  # the sibling modules, importable once the path is set
import competitors
from competitors import Shape

from radicado.businesstime import Calendar
from radicado.businesstime.tests.reference import ReferenceCalendar

YEAR = 2026
MAX_HOURS = 40  # deadline targets: 1..40 business hours (pandas accepts whole hours only)
MAX_SPAN_DAYS = 4  # elapsed queries: end up to four days after start
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHUNK = 500  # single-query loops take turns every CHUNK queries


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    spec: dict[str, object]
    shape: Shape
    focus: tuple[date, ...] = ()  # if set, half the starts fall within 3 days of these


@dataclass
class Queries:
    starts: np.ndarray  # epoch seconds
    hours: np.ndarray
    ends: np.ndarray
    zone: ZoneInfo
    start_times: list[datetime] = field(default_factory=list)
    end_times: list[datetime] = field(default_factory=list)


def make_cases() -> list[Case]:
    split = [["07:30", "12:30"], ["14:00", "18:00"]]
    co = {"country": "CO", "subdivision": None}
    bogota = Calendar.from_json({"timezone": "America/Bogota", "week": {}, "holidays": co})
    co_days = competitors.shape_holidays(bogota, range(YEAR - 1, YEAR + 2))
    us = Calendar.from_json({"timezone": "UTC", "week": {}, "holidays": {"country": "US", "subdivision": None}})
    us_days = competitors.shape_holidays(us, range(YEAR - 1, YEAR + 2))
    return [
        Case(
            "bogota-split",
            "Mon-Fri 07:30-12:30 + 14:00-18:00, America/Bogota, CO holidays",
            {"timezone": "America/Bogota", "week": dict.fromkeys(DAYS[:5], split), "holidays": co},
            Shape("America/Bogota", (0, 1, 2, 3, 4), ((clock(7, 30), clock(12, 30)), (clock(14), clock(18))), co_days),
        ),
        Case(
            "bogota-overnight",
            "every day 22:00-06:00, America/Bogota, CO holidays",
            {"timezone": "America/Bogota", "week": {d: [["22:00", "06:00"]] for d in DAYS}, "holidays": co},
            Shape("America/Bogota", tuple(range(7)), ((clock(22), clock(6)),), co_days),
        ),
        Case(
            "new-york-dst",
            "every day 00:00-12:00, America/New_York, US holidays, starts near DST changes",
            {
                "timezone": "America/New_York",
                "week": {d: [["00:00", "12:00"]] for d in DAYS},
                "holidays": {"country": "US", "subdivision": None},
            },
            Shape("America/New_York", tuple(range(7)), ((clock(0), clock(12)),), us_days),
            focus=(date(YEAR, 3, 8), date(YEAR, 11, 1)),
        ),
    ]


def make_queries(case: Case, count: int, seed: int) -> Queries:
    """Random starts in the year (whole seconds), 1..40 h targets, ends up to four days later."""
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(case.shape.zone)
    year_start = int(datetime(YEAR, 1, 1, tzinfo=zone).timestamp())
    starts = year_start + rng.integers(0, 365 * 86_400 - MAX_SPAN_DAYS * 86_400, size=count)
    if case.focus:
        near = rng.random(count) < 0.5
        anchors = np.array([int(datetime.combine(d, clock(), zone).timestamp()) for d in case.focus])
        picked = anchors[rng.integers(0, anchors.size, size=count)] + rng.integers(-3 * 86_400, 3 * 86_400, size=count)
        starts = np.where(near, picked, starts)
    hours = rng.integers(1, MAX_HOURS + 1, size=count)
    ends = starts + rng.integers(0, MAX_SPAN_DAYS * 86_400, size=count)
    queries = Queries(starts.astype(np.int64), hours.astype(np.int64), ends.astype(np.int64), zone)
    queries.start_times = [datetime.fromtimestamp(int(s), zone) for s in queries.starts]
    queries.end_times = [datetime.fromtimestamp(int(e), zone) for e in queries.ends]
    return queries


@dataclass
class Run:
    """One library's answers (epoch seconds; None when it raised) and its time for them."""

    library: str
    answers: list[float | None]
    seconds: float

    def rate(self) -> float:
        return len(self.answers) / self.seconds


Batch = Callable[[int, int], list[Any]]  # answers for the queries [low, high)


def interleaved(calls: Sequence[tuple[str, Batch, int]], count: int, convert: Callable[[Any], float]) -> list[Run]:
    """Time single-query loops chunk by chunk, taking turns, so that every library meets the
    same load on the machine; each library runs on the first ``limit`` queries."""
    answers: dict[str, list[Any]] = {name: [] for name, _, _ in calls}
    seconds = dict.fromkeys(answers, 0.0)
    for low in range(0, count, CHUNK):
        for name, call, limit in calls:
            if low < limit:
                began = time.perf_counter()
                answers[name] += call(low, min(low + CHUNK, limit))
                seconds[name] += time.perf_counter() - began
    return [
        Run(name, [None if a is None else convert(a) for a in answers[name]], seconds[name]) for name, _, _ in calls
    ]


def best_of(library: str, call: Callable[[], np.ndarray], repeat: int = 10) -> Run:
    """Time a bulk call (best of ``repeat``, as timeit does: it takes milliseconds, so a burst
    of load elsewhere on the machine would otherwise decide the figure)."""
    best, result = float("inf"), np.empty(0)
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - began)
    return Run(library, [float(x) for x in result.tolist()], best)


def _epoch(value: datetime) -> float:
    return value.timestamp()


def _span(value: timedelta) -> float:
    return value / timedelta(seconds=1)


def run_deadlines(case: Case, calendar: Calendar, q: Queries, limit: int) -> list[Run]:
    single, _ = competitors.radicado(calendar)
    btd_deadline, _ = competitors.businesstimedelta(case.shape)
    pandas_deadline = competitors.pandas_cbh(case.shape, q.hours.tolist())
    pairs = list(zip(q.start_times, q.hours.tolist(), strict=True))
    for warm_up in (single, btd_deadline, pandas_deadline):  # compile years, load holidays
        warm_up(*pairs[0])
    amounts = q.hours * 3600
    bulk = best_of("Radicado bulk (numpy)", lambda: calendar.add_many(q.starts, amounts))
    return [
        bulk,
        *interleaved(
            [
                ("Radicado single", lambda lo, hi: [single(s, h) for s, h in pairs[lo:hi]], len(pairs)),
                ("businesstimedelta", lambda lo, hi: [btd_deadline(s, h) for s, h in pairs[lo:hi]], limit),
                ("pandas CustomBusinessHour", lambda lo, hi: [pandas_deadline(s, h) for s, h in pairs[lo:hi]], limit),
            ],
            len(pairs),
            _epoch,
        ),
    ]


def run_elapsed(case: Case, calendar: Calendar, q: Queries, limit: int) -> list[Run]:
    _, single = competitors.radicado(calendar)
    _, btd_elapsed = competitors.businesstimedelta(case.shape)
    pairs = list(zip(q.start_times, q.end_times, strict=True))
    for warm_up in (single, btd_elapsed):
        warm_up(*pairs[0])
    bulk = best_of("Radicado bulk (numpy)", lambda: calendar.elapsed_many(q.starts, q.ends))
    return [
        bulk,
        *interleaved(
            [
                ("Radicado single", lambda lo, hi: [single(s, e) for s, e in pairs[lo:hi]], len(pairs)),
                ("businesstimedelta", lambda lo, hi: [btd_elapsed(s, e) for s, e in pairs[lo:hi]], limit),
            ],
            len(pairs),
            _span,
        ),
    ]


def reference_answers(case: Case, q: Queries, sample: int) -> tuple[list[float | None], list[float | None]]:
    """The minute-stepping reference's deadlines and elapsed seconds for the first ``sample`` queries."""
    reference = ReferenceCalendar(dict(case.spec))
    starts, hours, ends = q.starts[:sample].tolist(), q.hours[:sample].tolist(), q.ends[:sample].tolist()
    deadlines: list[float | None] = [
        reference.add(s, h * 3600, s + 120 * 86_400) for s, h in zip(starts, hours, strict=True)
    ]
    elapsed: list[float | None] = [reference.elapsed(s, e) for s, e in zip(starts, ends, strict=True)]
    return deadlines, elapsed


@dataclass
class Outcome:
    """What a case contributes to the targets."""

    deadline_ratio: float
    elapsed_ratio: float
    bulk_rate: float
    radicado_errors: int


def run_case(case: Case, count: int, sample: int, limit: int, seed: int) -> Outcome:
    calendar = Calendar.from_json(dict(case.spec))
    q = make_queries(case, count, seed)
    print(f"\n== {case.name}: {case.title}")
    print(f"   {count:,} queries; competitors on the first {limit:,}; the reference on the first {sample:,}")
    ref_deadlines, ref_elapsed = reference_answers(case, q, sample)
    deadlines = run_deadlines(case, calendar, q, limit)
    d_verdicts = analysis.judge_all(deadlines, ref_deadlines, analysis.deadline_reasons(calendar, q))
    d_ratio = analysis.print_table("deadlines", deadlines, d_verdicts, sample)
    elapsed = run_elapsed(case, calendar, q, limit)
    e_verdicts = analysis.judge_all(elapsed, ref_elapsed, analysis.elapsed_reasons(calendar, q))
    e_ratio = analysis.print_table("elapsed", elapsed, e_verdicts, sample)
    errors = sum(v.wrong_in_sample + v.differs_from_radicado for v in (*d_verdicts[:2], *e_verdicts[:2]))
    return Outcome(d_ratio, e_ratio, deadlines[0].rate(), errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--queries", type=int, help="queries in the main case (default 100,000; quick 5,000)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows in CI logs
    count = args.queries or (5_000 if args.quick else 100_000)
    # Competitors take about a millisecond a query; the quick run gives them a slice.
    limit, sample, extra = (300, 100, 60) if args.quick else (count, 2_000, 1_000)
    began = time.perf_counter()
    main_case, *checks = make_cases()
    outcome = run_case(main_case, count, min(sample, count), min(limit, count), args.seed)
    errors = outcome.radicado_errors
    for case in checks:
        errors += run_case(case, extra, extra, extra, args.seed).radicado_errors
    print(f"\n== targets (main case: {main_case.name}; {time.perf_counter() - began:.0f} s in all)")
    print_target("single deadline vs the faster competitor", outcome.deadline_ratio, 30, "x")
    print_target("single elapsed vs the faster competitor", outcome.elapsed_ratio, 30, "x")
    print_target("bulk deadlines per second", outcome.bulk_rate, 3_000_000, "/s")
    print(
        f"  Radicado disagreements (with the reference, single vs bulk): {errors}  [{'ok' if not errors else 'FAIL'}]"
    )
    return 0 if errors == 0 else 1


def print_target(label: str, value: float, target: float, unit: str) -> None:
    status = "ok" if value >= target else "MISSED"
    print(f"  {label}: {value:,.0f}{unit} (target {target:,.0f}{unit})  [{status}]")


if __name__ == "__main__":
    sys.exit(main())
