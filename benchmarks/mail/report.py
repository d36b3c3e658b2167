#!/usr/bin/env python
"""Markdown report of benchmarks/mail results: ``report.py RESULTS_DIR`` (run.sh calls it)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

TARGET = 200  # messages per second
LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
CATEGORY = {
    "new": "new request, known contact",
    "new_att": "… with a small attachment",
    "reply": "reply (In-Reply-To our ack)",
    "reply_tag": "reply (subject tag only)",
    "auto_ooo": "out-of-office",
    "bounce": "bounce (DSN)",
    "bulk": "newsletter (bulk)",
    "unknown": "unknown sender (policy create)",
    "dup_bytes": "duplicate, same bytes",
    "dup_msgid": "duplicate, same Message-ID",
}


def f(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def main(res: Path) -> None:
    env = json.loads((res / "env.json").read_text()) if (res / "env.json").exists() else {}
    runs = [json.loads(p.read_text()) for p in sorted(res.glob("mail_*.json"))]
    runs.sort(key=lambda r: ["sqlite", "postgres"].index(r["db"]) if r["db"] in ("sqlite", "postgres") else 9)
    out: list[str] = []
    w = out.append
    w("# Inbound e-mail throughput (`ingest_email`)")
    w("")
    if env:
        w(
            f"Machine: {env.get('cpu')}, {env.get('cores')} cores, {f(env.get('mem_mb', 0) / 1024, 0)} GB; "
            f"Python {env.get('python')}, Django {env.get('packages', {}).get('Django')}, SQLite {env.get('sqlite')}, "
            f"{env.get('postgres')}. Code: {env.get('commit')} + {env.get('uncommitted_files')} uncommitted files "
            f"({'snapshot' if env.get('snapshot') else 'in place'}). Seed {env.get('seed')}."
        )
        w("")
    w(f"## Timed stream (target ≥ {TARGET} messages/s)")
    w("")
    w(
        "| database | messages | wall s | **msg/s** | p50 ms | p95 ms | p99 ms | client CPU ms/msg | "
        "server CPU ms/msg | statements/msg | SQL time | load avg (before → during → after) | outcomes ok |"
    )
    w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
    for r in runs:
        t = r["timed"]
        during = statistics.median(r["load_avg_during"]) if r.get("load_avg_during") else None
        w(
            f"| {LABEL.get(r['db'], r['db'])} | {t['messages']:,} | {f(t['wall_s'], 2)} | **{f(t['msg_per_s'], 0)}** | "
            f"{f(t['p50_ms'], 2)} | {f(t['p95_ms'], 2)} | {f(t['p99_ms'], 2)} | {f(t['cpu_ms_per_msg'], 2)} | "
            f"{f(t['server_cpu_ms_per_msg'], 2)} | {f(t['statements_per_msg'], 1)} | {f(100 * t['sql_share'], 0)} % | "
            f"{f(r['load_avg_before'], 2)} → {f(during, 2)} → {f(r['load_avg_after'], 2)} | "
            f"{t['messages'] - r['unexpected_outcomes']:,}/{t['messages']:,} |"
        )
    w("")
    w(
        "msg/s = messages / wall time of the ingest loop (generation between batches not timed). "
        "Client CPU = this process; server CPU = the PostgreSQL backend (/proc). "
        "SQL time = time inside the database driver's execute, as a share of wall time (commits not included)."
    )
    w("")
    parallel = [(r, par) for r in runs for par in r.get("parallel") or []]
    if parallel:
        w("## Several ingest processes at once (a structural option, not the headline)")
        w("")
        w(
            "| database | processes | messages | wall s | **msg/s** | p50 ms | p95 ms | p99 ms | "
            "client CPU ms/msg (all processes) | statements/msg | outcomes ok | errors |"
        )
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for r, par in parallel:
            w(
                f"| {LABEL.get(r['db'], r['db'])} | {par['workers']} | {par['messages']:,} | {f(par['wall_s'], 2)} | "
                f"**{f(par['msg_per_s'], 0)}** | {f(par['p50_ms'], 2)} | {f(par['p95_ms'], 2)} | "
                f"{f(par['p99_ms'], 2)} | {f(par['client_cpu_ms_per_msg'], 2)} | {f(par['statements_per_msg'], 1)} | "
                f"{par['messages'] - par['unexpected_outcomes']:,}/{par['messages']:,} | {'; '.join(par['errors']) or '–'} |"
            )
        w("")
        w(
            "Each process has its own connection and its own stream of the same mix, built before the start "
            "signal; msg/s = all messages / wall time from the signal until the last process finished."
        )
        w("")
    if runs:
        w("## Per category")
        w("")
        head = "| category | share |"
        rule = "|---|--:|"
        for r in runs:
            db = LABEL.get(r["db"], r["db"])
            head += f" {db} mean ms | {db} msg/s | {db} p50 | {db} p95 |"
            rule += "--:|--:|--:|--:|"
        head += " statements/msg | outcome |"
        rule += "--:|---|"
        w(head)
        w(rule)
        cats = runs[0]["timed"]["categories"]
        for cat, c0 in cats.items():
            row = f"| {CATEGORY.get(cat, cat)} | {f(100 * c0['share'], 1)} % |"
            for r in runs:
                c = r["timed"]["categories"].get(cat)
                if c is None:
                    row += " – | – | – | – |"
                else:
                    row += (
                        f" {f(c['mean_ms'], 2)} | {f(c['msg_per_s'], 0)} | {f(c['p50_ms'], 2)} | {f(c['p95_ms'], 2)} |"
                    )
            outcome = ", ".join(f"{k} ({v})" for k, v in c0["outcomes"].items())
            row += f" {f(c0['statements_per_msg'], 1)} | {outcome} |"
            w(row)
        w("")
        w("msg/s per category = 1000 / mean ms: the rate of a stream made only of that kind of message.")
        w("")
    corpus = [r for r in runs if r.get("corpus")]
    if corpus:
        w("## Real-world corpus (../shared/corpora/email, read in place)")
        w("")
        w("| database | messages | MB | wall s | msg/s | p50 ms | p95 ms | max ms | statements/msg | outcomes |")
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for r in corpus:
            c = r["corpus"]
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(c["outcomes"].items(), key=lambda kv: -kv[1]))
            w(
                f"| {LABEL.get(r['db'], r['db'])} | {c['messages']} | {f(c['bytes'] / 2**20, 1)} | {f(c['wall_s'], 2)} | "
                f"{f(c['msg_per_s'], 0)} | {f(c['p50_ms'], 2)} | {f(c['p95_ms'], 2)} | {f(c['max_ms'], 1)} | "
                f"{f(c['statements_per_msg'], 1)} | {outcomes} |"
            )
        w("")
    for r in runs:
        t = r["timed"]
        n = t["messages"]
        w(f"## Statements per message, {LABEL.get(r['db'], r['db'])} ({f(t['statements_per_msg'], 1)} in all)")
        w("")
        w("| statement | per message |")
        w("|---|--:|")
        for k, v in list(t["by_statement"].items())[:20]:
            w(f"| `{k}` | {v / n:.2f} |")
        w("")
    staged = [r for r in runs if r.get("stages")]
    if staged:
        n = staged[0]["stages"]["messages"]
        w(f"## Where the time goes ({n} more messages of the mix, a timer around each stage, no profiler)")
        w("")
        head = "| stage |" + "".join(f" {LABEL.get(r['db'], r['db'])} ms/msg |" for r in staged)
        w(head + " calls |")
        w("|---|" + "--:|" * len(staged) + "--:|")
        rows = {x["stage"]: x for x in staged[0]["stages"]["stages"]}
        depth: dict[str, int] = {}
        for name, x in rows.items():
            depth[name] = 0 if x["parent"] is None else depth.get(x["parent"], 0) + 1
            cells = ""
            for r in staged:
                other = {y["stage"]: y for y in r["stages"]["stages"]}.get(name)
                cells += f" {f(other['ms_per_msg'], 2) if other else '–'} |"
            w(f"| {'&nbsp;&nbsp;&nbsp;' * depth[name]}{name} |{cells} {x['calls']} |")
        w(
            "| **total (wall)** |"
            + "".join(f" **{f(r['stages']['wall_ms_per_msg'], 2)}** |" for r in staged)
            + f" {n} |"
        )
        w("")
        w("Per message of the whole mix; an indented stage is part of the one above it.")
        w("")
    for r in runs:
        p = r.get("profile")
        if not p:
            continue
        w(
            f"## cProfile, {LABEL.get(r['db'], r['db'])}: {p['messages']} more messages of the same mix "
            f"({f(p['wall_s_under_profiler'], 1)} s under the profiler)"
        )
        w("")
        w("Top 15 by cumulative time:")
        w("")
        w("```")
        w(p["cumulative"])
        w("```")
        w("")
        w("Top 15 by own time:")
        w("")
        w("```")
        w(p["tottime"])
        w("```")
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/radicado-mailbench/results"))
