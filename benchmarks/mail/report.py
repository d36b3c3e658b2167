#!/usr/bin/env python
"""Markdown report of benchmarks/mail results: ``report.py RESULTS_DIR`` (run.sh calls it)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

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


def path(batch: int, pipelined: bool = False) -> str:
    """How a pass fed its messages in: ``intake_batch`` 0 (and every result file older than it) is one by one."""
    if pipelined:
        return f"batches of {batch}, helper process (`ingest_stream`)"
    return f"batches of {batch} (`ingest_many`)" if batch else "one by one (`ingest_email`)"


def how(batch: int) -> str:
    """``path`` in a sentence."""
    return f"in {path(batch)}" if batch else path(batch)


def per_category(r: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The pass whose per-category latencies mean something (one by one), and its name."""
    if r.get("timed_single"):
        return r["timed_single"], "one-by-one pass"
    if not r.get("intake_batch"):
        return r["timed"], "timed stream"
    return None, "none (batches only: per-chunk means)"


def main(res: Path) -> None:
    env = json.loads((res / "env.json").read_text()) if (res / "env.json").exists() else {}
    runs = [json.loads(p.read_text()) for p in sorted(res.glob("mail_*.json"))]
    runs.sort(key=lambda r: ["sqlite", "postgres"].index(r["db"]) if r["db"] in ("sqlite", "postgres") else 9)
    out: list[str] = []
    w = out.append
    batches = sorted({r["intake_batch"] for r in runs if r.get("intake_batch")})
    entry = "`ingest_stream`" if any(r["timed"].get("pipelined") for r in runs) else "`ingest_many`"
    title = ", ".join(f"{entry}, batches of {b}" for b in batches) or "`ingest_email`, one by one"
    w(f"# Inbound e-mail throughput ({title})")
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
        "| database | path | messages | wall s | **msg/s** | p50 ms | p95 ms | p99 ms | client CPU ms/msg | "
        "server CPU ms/msg | statements/msg | SQL time | load avg (before → during → after) | outcomes ok |"
    )
    w("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")

    def row(r: dict[str, Any], t: dict[str, Any], batch: int, load: tuple[Any, Any, Any], bad: int) -> None:
        during = statistics.median(load[1]) if load[1] else None
        rate = f(t["msg_per_s"], 0)
        headline = t is r["timed"]
        cpu = f(t["cpu_ms_per_msg"], 2)
        if t.get("helper_cpu_ms_per_msg") is not None:
            cpu += f" (+ {f(t['helper_cpu_ms_per_msg'], 2)} helper)"
        w(
            f"| {LABEL.get(r['db'], r['db'])} | {path(batch, bool(t.get('pipelined')))} | {t['messages']:,} | "
            f"{f(t['wall_s'], 2)} | {f'**{rate}**' if headline else rate} | "
            f"{f(t['p50_ms'], 2)} | {f(t['p95_ms'], 2)} | {f(t['p99_ms'], 2)} | {cpu} | "
            f"{f(t['server_cpu_ms_per_msg'], 2)} | {f(t['statements_per_msg'], 1)} | {f(100 * t['sql_share'], 0)} % | "
            f"{f(load[0], 2)} → {f(during, 2)} → {f(load[2], 2)} | {t['messages'] - bad:,}/{t['messages']:,} |"
        )

    for r in runs:  # the headline: as run (batched, unless an old file or --intake-batch 0)
        load = (r["load_avg_before"], r.get("load_avg_during"), r["load_avg_after"])
        row(r, r["timed"], r.get("intake_batch", 0), load, r["unexpected_outcomes"])
    for r in runs:  # a comparison: the same mix in batches without the helper, after the stream in the same run
        tp = r.get("timed_plain")
        if tp:
            load = (tp.get("load_avg_before"), tp.get("load_avg_during"), tp.get("load_avg_after"))
            row(r, tp, tp["intake_batch"], load, tp["unexpected_outcomes"])
    for r in runs:  # the comparison: the same mix one by one, measured after the stream in the same run
        ts = r.get("timed_single")
        if ts:
            load = (ts.get("load_avg_before"), ts.get("load_avg_during"), ts.get("load_avg_after"))
            row(r, ts, 0, load, ts["unexpected_outcomes"])
    w("")
    batched = any(r.get("intake_batch") for r in runs)
    if any(r["timed"].get("pipelined") for r in runs):
        w(
            "The headline rows (bold) go through `ingest_stream`, as `radicado mail ingest` does: batches of "
            "`ingest_many`, each batch's files written and its messages parsed by a helper process while the batch "
            "before is routed (the first batch of the stream is prepared in-process). Its CPU is shown apart "
            "(a child process spawned by the stream, its start-up included). The `ingest_many` rows are plain "
            "calls, everything in one process, timed after the stream in the same run."
        )
    w(
        ("The batched rows feed the messages to `ingest_many` in batches (chunks); " if batched else "")
        + (
            "the one-by-one rows are fresh messages of the same mix through `ingest_email`, timed right after the "
            "stream in the same process. "
            if any(r.get("timed_single") for r in runs)
            else ""
        )
        + "msg/s = messages / wall time of the ingest loop (generation between batches not timed). "
        "Client CPU = this process; server CPU = the PostgreSQL backend (/proc). "
        "SQL time = time inside the database driver's execute, as a share of wall time (commits not included)."
    )
    if batched:
        w(
            "In batch mode a message's own latency is not measured: each message gets its chunk's mean (chunk "
            "wall time / chunk size), so p50/p95/p99 there are percentiles of per-chunk means, not of messages."
        )
    w("")
    calibrated = [r for r in runs if r.get("calibration_s_before") is not None]
    if calibrated:
        w(
            "CPU speed at the time (CPU seconds for 5 million additions in pure Python, before → after the timed "
            "stream; lower is faster; compare it between runs, and the batched and one-by-one rows within a run): "
            + "; ".join(
                f"{LABEL.get(r['db'], r['db'])} {f(r['calibration_s_before'], 2)} → {f(r.get('calibration_s_after'), 2)}"
                + (
                    f" (plain batches: {f(r['timed_plain'].get('calibration_s_before'), 2)} → "
                    f"{f(r['timed_plain'].get('calibration_s_after'), 2)})"
                    if r.get("timed_plain")
                    else ""
                )
                for r in calibrated
            )
            + "."
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
        pbatch = sorted({par.get("intake_batch", 0) for _r, par in parallel})
        w(
            "Each process has its own connection and its own stream of the same mix, built before the start "
            "signal, and ingests it "
            + " / ".join(how(b) for b in pbatch)
            + "; msg/s = all messages / wall time from the signal until the last process finished."
            + (" Percentiles in batch mode are of per-chunk means." if any(pbatch) else "")
        )
        w("")
    pushed = [(r, lm) for r in runs for lm in r.get("lmtp") or []]
    if pushed:
        w("## Pushed over LMTP by an MTA's concurrent connections (`radicado mail lmtp`, ADR 0013)")
        w("")
        w(
            "| database | connections | intake | messages | wall s | **msg/s** | p50 ms | p95 ms | p99 ms | "
            "CPU ms/msg (receiver process) | mean batch | answers | outcomes as expected |"
        )
        w("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
        for r, lm in pushed:
            ok = lm["outcomes"] == lm["expected_outcomes"]
            w(
                f"| {LABEL.get(r['db'], r['db'])} | {lm['connections']} | "
                f"{'group commit' if lm['grouped'] else 'each message alone (before)'} | {lm['messages']:,} | "
                f"{f(lm['wall_s'], 2)} | **{f(lm['msg_per_s'], 0)}** | {f(lm['p50_ms'], 1)} | {f(lm['p95_ms'], 1)} | "
                f"{f(lm['p99_ms'], 1)} | {f(lm['cpu_ms_per_msg'], 2)} | {f(lm['mean_batch'], 1)} | "
                f"{', '.join(f'{k}: {v}' for k, v in sorted(lm['answers'].items()))} | {'yes' if ok else 'no'} |"
            )
        w("")
        w(
            "A forked client process (the MTA) opens the connections and delivers its share of fresh messages of the "
            "same mix on each, in turn, waiting for each answer; the receiver runs in the benchmark process as "
            "`radicado mail lmtp` runs it. msg/s = messages / wall time from the start signal to the last answer; "
            "latency is the client's, from sending a message to its answer. Outcomes are counted per kind "
            "(created / threaded / ignored) against what the categories imply."
        )
        w("")
    sources = [(r, *per_category(r)) for r in runs]
    first = next((src for _r, src, _name in sources if src is not None), None)
    if first is not None:
        counts = sorted({src["messages"] for _r, src, _name in sources if src is not None})
        w(
            f"## Per category, one by one (`ingest_email`, {' / '.join(f'{n:,}' for n in counts)} messages; "
            "latency per message is only measurable one by one)"
        )
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
        for cat, c0 in first["categories"].items():
            line = f"| {CATEGORY.get(cat, cat)} | {f(100 * c0['share'], 1)} % |"
            for _r, src, _name in sources:
                c = src["categories"].get(cat) if src is not None else None
                if c is None:
                    line += " – | – | – | – |"
                else:
                    line += (
                        f" {f(c['mean_ms'], 2)} | {f(c['msg_per_s'], 0)} | {f(c['p50_ms'], 2)} | {f(c['p95_ms'], 2)} |"
                    )
            outcome = ", ".join(f"{k} ({v})" for k, v in c0["outcomes"].items())
            line += f" {f(c0['statements_per_msg'], 1)} | {outcome} |"
            w(line)
        w("")
        names = {name for _r, _src, name in sources}
        origin = (
            f"From the {names.pop()}"
            if len(names) == 1
            else "From " + "; ".join(f"{LABEL.get(r['db'], r['db'])}: the {name}" for r, _src, name in sources)
        )
        w(
            f"{origin}. msg/s per category = 1000 / mean ms: the rate of a stream made only of that kind of "
            "message, one by one. Statements/msg and outcomes: the first database."
        )
        w("")
    corpus = [r for r in runs if r.get("corpus")]
    if corpus:
        cbatch = sorted({r["corpus"].get("intake_batch", 0) for r in corpus})
        w(f"## Real-world corpus (../shared/corpora/email, read in place), {' / '.join(how(b) for b in cbatch)}")
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
        ts = r.get("timed_single")
        db = LABEL.get(r["db"], r["db"])
        if not ts:
            w(f"## Statements per message, {db}: {f(t['statements_per_msg'], 1)} {how(r.get('intake_batch', 0))}")
            w("")
            w("| statement | per message |")
            w("|---|--:|")
            for k, v in list(t["by_statement"].items())[:20]:
                w(f"| `{k}` | {v / n:.2f} |")
            w("")
            continue
        m = ts["messages"]
        w(
            f"## Statements per message, {db}: {f(t['statements_per_msg'], 1)} {how(r.get('intake_batch', 0))}, "
            f"{f(ts['statements_per_msg'], 1)} {how(0)}"
        )
        w("")
        w(f"| statement | {path(r.get('intake_batch', 0))} | one by one (`ingest_email`) |")
        w("|---|--:|--:|")
        kinds = {**dict.fromkeys(t["by_statement"]), **dict.fromkeys(ts["by_statement"])}
        top = sorted(kinds, key=lambda k: -max(t["by_statement"].get(k, 0) / n, ts["by_statement"].get(k, 0) / m))
        for k in top[:25]:
            w(f"| `{k}` | {t['by_statement'].get(k, 0) / n:.2f} | {ts['by_statement'].get(k, 0) / m:.2f} |")
        w("")
    staged = [r for r in runs if r.get("stages")]
    if staged:
        n = staged[0]["stages"]["messages"]
        w(
            f"## Where the time goes ({n} more messages of the mix, one by one with `ingest_email`, a timer around "
            "each stage, no profiler)"
        )
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
            f"{how(p.get('intake_batch', 0)) if not p.get('pipelined') else 'through `ingest_stream`'}, "
            f"{f(p['wall_s_under_profiler'], 1)} s under the profiler"
            + (" (the intake process only: the helper's parsing is not in it)" if p.get("pipelined") else "")
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
