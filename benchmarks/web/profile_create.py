#!/usr/bin/env python
"""Where the time of one API create goes, in-process, against the loaded database.

Django's test Client with the benchmark agent's Bearer token (the whole middleware
stack and the API view, no HTTP server), after ``--warmup`` creates:

1. ``--n`` creates without a profiler: wall time per create, the time spent inside
   SQL statements (``connection.execute_wrapper``, client side: round trip + server),
   per statement shape, and the time spent committing (``connection.commit``);
2. ``--n`` creates under cProfile: the functions with the most cumulative and own time.

Nothing here is a latency measurement of the server (bench.py is): it splits one
request's CPU and database time so that one knows what to cut. Run by run.sh when
PROFILE=1 (after count_queries.py, against the same database); writes a text report.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from radicado.workspaces.actions import issue_api_token  # noqa: E402
from radicado.workspaces.models import User, Workspace  # noqa: E402

LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+\b")


def label(sql: str) -> str:
    """A short name of a statement: its verb and first table (and the WHERE columns of a SELECT)."""
    s = LITERALS.sub("?", sql)
    verb = s.split(None, 1)[0].upper()
    if verb == "SELECT":
        m = re.search(r'FROM\s+"(\w+)"', s)
        where = re.findall(r'"\w+"\."(\w+)" (?:=|IN|<=|>=)', s.split("WHERE", 1)[1]) if "WHERE" in s else []
        return f"SELECT {m.group(1) if m else '?'} by {','.join(where) or '-'}"
    m = re.search(r'(?:INTO|UPDATE|FROM)\s+"(\w+)"', s)
    return f"{verb} {m.group(1) if m else '?'}"


class Timing:
    def __init__(self) -> None:
        self.by_label: dict[str, list[float]] = defaultdict(list)
        self.total = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            dt = time.perf_counter() - t
            self.total += dt
            self.count += 1
            self.by_label[label(sql)].append(dt)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--load-json", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--out", required=True, help="text report")
    ap.add_argument("--pstats", default=None, help="also dump the raw cProfile stats here")
    args = ap.parse_args()
    load = json.loads(Path(args.load_json).read_text(encoding="utf-8"))
    ws = Workspace.objects.get(slug=load["workspace"])
    user = User.objects.get(email=load["agents"][0])
    _, token = issue_api_token(workspace=ws, user=user, name="profile", now=timezone.now())
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    contacts = load["sample_contact_ids"]
    c = Client()

    def create(i: int) -> None:
        r = c.post(
            "/api/v1/tickets",
            content_type="application/json",
            data={
                "type": "incidente",
                "subject": f"No funciona la VPN corporativa ({i})",
                "description": "Buenos días, desde esta mañana no puedo conectarme a la VPN. "
                "Ya reinicié el equipo y el problema persiste. Gracias.",
                "requester_id": contacts[i % len(contacts)],
                "priority": "normal",
                "channel": "phone",
            },
            **bearer,
        )
        if r.status_code != 201:
            raise SystemExit(f"create failed: {r.status_code} {r.content[:300]!r}")

    for i in range(args.warmup):
        create(i)

    # 1. Plain: wall, SQL, commit.
    timing = Timing()
    commit_s: list[float] = []
    real_commit = connection.commit

    def timed_commit() -> None:
        t = time.perf_counter()
        try:
            real_commit()
        finally:
            commit_s.append(time.perf_counter() - t)

    walls = []
    connection.commit = timed_commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(timing):
            for i in range(args.n):
                t = time.perf_counter()
                create(1000 + i)
                walls.append(time.perf_counter() - t)
    finally:
        del connection.commit  # back to the class's method
    n = len(walls)
    lines = [
        f"# API create in-process, {connection.vendor}, {n} creates after {args.warmup} warm-up",
        "",
        f"wall per create: mean {statistics.fmean(walls) * 1000:.2f} ms, "
        f"median {statistics.median(walls) * 1000:.2f} ms, max {max(walls) * 1000:.2f} ms",
        f"SQL statements: {timing.count / n:.1f} per create, {timing.total / n * 1000:.2f} ms per create "
        f"({timing.total / sum(walls) * 100:.0f} % of the wall time)",
        f"commit: {len(commit_s) / n:.1f} per create, {sum(commit_s) / n * 1000:.2f} ms per create",
        f"rest (Python, outside SQL and commit): {(sum(walls) - timing.total - sum(commit_s)) / n * 1000:.2f} ms",
        "",
        "| statement | per create | ms per create | mean ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, ts in sorted(timing.by_label.items(), key=lambda kv: -sum(kv[1])):
        lines.append(
            f"| {name} | {len(ts) / n:.1f} | {sum(ts) / n * 1000:.3f} | {statistics.fmean(ts) * 1000:.3f} "
            f"| {max(ts) * 1000:.2f} |"
        )

    # 2. cProfile.
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for i in range(args.n):
        create(5000 + i)
    prof.disable()
    wall_prof = time.perf_counter() - t
    if args.pstats:
        prof.dump_stats(args.pstats)
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        buf = io.StringIO()
        st = pstats.Stats(prof, stream=buf)
        st.sort_stats(key).print_stats(45)
        lines += [
            "",
            f"## cProfile, {args.n} creates ({wall_prof / args.n * 1000:.2f} ms each under the profiler), by {title}",
            "",
            "```",
            buf.getvalue().split("\n", 6)[-1].rstrip() if buf.getvalue() else "",
            "```",
        ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print("\n".join(lines[: 12 + len(timing.by_label)]))


if __name__ == "__main__":
    main()
