#!/usr/bin/env python
"""Turn a results folder into the Markdown tables of benchmarks/web/README.md.

usage: report.py RESULTS_DIR [--peer PEER_RESULTS_DIR ...]

Reads env.json, load_<db>.json, bench_<db>.json and queries_<db>.json, and, when
given, the django-helpdesk anchor's bench_<db>.json for the side-by-side table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DBS = ["postgres", "sqlite"]
LABELS = {
    "queue_rows": "queue rows (htmx partial, default filter: active, 50 rows)",
    "queue_rows_priority": "queue rows, priority=alta",
    "queue_rows_customer": "queue rows, one customer",
    "queue_rows_page2": "queue rows, 2nd page (offset 50)",
    "queue_search": "queue rows, search 'impresora' in all statuses",
    "queue_page": "full queue page (HTML with filters and rows)",
    "ticket_view": "ticket view (3 messages)",
    "api_list": "API GET /api/v1/tickets, 1st page (25)",
    "api_list_cursor": "API GET /api/v1/tickets, cursor page (25)",
    "api_create": "API POST /api/v1/tickets (create)",
}
# Our scenario -> the anchor's scenario doing the same job.
PEER_OF = {
    "queue_rows": ("list_json", "ticket list rows (datatables JSON, 25 rows)"),
    "queue_search": ("search_json", "keyword search, rows JSON"),
    "queue_page": ("list_page", "ticket list page (HTML shell, no rows)"),
    "ticket_view": ("detail", "ticket detail (3 follow-ups)"),
    "api_list": ("api_list", "API GET /api/tickets/ (25)"),
    "api_create": ("api_create", "API POST /api/tickets/"),
}
TARGETS = {"queue_rows": 50, "api_list": 50, "api_list_cursor": 50, "ticket_view": 40}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def find(bench: Any, scenario: str, conc: int) -> Any:
    if not bench:
        return None
    return next((r for r in bench["results"] if r["scenario"] == scenario and r["concurrency"] == conc), None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument(
        "--peer",
        action="append",
        default=[],
        help="django-helpdesk results folder; repeat it, the first one with a database's file wins",
    )
    args = ap.parse_args()
    res = Path(args.results)
    env = load(res / "env.json") or {}
    bench = {db: load(res / f"bench_{db}.json") for db in DBS}
    loads = {db: load(res / f"load_{db}.json") for db in DBS}
    queries = {db: load(res / f"queries_{db}.json") for db in DBS}
    peer: dict[str, Any] = {}
    peer_src: dict[str, str] = {}
    for folder in args.peer:
        for db in DBS:
            if db not in peer and (Path(folder) / f"bench_{db}.json").exists():
                peer[db] = load(Path(folder) / f"bench_{db}.json")
                peer_src[db] = folder
    dbs = [db for db in DBS if bench[db]]
    out: list[str] = []

    if env:
        p = env.get("packages", {})
        out.append(
            f"Radicado {env.get('commit')}"
            f"{' + ' + str(env['uncommitted_files']) + ' uncommitted files' if env.get('uncommitted_files') else ''}, "
            f"Django {p.get('Django')}, django-ninja {p.get('django-ninja')}, "
            f"gunicorn {p.get('gunicorn')} ({env.get('workers')} sync workers), psycopg {p.get('psycopg')}, "
            f"Python {env.get('python')}, {env.get('postgres')}, SQLite {env.get('sqlite')}; "
            f"{env.get('cores')} cores ({env.get('cpu')}). {env.get('n')} measured requests per scenario "
            f"after {env.get('warmup')} warm-up.\n"
        )

    out.append("Load (bulk_create; seconds):\n")
    out.append("| DB | tickets | active | replies | notes | events | tickets s | analyze s | total s |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for db in DBS:
        ld = loads[db]
        if ld:
            out.append(
                f"| {db} | {ld['tickets']:,} | {ld['active_tickets']:,} | {ld['replies']:,} | "
                f"{ld['notes']:,} | {ld['events']:,} | {ld['load_tickets_s']} | {ld['analyze_s']} | "
                f"{ld['load_total_s']} |"
            )
    out.append("")

    out.append("Latency (ms) and throughput; load = the machine's 1-minute load average (max of before/after):\n")
    head, rule = "| Scenario | c |", "|---|---:|"
    for db in dbs:
        head += f" {db} p50 | p95 | p99 | req/s | n | load |"
        rule += "---:|---:|---:|---:|---:|---:|"
    out += [head, rule]
    keys: list[tuple[str, int]] = []
    for db in dbs:
        for r in bench[db]["results"]:
            if (r["scenario"], r["concurrency"]) not in keys:
                keys.append((r["scenario"], r["concurrency"]))
    for name, conc in keys:
        row = f"| {LABELS.get(name, name)} | {conc} |"
        for db in dbs:
            r = find(bench[db], name, conc)
            if not r:
                row += " – | – | – | – | – | – |"
                continue
            n = f"{r['measured']}" + (f" ({r['errors']} err)" if r["errors"] else "")
            row += (
                f" {fmt(r['p50_ms'], 1)} | {fmt(r['p95_ms'], 1)} | {fmt(r['p99_ms'], 1)} | {fmt(r['rps'], 1)} | {n} |"
                f" {fmt(max(r.get('loadavg_1m') or [None]), 1) if r.get('loadavg_1m') else '–'} |"
            )
        out.append(row)
    out.append("")

    out.append("Targets (p95 at concurrency 1):\n")
    out.append("| Scenario | target p95 |" + "".join(f" {db} p95 |" for db in dbs))
    out.append("|---|---:|" + "---:|" * len(dbs))
    for name, target in TARGETS.items():
        row = f"| {LABELS[name]} | ≤ {target} ms |"
        for db in dbs:
            r = find(bench[db], name, 1)
            if r and r["p95_ms"] is not None:
                ok = r["p95_ms"] <= target and not r["errors"]
                row += f" {fmt(r['p95_ms'], 1)} {'met' if ok else '**missed**'} |"
            else:
                row += " – |"
        out.append(row)
    out.append("")

    if any(peer.values()):
        out.append(
            "Side by side with django-helpdesk 2.6.1 (same machine kind, same data size, same client method), "
            "p50 / p95 ms. Its numbers come from: "
            + "; ".join(f"{db}: {'/'.join(Path(src).resolve().parts[-4:])}" for db, src in peer_src.items())
            + "\n"
        )
        head = "| Radicado scenario | django-helpdesk scenario | c |"
        rule = "|---|---|---:|"
        for db in dbs:
            head += f" Radicado {db} | helpdesk {db} |"
            rule += "---:|---:|"
        out += [head, rule]
        for name, conc in keys:
            if name not in PEER_OF:
                continue
            pname, plabel = PEER_OF[name]
            row = f"| {LABELS.get(name, name)} | {plabel} | {conc} |"
            for db in dbs:
                r, q = find(bench[db], name, conc), find(peer.get(db), pname, conc)
                row += f" {fmt(r['p50_ms']) if r else '–'} / {fmt(r['p95_ms']) if r else '–'} |"
                row += f" {fmt(q['p50_ms']) if q else '–'} / {fmt(q['p95_ms']) if q else '–'} |"
            out.append(row)
        out.append("")

    qdbs = [db for db in DBS if queries[db]]
    if qdbs:
        out.append("SQL statements per request (in-process, the agent; seconds include the counting):\n")
        out.append(
            "| Request | rows |" + "".join(f" {db} queries | {db} s |" for db in qdbs) + " repeated statements |"
        )
        out.append("|---|---:|" + "---:|---:|" * len(qdbs) + "---|")
        for pg_name, q0 in queries[qdbs[0]]["pages"].items():
            row = f"| {pg_name} | {fmt(q0['rows'])} |"
            for db in qdbs:
                q = queries[db]["pages"].get(pg_name)
                row += f" {q['queries']} | {q['seconds']} |" if q else " – | – |"
            rep = q0["repeated"][:2]
            row += (
                " " + "; ".join(f"{r['times']} × `{r['sql'][:50].replace('|', '/')}…`" for r in rep) + " |"
                if rep
                else " none |"
            )
            out.append(row)
    print("\n".join(out))


if __name__ == "__main__":
    main()
