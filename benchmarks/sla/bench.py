#!/usr/bin/env python
"""The ANS sweep at N open tickets: 1,000 clocks due, the rest due later.

This is a BENCHMARK, not product code. It loads N open tickets into an empty database
(COPY on PostgreSQL, executemany on SQLite: the rows that ``create_ticket`` and
earlier sweeps would have written), then times the real
``radicado.tickets.sla.sweep_clocks(now=NOW, limit=1000)``, which writes real
TicketEvents and NotificationRequests. The claim under test: the sweep's cost depends
on what is due, not on how many clocks are open (docs/subsystems/sla.md).

What is loaded (workspace "ans", profile ans-escalonado: tiers x priorities ->
first-response targets of 1-12 business hours on the Bogotá split-shift calendar):

* 300 customers (100 per tier: VIP, regular, no contract) with 3 contacts each, made
  with the customer actions; 4 agents;
* N tickets, each ``category`` = its state's category (80 % nuevo/new, 20 %
  en_curso/open, assigned), ``priority_rank`` = its priority's rank, a priority the
  customer's tier allows, ``customer`` = its requester's customer, numbers 1..N in
  order of arrival; the timeline each would have: ``created``, and for the open ones
  ``assigned`` and ``transitioned``;
* one first-response clock per ticket, the target that ``select_targets`` picks for its
  tier and priority; ``due_at``, ``warn_at`` and escalation instants from the
  businesstime bulk API (``Calendar.add_many``), started when the ticket was created;
* a sweeper that ran every minute up to NOW - 60 s: every warning or escalation
  scheduled before that has fired (``warned_at`` / ``levels_fired`` set, with its
  ``sla_*`` TicketEvent and NotificationRequest, same idempotency key as the app's);
  ``next_sla_event_at`` is the earliest event still pending;
* exactly ``--due`` clocks (default 1,000) have ``next_sla_event_at`` in the last
  minute before NOW (about half a warning, half a breach; a VIP/alta breach also
  reaches escalation level II, so 1,000 clocks make about 1,030 firings), the same
  1,000 at every N (their own seeded generator); all other clocks are due after NOW.

A sample of the loaded rows is checked against the app's own code (``_schedule``,
``_due_firings``, ``select_targets``, ``facts_of``) before anything is timed.

Two commands, so that run.sh can alternate between databases of different sizes:

``bench.py load --open N`` loads, runs VACUUM ANALYZE and a CHECKPOINT, validates, and
keeps the due clocks' state in two benchmark-only tables (``bench_armed``,
``bench_marks``). Prints the load's JSON.

``bench.py sweep`` puts the due clocks back as loaded (and deletes the rows earlier
sweeps wrote, then VACUUM and CHECKPOINT on PostgreSQL; none of it timed), sweeps a few
of them untimed to warm this process up, then times ``--repeat`` sweeps of all of them
(re-armed between): wall time, this process's CPU time, the PostgreSQL backend's CPU
time (/proc), and every SQL statement sent (``connection.execute_wrapper``), grouped.
Then the EXPLAIN (ANALYZE, BUFFERS) of the due-clock query exactly as the sweep sent it,
and ``--empty-repeat`` sweeps with nothing due. Prints the JSON of the sweeps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from copy import copy
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management.color import no_style  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402

from radicado.customers.actions import create_contact, create_customer  # noqa: E402
from radicado.customers.models import Contact, Customer  # noqa: E402
from radicado.notifications.models import NotificationRequest  # noqa: E402
from radicado.sla import clocks as sla_clocks  # noqa: E402
from radicado.sla.models import Clock, ClockState, Target, TargetKind, TargetUnit  # noqa: E402
from radicado.sla.rules import TicketFacts, compiled, select_targets, tier_for  # noqa: E402
from radicado.tickets.models import (  # noqa: E402
    PUBLIC_EVENT_KINDS,
    EventKind,
    Priority,
    Ticket,
    TicketEvent,
    TicketSequence,
    TicketType,
    WorkflowState,
)
from radicado.tickets.profiles import install_profile, load_profile  # noqa: E402
from radicado.tickets.sla import DEFAULT_AUDIENCE, facts_of, sweep_clocks  # noqa: E402
from radicado.workspaces.actions import add_member, create_workspace, ensure_user  # noqa: E402
from radicado.workspaces.models import Level, Membership, Role  # noqa: E402

BOG = ZoneInfo("America/Bogota")
UTC = dt.UTC
# Thursday 19 Nov 2026, 15:00 in Bogotá: an open minute of an ordinary business day.
NOW = dt.datetime(2026, 11, 19, 15, 0, tzinfo=BOG)
NOW_S = int(NOW.timestamp())
SETUP_AT = NOW - dt.timedelta(days=60)
KIND = TargetKind.FIRST_RESPONSE.value

CONTRACTS = {"vip": 4_500_000, "regular": 2_000_000, "flotante": None}  # COP a month; 2026 SMLMV 1,750,905
PRIORITY_WEIGHT = {"alta": 2, "media": 5, "baja": 3}
CHANNELS = ["email", "phone", "whatsapp", "api"]
CHANNEL_WEIGHT = [50, 30, 15, 5]
OPEN_SHARE = 0.20  # tickets in en_curso (assigned); the rest are nuevo
SUBJECTS = [
    f"{a} {b}"
    for a in (
        "No puedo entrar a",
        "Error al facturar en",
        "Solicito acceso a",
        "Lentitud en",
        "Intermitencia en",
        "Restablecer contraseña de",
        "No llegan correos de",
        "Duda sobre",
    )
    for b in ("SAP", "el portal", "el ERP", "la nómina", "el CRM", "la VPN", "el correo", "inventarios", "la intranet")
]
SENTENCES = [
    "Buenas tardes, desde hoy temprano no funciona.",
    "Ya reinicié el equipo dos veces y sigue igual.",
    "Les envío la captura de pantalla del error.",
    "Esto tiene detenido al equipo de contabilidad; agradezco prioridad.",
    "¿Me confirman si es una falla general o solo de mi usuario?",
    "Tenemos un cliente esperando respuesta hoy mismo.",
    "Quedo pendiente de su respuesta, gracias.",
]


# --------------------------------------------------------------------------- setup


def setup_workspace() -> dict[str, Any]:
    """The workspace, its profile, agents, customers and contacts, through the actions."""
    with transaction.atomic():
        ws = create_workspace(
            slug="ans", name="ANS bench", ticket_prefix="ANS", timezone="America/Bogota", now=SETUP_AT
        )
        install_profile(workspace=ws, profile=load_profile("ans-escalonado"), now=SETUP_AT)
        agents: list[Membership] = []
        for i, name in enumerate(("Ana Pérez", "Luis Gómez", "Marta Ríos", "Iván Castro")):
            user = ensure_user(email=f"agente{i + 1}@example.com", name=name, password="bench-pass-1")
            agents.append(add_member(workspace=ws, user=user, role=Role.AGENT, level=Level.N1, now=SETUP_AT))
        customers: list[Customer] = []
        contacts: list[list[Contact]] = []
        for i in range(300):
            tier = list(CONTRACTS)[i % 3]
            value = CONTRACTS[tier]
            c = create_customer(
                workspace=ws,
                code=f"cliente-{i + 1:03d}",
                name=f"Cliente {i + 1} S.A.S.",
                contract_value=None if value is None else Decimal(value),
                now=SETUP_AT,
            )
            customers.append(c)
            contacts.append(
                [
                    create_contact(
                        customer=c, name=f"Contacto {i + 1}-{k}", email=f"c{i + 1}.{k}@cliente.example", now=SETUP_AT
                    )
                    for k in range(3)
                ]
            )
    states = {s.code: s for s in WorkflowState.objects.filter(workspace=ws)}
    priorities = {p.code: p for p in Priority.objects.filter(workspace=ws)}
    types = list(TicketType.objects.filter(workspace=ws).order_by("id"))
    users = {m.id: m.user for m in Membership.objects.filter(id__in=[a.id for a in agents]).select_related("user")}

    # Each customer's tier and, per (tier, priority), the target the app's rules select.
    tiers = {}
    for c in customers:
        tier = tier_for(workspace_id=ws.id, contract_value=c.contract_value, on=NOW.date())
        assert tier is not None, c.code
        tiers[c.id] = tier
    combos: list[dict[str, Any]] = []
    combo_of: dict[tuple[str, str], int] = {}
    for tier in sorted({t.code: t for t in tiers.values()}.values(), key=lambda t: t.code):
        allowed = [p for p in priorities if not tier.allowed_priorities or p in tier.allowed_priorities]
        for pcode in allowed:
            facts = TicketFacts(
                workspace_id=ws.id,
                ticket_id=0,
                created_at=NOW,
                category="new",
                ticket_type=types[0].code,
                priority=pcode,
                channel="email",
                customer_code="x",
                contract_value=None,
                in_arrears=False,
            )
            chosen = select_targets(facts, tier.code)
            if set(chosen) != {KIND}:
                raise SystemExit(f"expected one {KIND} target for {tier.code}/{pcode}, got {sorted(chosen)}")
            combo_of[(tier.code, pcode)] = len(combos)
            combos.append({"tier": tier, "priority": priorities[pcode], "target": chosen[KIND]})
    return {
        "ws": ws,
        "agents": agents,
        "users": users,
        "customers": customers,
        "contacts": contacts,
        "tiers": tiers,
        "states": states,
        "priorities": priorities,
        "types": types,
        "combos": combos,
        "combo_of": combo_of,
    }


# ------------------------------------------------------------------ clock schedules


class Schedule:
    """A target's instants in bulk: business seconds after a start, as the app computes them."""

    def __init__(self, target: Target, interval: int) -> None:
        unit = target.unit
        if unit == TargetUnit.DAYS:
            raise SystemExit("business-day targets are not supported by this loader")
        self.target = target
        self.cal = compiled(target.calendar)
        self.calendar_time = unit in (TargetUnit.CALENDAR_MINUTES, TargetUnit.CALENDAR_HOURS)
        per = 3600 if unit in (TargetUnit.HOURS, TargetUnit.CALENDAR_HOURS) else 60
        amount = float(target.amount)
        self.due_s = _whole(amount * per)
        self.warn_s = _whole(amount * target.warn_percent / 100 * per) if target.warn_percent else None
        self.esc_s = [_whole(float(step["after_minutes"]) * 60) for step in target.escalations]
        self.interval = interval
        # Open (or, 24x7, real) seconds in [NOW - w, NOW) on a one-minute grid of w, for spans.
        self.grid = np.arange(0, 120 * 86400, 60, dtype=np.int64)
        starts = NOW_S - self.grid
        self.open_before_now = self.grid.copy() if self.calendar_time else self.cal.elapsed_many(starts, NOW_S)

    def add(self, starts: np.ndarray, seconds: int) -> np.ndarray:
        if self.calendar_time:
            return starts + seconds
        return self.cal.add_many(starts, seconds)

    def add_esc(self, starts: np.ndarray, seconds: int) -> np.ndarray:
        # _offset_at counts escalations on the target's kind of time (24x7 or business).
        return self.add(starts, seconds)

    def span(self, open_seconds: int) -> int:
        """The smallest w (whole minutes) with open_seconds of open time in [NOW - w, NOW)."""
        i = int(np.searchsorted(self.open_before_now, open_seconds, side="left"))
        if i >= self.grid.size:
            raise SystemExit("target longer than the span grid")
        return int(self.grid[i])

    def state(self, starts: np.ndarray) -> dict[str, np.ndarray]:
        """The clock as a sweeper running every ``interval`` seconds up to NOW - interval left it."""
        last = NOW_S - self.interval
        due = self.add(starts, self.due_s)
        n = starts.size
        warn = self.add(starts, self.warn_s) if self.warn_s is not None else np.full(n, -1, np.int64)
        has_warn = warn >= 0
        warned = has_warn & (warn <= last) & (due > last)
        esc = [self.add_esc(starts, s) for s in self.esc_s]
        levels = np.zeros(n, np.int64)
        blocked = np.zeros(n, bool)
        for at in esc:  # steps fire in order: a level fires only after the one before it
            fired = ~blocked & (at <= last)
            levels += fired
            blocked |= ~fired
        big = np.iinfo(np.int64).max
        nxt = np.where(due > last, due, big)
        nxt = np.minimum(nxt, np.where(has_warn & ~warned & (due > last), warn, big))
        for k, at in enumerate(esc):
            nxt = np.minimum(nxt, np.where(levels == k, at, big))
        return {
            "due": due,
            "warn": warn,
            "has_warn": has_warn,
            "warned": warned,
            "levels": levels,
            "next": nxt,
            "esc": esc,
        }


def _whole(seconds: float) -> int:
    if abs(seconds - round(seconds)) > 1e-6:
        raise SystemExit(f"target of {seconds} s is not whole seconds")
    return round(seconds)


def sample_starts(
    rng: np.random.Generator, sched: Schedule, n: int, lo_w: int, hi_w: int, accept: Callable[[dict], np.ndarray]
) -> np.ndarray:
    """n starts NOW - w, w uniform in [lo_w, hi_w), whose state passes ``accept`` (rejection)."""
    out = np.empty(0, np.int64)
    for _ in range(200):
        need = n - out.size
        if need <= 0:
            break
        w = rng.integers(lo_w, max(hi_w, lo_w + 1), size=max(2 * need, 16))
        starts = NOW_S - w
        ok = accept(sched.state(starts))
        out = np.concatenate([out, starts[ok][:need]])
    if out.size < n:
        raise SystemExit("could not sample starts for a target (window too narrow?)")
    return out


# --------------------------------------------------------------------------- plan


def plan(env: dict[str, Any], n_open: int, n_due: int, seed: int, interval: int) -> dict[str, Any]:
    """Every ticket's attributes and its clock, as numpy arrays sorted by arrival."""
    if n_due > n_open:
        raise SystemExit("--due cannot exceed --open")
    combos = env["combos"]
    scheds = [Schedule(c["target"], interval) for c in combos]
    cust_ids = np.array([c.id for c in env["customers"]], np.int64)
    cust_combo_weights = []
    for c in env["customers"]:
        tier = env["tiers"][c.id].code
        w = np.zeros(len(combos))
        for (tc, pc), k in env["combo_of"].items():
            if tc == tier:
                w[k] = PRIORITY_WEIGHT.get(pc, 1)
        cust_combo_weights.append(w / w.sum())

    def attrs(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        cust = rng.integers(0, len(cust_ids), size=n)
        u = rng.random(n)
        cum = np.cumsum(np.array(cust_combo_weights), axis=1)[cust]
        combo = (u[:, None] > cum).sum(axis=1)
        return {
            "cust": cust,
            "combo": combo,
            "contact": rng.integers(0, 3, size=n),
            "type": rng.integers(0, len(env["types"]), size=n),
            "channel": rng.choice(len(CHANNELS), size=n, p=np.array(CHANNEL_WEIGHT) / sum(CHANNEL_WEIGHT)),
            "open": rng.random(n) < OPEN_SHARE,
            "agent": rng.integers(0, len(env["agents"]), size=n),
            "creator": rng.integers(0, len(env["agents"]), size=n),
            "subject": rng.integers(0, len(SUBJECTS), size=n),
            "desc": rng.integers(0, 64, size=n),
            "step1": rng.integers(1, 20 * 60, size=n),  # assigned after the arrival
            "step2": rng.integers(1, 20 * 60, size=n),  # then in progress
        }

    # The clocks due now: their own generator, so the same 1,000 (and the same work) at every N.
    rng_due = np.random.default_rng([seed, 1])
    due = attrs(rng_due, n_due)
    due["start"] = np.zeros(n_due, np.int64)
    due_breach = rng_due.random(n_due) < 0.5
    for k, s in enumerate(scheds):
        for breach in (False, True):
            idx = np.flatnonzero((due["combo"] == k) & (due_breach == breach))
            if not idx.size:
                continue
            if breach or s.warn_s is None:  # due_at in the last minute
                lo, hi = s.span(s.due_s), s.span(s.due_s + interval)
            else:  # warn_at in the last minute
                lo, hi = s.span(s.warn_s), s.span(s.warn_s + interval)
            due["start"][idx] = sample_starts(
                rng_due, s, idx.size, lo, hi, lambda st: (st["next"] <= NOW_S) & (st["next"] > NOW_S - interval)
            )
    rest = attrs(np.random.default_rng([seed, 2]), n_open - n_due)
    rest["start"] = np.zeros(n_open - n_due, np.int64)
    rng = np.random.default_rng([seed, 3])
    for k, s in enumerate(scheds):
        idx = np.flatnonzero(rest["combo"] == k)
        if idx.size:  # started up to one target ago, and nothing pending before NOW
            rest["start"][idx] = sample_starts(rng, s, idx.size, 1, s.span(s.due_s), lambda st: st["next"] > NOW_S)

    t = {key: np.concatenate([due[key], rest[key]]) for key in due}
    t["is_due"] = np.concatenate([np.ones(n_due, bool), np.zeros(n_open - n_due, bool)])
    order = np.argsort(t["start"], kind="stable")  # numbers in order of arrival
    t = {key: v[order] for key, v in t.items()}
    t["cust_id"] = cust_ids[t["cust"]]
    # Clock schedules, per target.
    n = n_open
    t["due_at"] = np.zeros(n, np.int64)
    t["warn_at"] = np.full(n, -1, np.int64)
    t["warned"] = np.zeros(n, bool)
    t["levels"] = np.zeros(n, np.int64)
    t["next"] = np.zeros(n, np.int64)
    esc_rows: list[tuple[np.ndarray, int, int, np.ndarray]] = []  # (positions, combo, step, instants)
    for k, s in enumerate(scheds):
        idx = np.flatnonzero(t["combo"] == k)
        if not idx.size:
            continue
        st = s.state(t["start"][idx])
        t["due_at"][idx] = st["due"]
        t["warn_at"][idx] = st["warn"]
        t["warned"][idx] = st["warned"]
        t["levels"][idx] = st["levels"]
        t["next"][idx] = st["next"]
        for step, at in enumerate(st["esc"]):
            fired = st["levels"] > step
            esc_rows.append((idx[fired], k, step, at[fired]))
    t["esc_rows"] = esc_rows
    assert int((t["next"] <= NOW_S).sum()) == n_due, "due count"
    assert bool(np.all(t["next"][~t["is_due"]] > NOW_S))
    assert bool(np.all(t["due_at"] > NOW_S - interval)), "no clock was already breached"
    # The open tickets' steps happen after the arrival and before NOW.
    t["assigned_at"] = np.minimum(t["start"] + t["step1"], np.maximum(t["start"], NOW_S - 2))
    t["progress_at"] = np.minimum(t["assigned_at"] + t["step2"], np.maximum(t["assigned_at"], NOW_S - 1))
    return t


# --------------------------------------------------------------------------- loading


class Ints:
    def __init__(self, values: np.ndarray, null: np.ndarray | None = None) -> None:
        self.values, self.null = np.asarray(values, np.int64), null


class Stamps:
    """Epoch seconds; NULL where ``null``."""

    def __init__(self, values: np.ndarray, null: np.ndarray | None = None) -> None:
        self.values, self.null = np.asarray(values, np.int64), null


class Pool:
    """Row i has values[codes[i]] (a few distinct values, rendered once)."""

    def __init__(self, codes: np.ndarray, values: Sequence[Any]) -> None:
        self.codes, self.values = np.asarray(codes, np.int64), list(values)


class Strs:
    def __init__(self, values: Sequence[str | None]) -> None:
        self.values = values


_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _scalar(value: Any, pg: bool) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value)
    if not pg:
        return int(value) if isinstance(value, bool) else value
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    return str(value).translate(_ESC)


def _render(col: Any, lo: int, hi: int, pg: bool) -> list[Any]:
    n = hi - lo
    if isinstance(col, Ints):
        out = col.values[lo:hi].tolist() if not pg else col.values[lo:hi].astype(str).tolist()
    elif isinstance(col, Stamps):
        s = np.datetime_as_string(col.values[lo:hi].astype("datetime64[s]"), unit="s")
        s = np.char.add(s, "Z") if pg else np.char.replace(s, "T", " ")  # Django's SQLite text form
        out = s.tolist()
    elif isinstance(col, Pool):
        rendered = [_scalar(v, pg) for v in col.values]
        return [rendered[i] for i in col.codes[lo:hi].tolist()]
    elif isinstance(col, Strs):
        return [_scalar(v, pg) for v in col.values[lo:hi]]
    else:
        return [_scalar(col, pg)] * n
    null = getattr(col, "null", None)
    if null is not None:
        nil = "\\N" if pg else None
        for i in np.flatnonzero(null[lo:hi]).tolist():
            out[i] = nil
    return out


def insert(model: type[models.Model], n: int, cols: dict[str, Any], chunk: int = 100_000) -> None:
    """Insert n rows: COPY on PostgreSQL, executemany elsewhere. Columns not given get their defaults."""
    specs: list[tuple[str, Any]] = []
    for f in model._meta.concrete_fields:
        if f.attname in cols:
            specs.append((f.column, cols.pop(f.attname)))
        elif f.primary_key:
            continue
        else:
            default = f.get_default()
            if default is None and not f.null:
                raise SystemExit(f"{model.__name__}.{f.attname} needs a value in benchmarks/sla/bench.py")
            specs.append((f.column, default))
    if cols:
        raise SystemExit(f"{model.__name__}: unknown fields {sorted(cols)}")
    table = model._meta.db_table
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c, _ in specs)
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            columns = [_render(col, lo, hi, pg) for _, col in specs]
            if pg:
                text = "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"
                with cur.cursor.copy(f"COPY {qn(table)} ({names}) FROM STDIN") as cp:
                    cp.write(text.encode())
            else:
                marks = ", ".join(["%s"] * len(specs))
                cur.executemany(f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})", list(zip(*columns, strict=True)))


def iso_utc(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, UTC).isoformat()


def iso_bog(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, UTC).astimezone(BOG).isoformat()


def load(env: dict[str, Any], t: dict[str, np.ndarray], interval: int) -> dict[str, Any]:
    """Write the planned tickets, clocks, timelines and earlier notifications; return counts."""
    ws, combos, states = env["ws"], env["combos"], env["states"]
    n = t["start"].size
    base = (Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    cbase = (Clock.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    ticket_ids = base + np.arange(n, dtype=np.int64)
    clock_ids = cbase + np.arange(n, dtype=np.int64)
    agents = env["agents"]
    agent_user_ids = np.array([env["users"][a.id].id for a in agents], np.int64)
    agent_names = [env["users"][a.id].name for a in agents]
    agent_member_ids = np.array([a.id for a in agents], np.int64)
    contact_ids = np.array([[c.id for c in row] for row in env["contacts"]], np.int64)
    combo_priority_id = np.array([c["priority"].id for c in combos], np.int64)
    combo_rank = np.array([c["priority"].rank for c in combos], np.int64)
    combo_target = np.array([c["target"].id for c in combos], np.int64)
    combo_calendar = np.array([c["target"].calendar_id for c in combos], np.int64)
    nuevo, en_curso = states["nuevo"], states["en_curso"]
    is_open = t["open"]
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}

    with transaction.atomic():
        t0 = time.perf_counter()
        insert(
            Ticket,
            n,
            {
                "id": Ints(ticket_ids),
                "workspace_id": ws.id,
                "number": Ints(np.arange(1, n + 1)),
                "type_id": Ints(np.array([x.id for x in env["types"]])[t["type"]]),
                "priority_id": Ints(combo_priority_id[t["combo"]]),
                "state_id": Ints(np.where(is_open, en_curso.id, nuevo.id)),
                "priority_rank": Ints(combo_rank[t["combo"]]),
                "category": Pool(is_open.astype(int), [nuevo.category, en_curso.category]),
                "channel": Pool(t["channel"], CHANNELS),
                "customer_id": Ints(t["cust_id"]),
                "requester_id": Ints(contact_ids[t["cust"], t["contact"]]),
                "assignee_id": Ints(agent_member_ids[t["agent"]], null=~is_open),
                "level": Level.N1.value,
                "subject": Pool(t["subject"], SUBJECTS),
                "description": Pool(
                    t["desc"],
                    [" ".join(SENTENCES[(k + j) % len(SENTENCES)] for j in range(2 + k % 4)) for k in range(64)],
                ),
                "created_by_id": Ints(agent_user_ids[t["creator"]]),
                "created_at": Stamps(t["start"]),
                "updated_at": Stamps(np.where(is_open, t["progress_at"], t["start"])),
                "resolved_at": None,
                "closed_at": None,
            },
        )
        TicketSequence.objects.update_or_create(workspace=ws, defaults={"last_number": n})
        counts["tickets"] = n
        timings["tickets_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        explanations = [{"tier": c["tier"].code, "tier_name": c["tier"].name_es} for c in combos]
        insert(
            Clock,
            n,
            {
                "id": Ints(clock_ids),
                "workspace_id": ws.id,
                "ticket_id": Ints(ticket_ids),
                "kind": KIND,
                "target_id": Ints(combo_target[t["combo"]]),
                "calendar_id": Ints(combo_calendar[t["combo"]]),
                "state": ClockState.RUNNING.value,
                "started_at": Stamps(t["start"]),
                "due_at": Stamps(t["due_at"]),
                "warn_at": Stamps(t["warn_at"], null=t["warn_at"] < 0),
                "paused_since": None,
                "pauses": [],
                "completed_at": None,
                "warned_at": Stamps(_fired_at(t["warn_at"], interval), null=~t["warned"]),
                "breached_at": None,
                "levels_fired": Ints(t["levels"]),
                "next_sla_event_at": Stamps(t["next"]),
                "explanation": Pool(t["combo"], explanations),
            },
        )
        counts["clocks"] = n
        timings["clocks_s"] = time.perf_counter() - t0

        # Timelines: created; assigned + transitioned for the open ones; earlier ANS firings.
        t0 = time.perf_counter()
        ev: dict[str, list[np.ndarray]] = {
            k: [] for k in ("ticket", "actor", "name", "kind", "from", "to", "data", "at")
        }
        strs: list[str] = []  # per-row JSON for the ANS events
        kinds = [
            EventKind.CREATED,
            EventKind.ASSIGNED,
            EventKind.TRANSITIONED,
            EventKind.SLA_WARNING,
            EventKind.SLA_ESCALATED,
        ]
        names = [*agent_names, "Radicado"]
        values = ["", "nuevo", "en_curso", KIND] + [str(a.id) for a in agents]
        datas = (
            [json.dumps({"channel": ch}) for ch in CHANNELS]
            + [json.dumps({"to_name": nm}) for nm in agent_names]
            + ["{}"]
        )

        def add(
            pos: np.ndarray,
            actor: np.ndarray | None,
            name: np.ndarray,
            kind: int,
            frm: int,
            to: np.ndarray,
            data: np.ndarray | None,
            at: np.ndarray,
        ) -> None:
            ev["ticket"].append(ticket_ids[pos])
            ev["actor"].append(actor if actor is not None else np.full(pos.size, -1))
            ev["name"].append(name)
            ev["kind"].append(np.full(pos.size, kind))
            ev["from"].append(np.full(pos.size, frm))
            ev["to"].append(to)
            ev["data"].append(data if data is not None else np.full(pos.size, -1))
            ev["at"].append(at)

        allpos = np.arange(n)
        add(allpos, agent_user_ids[t["creator"]], t["creator"], 0, 0, np.full(n, 1), t["channel"], t["start"])
        op = np.flatnonzero(is_open)
        worker = t["agent"][op]
        add(op, agent_user_ids[worker], worker, 1, 0, 4 + worker, len(CHANNELS) + worker, t["assigned_at"][op])
        add(
            op,
            agent_user_ids[worker],
            worker,
            2,
            1,
            np.full(op.size, 2),
            np.full(op.size, len(CHANNELS) + len(agents)),
            t["progress_at"][op],
        )
        n_plain = sum(a.size for a in ev["ticket"])
        notif: dict[str, list[Any]] = {"ticket": [], "event": [], "audience": [], "payload": [], "key": [], "at": []}
        radicado = len(agents)
        # Warnings already fired.
        wp = np.flatnonzero(t["warned"])
        wat = t["warn_at"][wp]
        fired = _fired_at(wat, interval)
        add(wp, None, np.full(wp.size, radicado), 3, 0, np.full(wp.size, 3), None, fired)
        for pos, sched, at in zip(wp.tolist(), wat.tolist(), fired.tolist(), strict=True):
            iso = iso_utc(sched)
            strs.append(json.dumps({"target": KIND, "scheduled_at": iso, "notify": []}))
            notif["ticket"].append(int(ticket_ids[pos]))
            notif["event"].append("sla.warning")
            notif["audience"].append(json.dumps(DEFAULT_AUDIENCE["warning"]))
            notif["payload"].append(json.dumps({"target": KIND, "level": "", "scheduled_at": iso}))
            notif["key"].append(f"sla:{clock_ids[pos]}:warning::{iso}")
            notif["at"].append(at)
        # Escalation levels already fired (scheduled_at in the calendar's zone, as _offset_at returns it).
        for pos_arr, k, step_no, at_arr in t["esc_rows"]:
            step = combos[k]["target"].escalations[step_no]
            level = str(step.get("level", step_no + 1))
            notify = list(step.get("notify", ()))
            values.append(level)
            fired = _fired_at(at_arr, interval)
            add(
                pos_arr,
                None,
                np.full(pos_arr.size, radicado),
                4,
                0,
                np.full(pos_arr.size, len(values) - 1),
                None,
                fired,
            )
            for pos, sched, at in zip(pos_arr.tolist(), at_arr.tolist(), fired.tolist(), strict=True):
                iso = iso_bog(sched)
                strs.append(json.dumps({"target": KIND, "scheduled_at": iso, "notify": notify}))
                notif["ticket"].append(int(ticket_ids[pos]))
                notif["event"].append("sla.escalation")
                notif["audience"].append(json.dumps(notify or DEFAULT_AUDIENCE["escalation"]))
                notif["payload"].append(json.dumps({"target": KIND, "level": level, "scheduled_at": iso}))
                notif["key"].append(f"sla:{clock_ids[pos]}:escalation:{level}:{iso}")
                notif["at"].append(at)
        cat = {k: np.concatenate(v) for k, v in ev.items()}
        ne = cat["ticket"].size
        data_rows: list[str | None] = [datas[i] if i >= 0 else None for i in cat["data"][:n_plain].tolist()] + strs
        kind_codes = cat["kind"]
        insert(
            TicketEvent,
            ne,
            {
                "workspace_id": ws.id,
                "ticket_id": Ints(cat["ticket"]),
                "actor_id": Ints(np.maximum(cat["actor"], 0), null=cat["actor"] < 0),
                "actor_name": Pool(cat["name"], names),
                "kind": Pool(kind_codes, [k.value for k in kinds]),
                "from_value": Pool(cat["from"], values),
                "to_value": Pool(cat["to"], values),
                "is_public": Pool(kind_codes, [k in PUBLIC_EVENT_KINDS for k in kinds]),
                "reply_id": None,
                "note_id": None,
                "data": Strs(data_rows),
                "created_at": Stamps(cat["at"]),
            },
        )
        counts["events"] = ne
        timings["events_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        nn = len(notif["key"])
        insert(
            NotificationRequest,
            nn,
            {
                "workspace_id": ws.id,
                "ticket_id": Ints(np.array(notif["ticket"], np.int64)),
                "event": Strs(notif["event"]),
                "audience": Strs(notif["audience"]),
                "payload": Strs(notif["payload"]),
                "idempotency_key": Strs(notif["key"]),
                "created_at": Stamps(np.array(notif["at"], np.int64)),
            },
        )
        counts["notifications"] = nn
        timings["notifications_s"] = time.perf_counter() - t0
        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Ticket, Clock]):
                cur.execute(sql)
    return {"counts": counts, "timings": {k: round(v, 2) for k, v in timings.items()}}


def _fired_at(at: np.ndarray, interval: int) -> np.ndarray:
    """When a sweeper that runs on every ``interval`` boundary saw an instant."""
    return np.where(at >= 0, -(-at // interval) * interval, at)


# ---------------------------------------------------------------------- validation


def validate(env: dict[str, Any], n_due: int, seed: int, sample: int = 400) -> dict[str, Any]:
    """Check a sample of the loaded rows against the app's own rules and schedule code."""
    now = NOW
    due_ids = list(Clock.objects.filter(next_sla_event_at__lte=now).values_list("id", flat=True))
    assert len(due_ids) == n_due, (len(due_ids), n_due)
    ids = list(Clock.objects.values_list("id", flat=True))
    rng = np.random.default_rng([seed, 9])
    picked = set(rng.choice(ids, size=min(sample, len(ids)), replace=False).tolist()) | set(due_ids[:100])
    checked = 0
    for clock in Clock.objects.filter(id__in=picked).select_related("target", "calendar", "ticket"):
        ticket = Ticket.objects.select_related("state", "priority", "type", "customer", "requester").get(
            id=clock.ticket_id
        )
        assert ticket.category == ticket.state.category and ticket.priority_rank == ticket.priority.rank
        assert ticket.customer_id == ticket.requester.customer_id
        facts = facts_of(ticket)
        tier = tier_for(
            workspace_id=facts.workspace_id, contract_value=facts.contract_value, on=facts.created_at.date()
        )
        assert select_targets(facts, tier.code if tier else "")[KIND].id == clock.target_id
        assert clock.started_at == ticket.created_at
        again = copy(clock)
        sla_clocks._schedule(again, clock.target, compiled(clock.calendar))
        got = (clock.due_at, clock.warn_at, clock.next_sla_event_at)
        want = (again.due_at, again.warn_at, again.next_sla_event_at)
        assert got == want, (clock.id, got, want)
        fires = sla_clocks._due_firings(copy(clock), now)
        assert bool(fires) == (clock.id in due_ids), (clock.id, fires)
        checked += 1
    return {"clocks_checked": checked, "due_clocks": len(due_ids)}


# ---------------------------------------------------------------------- measuring


TABLE_RE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?([a-z_]+)"?', re.I)


class QueryLog:
    """Counts, groups and times the SQL statements sent through Django's connection."""

    def __init__(self) -> None:
        self.n = 0
        self.seconds = 0.0
        self.kinds: Counter[str] = Counter()
        self.first_select: tuple[str, Any] | None = None

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.n += 1
            verb = sql.split(None, 1)[0].upper()
            m = TABLE_RE.search(sql)
            self.kinds[f"{verb} {m.group(1)}" if m and verb in ("SELECT", "INSERT", "UPDATE", "DELETE") else verb] += 1
            if self.first_select is None and verb == "SELECT":
                self.first_select = (sql, params)


def server_cpu_s() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (None if unreadable)."""
    if connection.vendor != "postgresql":
        return None
    pid = getattr(server_cpu_s, "pid", None)
    if pid is None:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = server_cpu_s.pid = cur.fetchone()[0]  # type: ignore[attr-defined]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_sweep(limit: int) -> dict[str, Any]:
    log = QueryLog()
    server0 = server_cpu_s()
    with connection.execute_wrapper(log):
        c0, t0 = time.process_time(), time.perf_counter()
        fired = sweep_clocks(now=NOW, limit=limit)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    server1 = server_cpu_s()
    return {
        "wall_ms": wall * 1000,
        "client_cpu_ms": cpu * 1000,
        "server_cpu_ms": None if server0 is None or server1 is None else (server1 - server0) * 1000,
        "firings": fired,
        "queries": log.n,
        "sql_ms": log.seconds * 1000,
        "by_statement": dict(log.kinds),
        "_due_sql": log.first_select,
    }


def explain(sql: str, params: Any, analyze: bool) -> str:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            opts = "ANALYZE, BUFFERS, TIMING" if analyze else "COSTS"
            cur.execute(f"EXPLAIN ({opts}) {sql}", params)
        else:
            cur.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(" | ".join(str(x) for x in row) for row in cur.fetchall())


def maintenance(analyze: bool) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            tables = [m._meta.db_table for m in (Clock, TicketEvent, NotificationRequest)]
            cur.execute("VACUUM ANALYZE" if analyze else f"VACUUM {', '.join(tables)}")
            cur.execute("CHECKPOINT")
        else:
            if analyze:
                cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def sizes() -> dict[str, Any]:
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cur:
        out = {}
        for name in (
            "sla_clock",
            "clock_due",
            "tickets_ticket",
            "tickets_ticketevent",
            "notifications_notificationrequest",
        ):
            cur.execute("SELECT pg_relation_size(%s::regclass)", [name])
            out[name + "_mb"] = round(cur.fetchone()[0] / 2**20, 1)
        return out


ARM_FIELDS = ("warned_at", "breached_at", "state", "levels_fired", "next_sla_event_at")


def save_arming() -> None:
    """Keep, in two benchmark-only tables, what the sweep changes: to put it back between sweeps."""
    clock, ev, nr = (m._meta.db_table for m in (Clock, TicketEvent, NotificationRequest))
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TABLE bench_armed AS SELECT id, {', '.join(ARM_FIELDS)} FROM {clock} "
            "WHERE next_sla_event_at <= %s",
            [connection.ops.adapt_datetimefield_value(NOW)],
        )
        cur.execute(
            f"CREATE TABLE bench_marks AS SELECT (SELECT max(id) FROM {ev}) AS ev, (SELECT max(id) FROM {nr}) AS nr"
        )


def rearm() -> tuple[int, int]:
    """Put the due clocks back as loaded and delete what sweeps wrote; return the id watermarks."""
    clock, ev, nr = (m._meta.db_table for m in (Clock, TicketEvent, NotificationRequest))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT ev, nr FROM bench_marks")
        ev_mark, nr_mark = cur.fetchone()
        cur.execute(f"DELETE FROM {ev} WHERE id > %s", [ev_mark])
        cur.execute(f"DELETE FROM {nr} WHERE id > %s", [nr_mark])
        sets = ", ".join(f"{f} = a.{f}" for f in ARM_FIELDS)
        cur.execute(f"UPDATE {clock} SET {sets} FROM bench_armed AS a WHERE {clock}.id = a.id")
    maintenance(analyze=False)
    return ev_mark, nr_mark


def cmd_load(args: argparse.Namespace) -> dict[str, Any]:
    if Ticket.objects.exists():
        sys.exit("database already has tickets; load into a fresh, migrated database")
    result: dict[str, Any] = {"db": connection.vendor, "open": args.open, "due": args.due, "now": NOW.isoformat()}
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    env = setup_workspace()
    result["setup_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    t = plan(env, args.open, args.due, args.seed, args.interval)
    result["plan_s"] = round(time.perf_counter() - t0, 2)
    result["load"] = load(env, t, args.interval)
    del t
    t0 = time.perf_counter()
    maintenance(analyze=True)
    result["vacuum_analyze_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    result["validation"] = validate(env, args.due, args.seed)
    result["validate_s"] = round(time.perf_counter() - t0, 2)
    result["sizes"] = sizes()
    save_arming()
    result["load_total_s"] = round(time.perf_counter() - t_all, 2)
    print(
        f"# loaded {args.open} open tickets in {result['load_total_s']} s: {json.dumps(result['load'])}",
        file=sys.stderr,
    )
    return result


def cmd_sweep(args: argparse.Namespace) -> dict[str, Any]:
    """Re-arm, warm up on a few clocks, then time ``--repeat`` sweeps, the EXPLAIN, and empty sweeps."""
    n_open = Ticket.objects.count()
    result: dict[str, Any] = {"db": connection.vendor, "open": n_open, "limit": args.limit, "now": NOW.isoformat()}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            result["server"] = cur.fetchone()[0]
    else:
        import sqlite3

        result["server"] = sqlite3.sqlite_version
    rearm()
    sweep_clocks(now=NOW, limit=args.warmup)  # this process's first queries, compiled calendar, caches
    reps: list[dict[str, Any]] = []
    due_sql = None
    for i in range(args.repeat):
        ev_mark, nr_mark = rearm()
        due_now = Clock.objects.filter(next_sla_event_at__lte=NOW).count()
        load_avg = os.getloadavg()[0]
        r = timed_sweep(args.limit)
        due_sql = due_sql or r["_due_sql"]
        r.pop("_due_sql")
        r["due_before"] = due_now
        r["load_avg_1m"] = load_avg
        r["left_due"] = Clock.objects.filter(next_sla_event_at__lte=NOW).count()
        r["events_written"] = TicketEvent.objects.filter(id__gt=ev_mark).count()
        r["notifications_written"] = NotificationRequest.objects.filter(id__gt=nr_mark).count()
        assert r["firings"] == r["events_written"] == r["notifications_written"] > 0, r
        assert r["left_due"] == max(0, due_now - args.limit), r
        print(
            f"# {connection.vendor} {n_open} open, sweep {i + 1}: {r['wall_ms']:.0f} ms wall, "
            f"{r['client_cpu_ms']:.0f} ms client CPU, "
            + ("" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.0f} ms server CPU, ")
            + f"{r['firings']} firings, {r['queries']} queries, load {load_avg:.1f}",
            file=sys.stderr,
        )
        reps.append({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()})
    result["sweeps"] = reps
    # The EXPLAIN of the due-clock query exactly as the sweep sent it, with the clocks due again.
    rearm()
    assert due_sql is not None
    sql, params = due_sql
    result["due_query"] = sql
    result["explain_due"] = explain(sql, params, analyze=True)
    sweep_clocks(now=NOW, limit=Clock.objects.count())  # back to nothing due
    empties = [timed_sweep(args.limit) for _ in range(args.empty_repeat)]
    assert all(e["firings"] == 0 and e["queries"] == 1 for e in empties)
    result["explain_empty"] = explain(sql, params, analyze=True)
    result["empty_sweeps_ms"] = [round(e["wall_ms"], 3) for e in empties]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load", help="load --open tickets into a fresh, migrated database")
    lp.add_argument("--open", type=int, default=10_000, help="open tickets (each with a clock)")
    lp.add_argument("--due", type=int, default=1_000, help="clocks due at NOW")
    lp.add_argument("--interval", type=int, default=60, help="seconds between the sweeps that came before")
    lp.add_argument("--seed", type=int, default=20261119)
    sp = sub.add_parser("sweep", help="time sweeps of the due clocks of a loaded database")
    sp.add_argument("--limit", type=int, default=1_000, help="sweep limit")
    sp.add_argument("--repeat", type=int, default=3, help="timed sweeps of the due clocks (re-armed between)")
    sp.add_argument("--warmup", type=int, default=10, help="clocks swept (untimed) before the timed sweeps")
    sp.add_argument("--empty-repeat", type=int, default=20, help="timed sweeps with nothing due")
    for p in (lp, sp):
        p.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    result = cmd_load(args) if args.cmd == "load" else cmd_sweep(args)
    line = json.dumps(result, ensure_ascii=False, indent=1, default=str)
    print(line)
    if args.out:
        Path(args.out).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
