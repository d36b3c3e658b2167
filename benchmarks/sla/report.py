#!/usr/bin/env python
"""Markdown report of benchmarks/sla results: ``report.py RESULTS_DIR`` (run.sh calls it)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.5  # the sweep of the same due clocks at the largest size vs the smallest


def fmt(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def times(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}x"


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def collect(res: Path) -> list[dict[str, Any]]:
    """One entry per (database, size): its load, and every timed sweep of every round."""
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for p in sorted(res.glob("load_*.json")):
        d = json.loads(p.read_text())
        runs[(d["db"], d["open"])] = {"db": d["db"], "open": d["open"], "load": d, "rounds": []}
    for p in sorted(res.glob("sweep_*.json"), key=lambda p: int(p.stem.rsplit("_r", 1)[1])):
        d = json.loads(p.read_text())
        key = (d["db"], d["open"])
        runs.setdefault(key, {"db": d["db"], "open": d["open"], "load": None, "rounds": []})["rounds"].append(d)
    out = []
    for (_db, _n), r in sorted(runs.items()):
        reps = [s for rd in r["rounds"] for s in rd["sweeps"]]
        if not reps:
            continue
        walls = [s["wall_ms"] for s in reps]
        server = [s["server_cpu_ms"] for s in reps if s.get("server_cpu_ms") is not None]
        empties = [e for rd in r["rounds"] for e in rd["empty_sweeps_ms"]]
        r["sweep"] = {
            "n": len(reps),
            "median_ms": _median(walls),
            "min_ms": min(walls),
            "max_ms": max(walls),
            "round_medians_ms": [_median([s["wall_ms"] for s in rd["sweeps"]]) for rd in r["rounds"]],
            "firings": reps[0]["firings"],
            "queries": reps[0]["queries"],
            "queries_per_firing": round(reps[0]["queries"] / max(reps[0]["firings"], 1), 2),
            "ms_per_firing": _median(walls) / max(reps[0]["firings"], 1),
            "median_client_cpu_ms": _median([s["client_cpu_ms"] for s in reps]),
            "median_server_cpu_ms": _median(server) if len(server) == len(reps) else None,
            "median_sql_ms": _median([s["sql_ms"] for s in reps]),
            "by_statement": reps[0]["by_statement"],
            "load_avg_1m": _median([s["load_avg_1m"] for s in reps]),
            "same_work": all(s["firings"] == reps[0]["firings"] and s["queries"] == reps[0]["queries"] for s in reps),
        }
        empties.sort()
        r["empty"] = {
            "median_ms": _median(empties),
            "p90_ms": empties[max(0, int(0.9 * len(empties)) - 1)],
            "min_ms": empties[0],
            "max_ms": empties[-1],
            "n": len(empties),
        }
        last = r["rounds"][-1]
        r["due_query"], r["explain_due"], r["explain_empty"] = (
            last["due_query"],
            last["explain_due"],
            last["explain_empty"],
        )
        out.append(r)
    return out


def main() -> None:
    res = Path(sys.argv[1])
    env = json.loads((res / "env.json").read_text()) if (res / "env.json").exists() else {}
    runs = collect(res)
    out = ["# ANS sweep: cost against open tickets", ""]
    if env:
        out += [
            f"{env.get('postgres', '')}, SQLite {env.get('sqlite', '')}, Python {env.get('python', '')}, "
            f"Django {env.get('packages', {}).get('Django', '')}; {env.get('cores', '?')} cores ({env.get('cpu', '')}); "
            f"commit {env.get('commit', '?')}"
            + (f" + {env['uncommitted_files']} uncommitted files" if env.get("uncommitted_files") else ""),
            "",
        ]
    out += [
        "## `sweep_clocks(now=NOW, limit=1000)` with 1,000 clocks due",
        "",
        "| database | open tickets | firings | timed sweeps | wall, median (min–max) ms | ms / firing "
        "| client CPU ms | server CPU ms | SQL statements (/ firing) | load avg |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        s = r["sweep"]
        out.append(
            f"| {r['db']} | {r['open']:,} | {s['firings']:,} | {s['n']} "
            f"| {fmt(s['median_ms'])} ({fmt(s['min_ms'])}–{fmt(s['max_ms'])}) "
            f"| {s['ms_per_firing']:.2f} | {fmt(s['median_client_cpu_ms'])} | {fmt(s['median_server_cpu_ms'])} "
            f"| {s['queries']:,} ({s['queries_per_firing']}) | {s['load_avg_1m']:.1f} |"
        )
    out += ["", "Median wall time of each round, in the order the rounds ran:", ""]
    for r in runs:
        out.append(f"- {r['db']} {r['open']:,}: " + ", ".join(fmt(x) for x in r["sweep"]["round_medians_ms"]) + " ms")
    out += ["", "## Ratio, largest size / smallest (target < 1.5)", ""]
    out += ["| database | sizes | wall median | wall min | client CPU | server CPU | SQL statements | verdict |"]
    out += ["|---|---|--:|--:|--:|--:|--:|---|"]
    for db in sorted({r["db"] for r in runs}):
        rs = [r for r in runs if r["db"] == db]
        if len(rs) < 2:
            continue
        a, b = rs[0]["sweep"], rs[-1]["sweep"]

        def ratio(key: str, a: dict[str, Any] = a, b: dict[str, Any] = b) -> float | None:
            return None if not a.get(key) or b.get(key) is None else b[key] / a[key]

        wall = ratio("median_ms")
        best = ratio("min_ms")
        ok = wall is not None and wall < TARGET_RATIO
        out.append(
            f"| {db} | {rs[-1]['open']:,} / {rs[0]['open']:,} | {times(wall)} | {times(best)} "
            f"| {times(ratio('median_client_cpu_ms'))} | {times(ratio('median_server_cpu_ms'))} "
            f"| {times(ratio('queries'))} | {'within target' if ok else 'OVER TARGET'} |"
        )
    out += [
        "",
        "## Sweep with nothing due",
        "",
        "| database | open tickets | median ms | p90 ms | min–max ms | SQL statements | sweeps |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        e = r["empty"]
        out.append(
            f"| {r['db']} | {r['open']:,} | {e['median_ms']:.2f} | {e['p90_ms']:.2f} | {e['min_ms']:.2f}–{e['max_ms']:.2f} "
            f"| 1 | {e['n']} |"
        )
    out += ["", "## SQL statements of one sweep of the 1,000 due clocks", ""]
    for r in runs:
        s = r["sweep"]
        parts = ", ".join(f"{k} {v:,}" for k, v in s["by_statement"].items())
        out.append(
            f"- {r['db']} {r['open']:,}: {parts} (SQL time {fmt(s['median_sql_ms'])} ms of {fmt(s['median_ms'])} ms)"
        )
    out += ["", "## The due-clock query, as the sweep sends it", ""]
    if runs:
        out += ["```sql", runs[0]["due_query"], "```", ""]
    for r in runs:
        how = "EXPLAIN (ANALYZE, BUFFERS)" if r["db"] == "postgresql" else "EXPLAIN QUERY PLAN"
        out += [f"{r['db']}, {r['open']:,} open, 1,000 due ({how}):", "", "```", r["explain_due"], "```", ""]
        out += [f"{r['db']}, {r['open']:,} open, nothing due:", "", "```", r["explain_empty"], "```", ""]
    out += [
        "## Load",
        "",
        "| database | open tickets | clocks | events | notifications | COPY / insert s | total s | sizes |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in runs:
        ld = r["load"]
        if ld is None:
            continue
        c, t = ld["load"]["counts"], ld["load"]["timings"]
        sizes = ", ".join(f"{k.removesuffix('_mb')} {v} MB" for k, v in ld.get("sizes", {}).items()) or "–"
        out.append(
            f"| {r['db']} | {c['tickets']:,} | {c['clocks']:,} | {c['events']:,} | {c['notifications']:,} "
            f"| {sum(t.values()):.0f} | {ld['load_total_s']:.0f} | {sizes} |"
        )
    out += ["", "Validation (sampled clocks recomputed with the app's own code): "]
    out[-1] += "; ".join(
        f"{r['db']} {r['open']:,}: {r['load']['validation']['clocks_checked']} clocks, "
        f"{r['load']['validation']['due_clocks']} due"
        for r in runs
        if r["load"]
    )
    print("\n".join(out))


if __name__ == "__main__":
    main()
