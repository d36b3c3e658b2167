#!/usr/bin/env python
"""Count SQL statements per request for the benchmarked pages, in-process.

Django's test Client, signed in as the benchmark's agent (the API with a Bearer
token), and a ``connection.execute_wrapper`` that counts every statement: no
DEBUG needed and no cap as with ``connection.queries``. Statements with the same
text once literals are stripped are grouped, so an N+1 loop shows as one shape
repeated N times. Each page is requested with two sizes (page 1 vs page 2, or
25 vs 50 rows) so that one can see the count does not grow with the rows.

With --explain on PostgreSQL it also writes EXPLAIN (ANALYZE, BUFFERS) of the
slowest statement of every page.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

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


def shape(sql: str) -> str:
    return LITERALS.sub("?", sql)


class Counting:
    def __init__(self) -> None:
        self.shapes: Counter[str] = Counter()
        self.total = 0
        self.slowest: tuple[float, str, Any] = (0.0, "", None)

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.total += 1
        self.shapes[shape(sql)] += 1
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            dt = time.perf_counter() - t
            if dt > self.slowest[0]:
                self.slowest = (dt, sql, params)


def measure(
    client: Client, method: str, url: str, rows_re: str | None = None, **kw: Any
) -> tuple[dict[str, Any], Any, tuple[float, str, Any]]:
    counter = Counting()
    with connection.execute_wrapper(counter):
        t = time.perf_counter()
        resp = getattr(client, method)(url, **kw)
        elapsed = time.perf_counter() - t
    body = resp.content.decode()
    rows = None
    if rows_re:
        rows = len(re.findall(rows_re, body))
    elif resp.get("Content-Type", "").startswith("application/json"):
        data = json.loads(body)
        rows = len(data["items"]) if isinstance(data, dict) and "items" in data else None
    top = [{"times": n, "sql": s[:160]} for s, n in counter.shapes.most_common(3) if n > 1]
    return (
        {
            "url": url,
            "status": resp.status_code,
            "rows": rows,
            "queries": counter.total,
            "seconds": round(elapsed, 4),
            "repeated": top,
            "slowest_sql_ms": round(counter.slowest[0] * 1000, 2),
            "slowest_sql": shape(counter.slowest[1])[:600],
        },
        resp,
        counter.slowest,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--load-json", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--explain", default=None, help="write EXPLAIN ANALYZE of each page's slowest statement here")
    args = ap.parse_args()
    load = json.loads(Path(args.load_json).read_text(encoding="utf-8"))
    ws = Workspace.objects.get(slug=load["workspace"])
    user = User.objects.get(email=load["agents"][0])
    _, token = issue_api_token(workspace=ws, user=user, name="count", now=timezone.now())
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    console = f"/w/{ws.slug}/console"
    row = r'<tr class="prio-'
    c = Client()
    c.force_login(user)
    # Warm the process (templates, first connection, the token's last_used_at) before counting.
    c.get(f"{console}/")
    c.get("/api/v1/tickets?limit=1", **bearer)
    customer = load["filter_customer_id"]
    number = load["sample_ticket_numbers_with_messages"][0]

    pages: dict[str, dict[str, Any]] = {}
    slow: dict[str, tuple[float, str, Any]] = {}

    def page(name: str, method: str, url: str, rows_re: str | None = None, **kw: Any) -> Any:
        pages[name], resp, slow[name] = measure(c, method, url, rows_re, **kw)
        return resp

    htmx = {"HTTP_HX_REQUEST": "true"}
    page("queue_rows p1 (50 rows)", "get", f"{console}/filas/", row, **htmx)
    page("queue_rows p2 (offset 50)", "get", f"{console}/filas/?offset=50", row, **htmx)
    page("queue_rows priority=alta", "get", f"{console}/filas/?priority=alta", row, **htmx)
    page("queue_rows customer", "get", f"{console}/filas/?customer={customer}", row, **htmx)
    page("queue_search status=all q=impresora", "get", f"{console}/filas/?status=all&q=impresora", row, **htmx)
    page("queue_page (full HTML)", "get", f"{console}/", row)
    page("ticket_view (3 messages)", "get", f"{console}/t/{number}/")
    r = page("api_list limit=25", "get", "/api/v1/tickets?limit=25", **bearer)
    page("api_list limit=50", "get", "/api/v1/tickets?limit=50", **bearer)
    page("api_list cursor page (25)", "get", f"/api/v1/tickets?limit=25&cursor={r.json()['next_cursor']}", **bearer)
    create_shapes: list[dict[str, Any]] = []
    for name, contact in (
        ("api_create", load["sample_contact_ids"][0]),
        ("api_create (2nd)", load["sample_contact_ids"][1]),
    ):
        counter = Counting()
        with connection.execute_wrapper(counter):
            page(
                name,
                "post",
                "/api/v1/tickets",
                content_type="application/json",
                data={
                    "type": "incidente",
                    "subject": "Conteo de consultas",
                    "description": "Creado por count_queries.py",
                    "requester_id": contact,
                    "priority": "normal",
                    "channel": "phone",
                },
                **bearer,
            )
        if name == "api_create (2nd)":
            # Every statement of a steady-state create, in order of first appearance, with its count.
            create_shapes = [{"times": n, "sql": s[:300]} for s, n in counter.shapes.items()]
    out = {"db": connection.vendor, "pages": pages, "api_create_statements": create_shapes}
    print(json.dumps(out, indent=1, ensure_ascii=False))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.explain and connection.vendor == "postgresql":
        parts = []
        with connection.cursor() as cur:
            for name, (dt, sql, params) in slow.items():
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
                parts.append(
                    f"## {name}: slowest statement {dt * 1000:.2f} ms in the request\n\n{shape(sql)}\n\n{plan}\n"
                )
        Path(args.explain).write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
