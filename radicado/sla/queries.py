"""Reads for showing a ticket's ANS: each clock with its due time, remaining business
time, state and the explanation of its arithmetic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from radicado.sla.clocks import pauses_of
from radicado.sla.models import Clock, ClockState, TargetKind, TargetUnit
from radicado.sla.rules import compiled

MATCH_FIELDS = ("tier", "customer", "ticket_type", "priority", "catalog_item", "channel")


@dataclass(frozen=True)
class ClockView:
    kind: str
    kind_label: str
    state: str
    state_label: str
    due_at: dt.datetime
    remaining: dt.timedelta  # business time left (negative: overdue)
    completed_at: dt.datetime | None
    paused: bool
    target: str  # "3 business hours"
    calendar_name: str
    calendar_timezone: str
    explanation: list[str]

    @property
    def overdue(self) -> bool:
        return self.remaining < dt.timedelta(0)


def _target_text(amount: float, unit: str) -> str:
    shown = f"{amount:g}"
    return f"{shown} {TargetUnit(unit).label}"


def _remaining(clock: Clock, now: dt.datetime) -> dt.timedelta:
    cal = compiled(clock.calendar)
    calendar_time = clock.target.unit in (TargetUnit.CALENDAR_MINUTES, TargetUnit.CALENDAR_HOURS)
    reference = clock.completed_at or clock.paused_since or now
    if reference <= clock.due_at:
        return cal.elapsed(reference, clock.due_at, calendar_time=calendar_time)
    return -cal.elapsed(clock.due_at, reference, calendar_time=calendar_time)


def explain(clock: Clock, tz: dt.tzinfo) -> list[str]:
    """The deadline's arithmetic in sentences: policy, rule, calendar, start, pauses, due."""
    target, cal = clock.target, compiled(clock.calendar)
    criteria = ", ".join(f"{f}={getattr(target, f)}" for f in MATCH_FIELDS if getattr(target, f)) or _("any ticket")
    holidays = cal.spec.holidays
    lines = [
        _("Policy: %(policy)s; rule: %(rule)s.") % {"policy": target.policy.name, "rule": criteria},
        _("Calendar: %(name)s (%(tz)s)%(hol)s.")
        % {
            "name": clock.calendar.name,
            "tz": cal.spec.timezone,
            "hol": _(", public holidays of %(c)s") % {"c": holidays.country} if holidays else "",
        },
    ]
    if clock.explanation.get("tier"):
        lines.append(
            _("Customer tier: %(tier)s.") % {"tier": clock.explanation.get("tier_name") or clock.explanation["tier"]}
        )
    lines.append(
        _("Start %(start)s + %(target)s")
        % {
            "start": clock.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "target": _target_text(float(target.amount), target.unit),
        }
    )
    calendar_time = target.unit in (TargetUnit.CALENDAR_MINUTES, TargetUnit.CALENDAR_HOURS)
    for start, end in pauses_of(clock):
        paused = cal.elapsed(start, end, calendar_time=calendar_time)
        lines.append(
            _("+ paused %(from)s to %(to)s (%(open)s of open time)")
            % {
                "from": start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "to": end.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "open": format_duration(paused),
            }
        )
    if clock.paused_since:
        lines.append(_("Paused since %(at)s.") % {"at": clock.paused_since.astimezone(tz).strftime("%Y-%m-%d %H:%M")})
    lines.append(_("= due %(due)s.") % {"due": clock.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")})
    return lines


def format_duration(value: dt.timedelta) -> str:
    """Business time for people: "2 h 30 min", "45 min", "3 d 2 h" (24-hour days)."""
    minutes = int(abs(value).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return ("-" if value < dt.timedelta(0) else "") + " ".join(parts)


def clock_views(*, ticket_id: int, now: dt.datetime, tz: dt.tzinfo) -> list[ClockView]:
    """The ticket's clocks in target order (first response, next update, resolution)."""
    order = {k: i for i, k in enumerate(TargetKind.values)}
    clocks = sorted(
        Clock.objects.filter(ticket_id=ticket_id).select_related("target__policy", "calendar"),
        key=lambda c: order[c.kind],
    )
    return [
        ClockView(
            kind=c.kind,
            kind_label=str(TargetKind(c.kind).label),
            state=c.state,
            state_label=str(ClockState(c.state).label),
            due_at=c.due_at,
            remaining=_remaining(c, now),
            completed_at=c.completed_at,
            paused=c.paused_since is not None,
            target=_target_text(float(c.target.amount), c.target.unit),
            calendar_name=c.calendar.name,
            calendar_timezone=compiled(c.calendar).spec.timezone,
            explanation=explain(c, tz),
        )
        for c in clocks
    ]


@dataclass(frozen=True)
class MatrixChoice:
    code: str
    label: str


def matrix_choices(*, workspace_id: int) -> tuple[list[MatrixChoice], list[MatrixChoice]] | None:
    """The urgencies and impacts a form offers (I5), or None without a matrix."""
    from django.utils.translation import get_language

    from radicado.sla.models import PriorityMatrix

    matrix = PriorityMatrix.objects.filter(workspace_id=workspace_id).first()
    if matrix is None:
        return None
    english = (get_language() or "es").startswith("en")

    def choices(items: list[dict[str, str]]) -> list[MatrixChoice]:
        return [MatrixChoice(i["code"], (i.get("name_en") if english else None) or i["name_es"]) for i in items]

    return choices(matrix.urgencies), choices(matrix.impacts)
