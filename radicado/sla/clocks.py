"""Clock lifecycle: start, pause, resume, meet, retarget, and the sweep that fires events.

All functions take ``now``; none reads the clock. They are called by ticket actions
inside the ticket's transaction, so a clock never disagrees with its ticket.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from radicado.action import acting, insert
from radicado.businesstime import Calendar
from radicado.sla.models import Clock, ClockState, Target, TargetKind, TargetUnit, Tier
from radicado.sla.rules import TicketFacts, compiled, select_targets, tier_for

STOPPING_CATEGORIES = ("closed", "cancelled")
RESOLVING_CATEGORIES = ("resolved", "closed")


@dataclass(frozen=True)
class Firing:
    """Something a clock reached: a warning, the breach, or an escalation level."""

    workspace_id: int
    ticket_id: int
    clock_id: int
    kind: str  # the target kind
    event: str  # "warning" | "breach" | "escalation"
    scheduled_at: dt.datetime
    fired_at: dt.datetime
    level: str = ""
    notify: Sequence[str] = field(default_factory=tuple)
    due_at: dt.datetime | None = None  # the clock's deadline, for the people told about it


@dataclass(frozen=True)
class StartResult:
    tier: Tier | None
    clocks: list[Clock]
    no_ans_reason: str = ""


def _is_calendar_time(unit: str) -> bool:
    return unit in (TargetUnit.CALENDAR_MINUTES, TargetUnit.CALENDAR_HOURS)


def _utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def pauses_of(clock: Clock) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for a, b in clock.pauses]


def _offset_at(clock: Clock, target: Target, cal: Calendar, minutes: float) -> dt.datetime:
    """The instant ``minutes`` of the target's kind of time after the clock's start."""
    unit = "calendar_minutes" if _is_calendar_time(target.unit) else "minutes"
    return cal.add(clock.started_at, minutes, unit, pauses=pauses_of(clock))


def _schedule(clock: Clock, target: Target, cal: Calendar) -> None:
    """Derive due_at, warn_at and next_sla_event_at from the start, target and pauses."""
    amount = float(target.amount)
    if target.unit == TargetUnit.DAYS:
        # Legal terms count whole business days and are not paused (validated on load).
        clock.due_at = cal.add(clock.started_at, int(amount), "days")
    else:
        clock.due_at = cal.add(clock.started_at, amount, target.unit, pauses=pauses_of(clock))
    clock.warn_at = None
    if target.warn_percent:
        if target.unit == TargetUnit.DAYS:
            clock.warn_at = clock.started_at + (clock.due_at - clock.started_at) * target.warn_percent / 100
        else:
            clock.warn_at = cal.add(
                clock.started_at, amount * target.warn_percent / 100, target.unit, pauses=pauses_of(clock)
            )
    clock.next_sla_event_at = _next_event(clock, target, cal)


def _next_event(clock: Clock, target: Target, cal: Calendar) -> dt.datetime | None:
    if clock.completed_at is not None or clock.paused_since is not None:
        return None
    pending = []
    if clock.warn_at is not None and clock.warned_at is None and clock.breached_at is None:
        pending.append(clock.warn_at)
    if clock.breached_at is None:
        pending.append(clock.due_at)
    if clock.levels_fired < len(target.escalations):
        step = target.escalations[clock.levels_fired]
        pending.append(_offset_at(clock, target, cal, float(step["after_minutes"])))
    return min(pending) if pending else None


def _new_clock(facts: TicketFacts, kind: str, target: Target, tier: Tier | None) -> Clock:
    clock = Clock(
        workspace_id=facts.workspace_id,
        ticket_id=facts.ticket_id,
        kind=kind,
        target=target,
        calendar=target.calendar,
        state=ClockState.RUNNING,
        started_at=facts.created_at,
        explanation={"tier": tier.code if tier else "", "tier_name": tier.name_es if tier else ""},
    )
    _schedule(clock, target, compiled(target.calendar))
    return clock


def start_clocks(*, facts: TicketFacts, now: dt.datetime, tier: Tier | None) -> StartResult:
    """Create a new ticket's clocks from the matching targets; none while the customer is in arrears (T10).

    ``tier`` is the customer's tier on the ticket's day (``tier_for``), which the caller has already read.
    Each clock is written once, already in the state the ticket's first category gives it: a new
    ticket has no other clocks to pause, meet or reopen.
    """
    if facts.in_arrears:
        return StartResult(tier=tier, clocks=[], no_ans_reason="in_arrears")
    clocks = []
    for kind, target in select_targets(facts, tier.code if tier else "").items():
        clock = _new_clock(facts, kind, target, tier)
        _enter_category(clock, facts.category, now)
        insert(clock)
        clocks.append(clock)
    return StartResult(tier=tier, clocks=clocks)


def _open_clocks(ticket_id: int) -> list[Clock]:
    return list(
        Clock.objects.filter(ticket_id=ticket_id, completed_at__isnull=True).select_related("target", "calendar")
    )


def _complete(clock: Clock, now: dt.datetime) -> None:
    if clock.paused_since is not None:
        _resume(clock, now, reschedule=False)
    clock.completed_at = now
    if now > clock.due_at and clock.breached_at is None:
        clock.breached_at = clock.due_at
    clock.state = ClockState.BREACHED if clock.breached_at else ClockState.MET
    clock.next_sla_event_at = None


def _pause(clock: Clock, now: dt.datetime) -> None:
    clock.paused_since = now
    clock.state = ClockState.PAUSED
    clock.next_sla_event_at = None


def _resume(clock: Clock, now: dt.datetime, *, reschedule: bool = True) -> None:
    assert clock.paused_since is not None
    if now > clock.paused_since:
        clock.pauses = [*clock.pauses, [_utc_iso(clock.paused_since), _utc_iso(now)]]
    clock.paused_since = None
    clock.state = ClockState.BREACHED if clock.breached_at else ClockState.RUNNING
    if reschedule:
        _schedule(clock, clock.target, compiled(clock.calendar))


def _enter_category(clock: Clock, category: str, now: dt.datetime) -> bool:
    """Pause, resume, meet or stop an open clock for the ticket's status category; whether it changed."""
    if category in STOPPING_CATEGORIES or category in RESOLVING_CATEGORIES:
        _complete(clock, now)
    elif category in clock.target.pause_categories:
        if clock.paused_since is not None:
            return False
        _pause(clock, now)
    elif clock.paused_since is not None:
        _resume(clock, now)
    else:
        return False
    return True


def on_category(*, ticket_id: int, category: str, now: dt.datetime) -> None:
    """Pause, resume, meet or stop the ticket's clocks for its new status category."""
    for clock in _open_clocks(ticket_id):
        if _enter_category(clock, category, now):
            clock.save()
    if category not in RESOLVING_CATEGORIES and category not in STOPPING_CATEGORIES:
        _reopen_resolution(ticket_id=ticket_id, now=now)


def _reopen_resolution(*, ticket_id: int, now: dt.datetime) -> None:
    """A resolved ticket back at work: resolved time counts as a pause, the clock runs again."""
    clock = (
        Clock.objects.filter(ticket_id=ticket_id, kind=TargetKind.RESOLUTION, completed_at__isnull=False)
        .select_related("target", "calendar")
        .first()
    )
    if clock is None or clock.completed_at is None:
        return
    clock.paused_since, clock.completed_at = clock.completed_at, None
    if clock.breached_at is not None and clock.breached_at >= clock.paused_since:
        clock.breached_at = None  # it was only "late" because it was closed late; recompute
    _resume(clock, now)
    clock.save()


def on_agent_reply(*, ticket_id: int, now: dt.datetime) -> None:
    """A public answer by staff meets the first response and starts a new update cycle."""
    for clock in _open_clocks(ticket_id):
        if clock.kind == TargetKind.FIRST_RESPONSE:
            _complete(clock, now)
        elif clock.kind == TargetKind.NEXT_UPDATE:
            clock.started_at, clock.pauses, clock.breached_at, clock.warned_at = now, [], None, None
            clock.levels_fired = 0
            if clock.paused_since is not None:
                clock.paused_since = now
            else:
                clock.state = ClockState.RUNNING
                _schedule(clock, clock.target, compiled(clock.calendar))
        else:
            continue
        clock.save()


def retarget(*, facts: TicketFacts, now: dt.datetime) -> None:
    """Re-select targets after a priority, type or channel change; keep starts and pauses."""
    if facts.in_arrears:
        return
    tier = tier_for(workspace_id=facts.workspace_id, contract_value=facts.contract_value, on=facts.created_at.date())
    wanted = select_targets(facts, tier.code if tier else "")
    existing = {c.kind: c for c in Clock.objects.filter(ticket_id=facts.ticket_id).select_related("target", "calendar")}
    for kind, target in wanted.items():
        clock = existing.get(kind)
        if clock is None:
            _new_clock(facts, kind, target, tier).save()
            continue
        if clock.completed_at is not None or clock.target_id == target.id:
            continue
        clock.target, clock.calendar = target, target.calendar
        clock.explanation = {**clock.explanation, "retargeted_at": now.isoformat()}
        if clock.paused_since is None:
            _schedule(clock, target, compiled(target.calendar))
        clock.save()


def recompute_calendar(*, calendar_id: int, batch: int = 1000) -> int:
    """Recompute every unfinished clock on a calendar after its definition changed.

    Deadlines are recomputed one by one (microseconds each) but written back in batches,
    so a calendar with many open clocks costs a few statements per thousand clocks.
    """
    qs = Clock.objects.filter(calendar_id=calendar_id, completed_at__isnull=True).select_related("target", "calendar")
    count = 0
    pending: list[Clock] = []
    for clock in qs.iterator(chunk_size=batch):
        _schedule(clock, clock.target, compiled(clock.calendar))  # no events while paused
        pending.append(clock)
        if len(pending) >= batch:
            Clock.objects.bulk_update(pending, ["due_at", "warn_at", "next_sla_event_at"])
            count += len(pending)
            pending = []
    if pending:
        Clock.objects.bulk_update(pending, ["due_at", "warn_at", "next_sla_event_at"])
        count += len(pending)
    return count


def _due_firings(clock: Clock, now: dt.datetime) -> list[Firing]:
    """Apply to ``clock`` everything scheduled up to ``now``; return what fired, in order."""
    target, cal = clock.target, compiled(clock.calendar)
    fired: list[Firing] = []

    def fire(event: str, at: dt.datetime, level: str = "", notify: Sequence[str] = ()) -> None:
        fired.append(
            Firing(
                clock.workspace_id,
                clock.ticket_id,
                clock.id,
                clock.kind,
                event,
                at,
                now,
                level,
                tuple(notify),
                clock.due_at,
            )
        )

    if clock.warn_at and clock.warned_at is None and clock.breached_at is None and clock.warn_at <= now:
        clock.warned_at = now
        fire("warning", clock.warn_at)
    if clock.breached_at is None and clock.due_at <= now:
        clock.breached_at, clock.state = clock.due_at, ClockState.BREACHED
        fire("breach", clock.due_at)
    while clock.levels_fired < len(target.escalations):
        step = target.escalations[clock.levels_fired]
        at = _offset_at(clock, target, cal, float(step["after_minutes"]))
        if at > now:
            break
        clock.levels_fired += 1
        fire("escalation", at, str(step.get("level", clock.levels_fired)), step.get("notify", ()))
    clock.next_sla_event_at = _next_event(clock, target, cal)
    return sorted(fired, key=lambda f: f.scheduled_at)


def sweep(*, now: dt.datetime, record: Callable[[list[Firing]], None], limit: int = 500) -> int:
    """Fire what is due, at most ``limit`` clocks; return how many firings were recorded.

    Reads only clocks whose ``next_sla_event_at`` has passed (an index range scan), and
    claims each with a conditional UPDATE on the value it read: of several sweepers,
    exactly one wins a clock, and ``record`` runs in that winner's transaction.
    """
    due = list(
        Clock.objects.filter(next_sla_event_at__lte=now)
        .order_by("next_sla_event_at")
        .values_list("id", "next_sla_event_at")[:limit]
    )
    total = 0
    for clock_id, seen in due:
        with acting():  # one action per clock/ticket: an error rolls back only that one
            clock = Clock.objects.select_related("target", "calendar").filter(id=clock_id).first()
            if clock is None or clock.next_sla_event_at != seen:
                continue
            firings = _due_firings(clock, now)
            claimed = Clock.objects.filter(id=clock_id, next_sla_event_at=seen).update(
                warned_at=clock.warned_at,
                breached_at=clock.breached_at,
                state=clock.state,
                levels_fired=clock.levels_fired,
                next_sla_event_at=clock.next_sla_event_at,
            )
            if claimed != 1:
                continue  # another sweeper took it
            if firings:
                record(firings)
            total += len(firings)
    return total
