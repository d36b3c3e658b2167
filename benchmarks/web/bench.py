#!/usr/bin/env python
"""HTTP latency and throughput of a running Radicado, as an agent uses it.

The method is the one of the django-helpdesk anchor (shared/peers/django-helpdesk),
so the numbers can stand side by side: httpx with keep-alive; the agent signs in
through the real login form (session cookie and CSRF token) and the API calls use
a Bearer token from POST /api/v1/auth/token; one client per concurrent worker
thread; for every scenario some warm-up requests (not recorded), then measured
requests. Latency is the wall time of one request including reading the whole
body; req/s is measured requests / wall time of the measured phase; percentiles
are nearest-rank. A scenario also stops when its measuring exceeds the budget,
and ``measured`` says how many requests were actually measured.

Only loopback targets are accepted. Writes a JSON file with one object per
scenario and concurrency.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx

Request = Callable[[httpx.Client, int], httpx.Response]


def pct(sorted_vals: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100 * len(sorted_vals)) - 1))
    return sorted_vals[k]


class Agent:
    """A signed-in agent: a session for the console and a token for the API."""

    def __init__(self, base: str, email: str, password: str, workspace: str) -> None:
        self.base = base
        c = self.new_client()
        r = c.get("/entrar/")
        r.raise_for_status()
        r = c.post(
            "/entrar/",
            data={
                "email": email,
                "password": password,
                "csrfmiddlewaretoken": c.cookies.get("csrftoken", ""),
                "next": f"/w/{workspace}/console/",
            },
        )
        if r.status_code != 302 or "sessionid" not in c.cookies:
            raise SystemExit(f"login failed: {r.status_code} {r.text[:300]}")
        self.cookies = dict(c.cookies.items())
        r = c.post(
            "/api/v1/auth/token", json={"email": email, "password": password, "workspace": workspace, "name": "bench"}
        )
        if r.status_code != 201:
            raise SystemExit(f"token failed: {r.status_code} {r.text[:300]}")
        self.token = r.json()["token"]
        c.close()

    def new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            timeout=httpx.Timeout(300.0),
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=1, max_connections=1),
        )

    def clone(self) -> httpx.Client:
        c = self.new_client()
        for k, v in self.cookies.items():
            c.cookies.set(k, v)
        return c

    @property
    def csrf(self) -> str:
        return self.cookies["csrftoken"]

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def run_scenario(
    agent: Agent,
    name: str,
    make_request: Request,
    expect: int,
    concurrency: int,
    n: int,
    warmup: int,
    budget_s: float,
    warmup_budget_s: float,
) -> dict[str, object]:
    clients = [agent.clone() for _ in range(concurrency)]
    lock = threading.Lock()
    state = {"next": 0}
    lat: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []

    def worker(client: httpx.Client, limit: int, deadline: float, record: bool) -> None:
        while True:
            with lock:
                i = state["next"]
                if i >= limit or time.perf_counter() > deadline:
                    return
                state["next"] += 1
            t = time.perf_counter()
            try:
                r = make_request(client, i)
                dt = time.perf_counter() - t
                ok, size, detail = r.status_code == expect, len(r.content), f"{r.status_code} {r.text[:200]!r}"
            except httpx.HTTPError as e:
                dt, ok, size, detail = time.perf_counter() - t, False, 0, repr(e)
            if record:
                with lock:
                    lat.append(dt)
                    sizes.append(size)
                    if not ok:
                        errors.append(detail)

    def phase(limit: int, budget: float, record: bool) -> float:
        state["next"] = 0
        deadline = time.perf_counter() + budget
        threads = [threading.Thread(target=worker, args=(c, limit, deadline, record)) for c in clients]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.perf_counter() - t0

    phase(warmup, warmup_budget_s, record=False)
    load_before = os.getloadavg()[0]
    wall = phase(n, budget_s, record=True)
    load_after = os.getloadavg()[0]
    for c in clients:
        c.close()
    s = sorted(lat)

    def ms(v: float | None) -> float | None:
        return round(v * 1000, 1) if v is not None else None

    res: dict[str, object] = {
        "scenario": name,
        "concurrency": concurrency,
        "requested": n,
        "measured": len(s),
        "errors": len(errors),
        "error_samples": errors[:3],
        "p50_ms": ms(pct(s, 50)),
        "p95_ms": ms(pct(s, 95)),
        "p99_ms": ms(pct(s, 99)),
        "mean_ms": ms(statistics.fmean(s)) if s else None,
        "max_ms": ms(s[-1]) if s else None,
        "rps": round(len(s) / wall, 2) if s else None,
        "wall_s": round(wall, 1),
        "resp_bytes_median": int(statistics.median(sizes)) if sizes else None,
        "stopped_by_budget": len(s) < n,
        # 1-minute load average of the machine around the measured phase: the client,
        # gunicorn and the database share its cores, and so does anything else running.
        "loadavg_1m": [round(load_before, 2), round(load_after, 2)],
    }
    print(json.dumps(res, ensure_ascii=False), flush=True)
    return res


def radicado_scenarios(agent: Agent, load: dict, search: str) -> list[tuple[str, Request, int, int]]:
    """(name, request(client, i), expected status, concurrency), in the order they run."""
    ws = load["workspace"]
    console = f"/w/{ws}/console"
    numbers = load["sample_ticket_numbers_with_messages"]
    contacts = load["sample_contact_ids"]
    customer = load["filter_customer_id"]
    htmx = {"HX-Request": "true"}
    c = agent.clone()
    first = c.get("/api/v1/tickets", params={"limit": 25}, headers=agent.bearer)
    first.raise_for_status()
    cursor = first.json()["next_cursor"]
    c.close()
    if not cursor:
        raise SystemExit("the first API page has no next_cursor; load more tickets")

    def rows(params: dict[str, str] | None = None) -> Request:
        return lambda cl, i: cl.get(f"{console}/filas/", params=params, headers=htmx)

    def create(cl: httpx.Client, i: int) -> httpx.Response:
        return cl.post(
            "/api/v1/tickets",
            headers=agent.bearer,
            json={
                "type": "incidente",
                "subject": f"No funciona la VPN corporativa ({i})",
                "description": "Buenos días, desde esta mañana no puedo conectarme a la VPN. "
                "Ya reinicié el equipo y el problema persiste. Gracias.",
                "requester_id": contacts[i % len(contacts)],
                "priority": "normal",
                "channel": "phone",
            },
        )

    def ticket(cl: httpx.Client, i: int) -> httpx.Response:
        return cl.get(f"{console}/t/{numbers[i % len(numbers)]}/")

    return [
        ("queue_rows", rows(), 200, 1),
        ("queue_rows_priority", rows({"priority": "alta"}), 200, 1),
        ("queue_rows_customer", rows({"customer": str(customer)}), 200, 1),
        ("queue_rows_page2", rows({"offset": "50"}), 200, 1),
        ("queue_search", rows({"status": "all", "q": search}), 200, 1),
        ("queue_page", lambda cl, i: cl.get(f"{console}/"), 200, 1),
        ("ticket_view", ticket, 200, 1),
        ("api_list", lambda cl, i: cl.get("/api/v1/tickets", params={"limit": 25}, headers=agent.bearer), 200, 1),
        (
            "api_list_cursor",
            lambda cl, i: cl.get("/api/v1/tickets", params={"limit": 25, "cursor": cursor}, headers=agent.bearer),
            200,
            1,
        ),
        ("api_create", create, 201, 1),
        ("api_create", create, 201, 8),
        ("queue_rows", rows(), 200, 8),
        ("ticket_view", ticket, 200, 8),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--load-json", required=True, help="summary written by load.py")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--budget", type=float, default=150.0, help="max seconds of measuring per scenario")
    ap.add_argument("--warmup-budget", type=float, default=60.0)
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--search", default="impresora", help="keyword for the search scenario")
    args = ap.parse_args()

    if urlparse(args.base).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("refusing a non-loopback target")
    load = json.loads(Path(args.load_json).read_text(encoding="utf-8"))
    agent = Agent(args.base, load["agents"][0], load["agent_password"], load["workspace"])
    only = set(filter(None, args.only.split(",")))
    results = []
    for name, fn, expect, conc in radicado_scenarios(agent, load, args.search):
        if only and name not in only:
            continue
        results.append(
            run_scenario(agent, name, fn, expect, conc, args.n, args.warmup, args.budget, args.warmup_budget)
        )
    Path(args.out).write_text(
        json.dumps(
            {
                "target": "radicado",
                "base": args.base,
                "n": args.n,
                "warmup": args.warmup,
                "budget_s": args.budget,
                "results": results,
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
