"""The tickets side of the ANS: facts for the rules, and recording what clocks fire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from radicado.action import action
from radicado.customers.models import Customer, Standing
from radicado.notifications.actions import request_notification
from radicado.sla import clocks
from radicado.sla.models import TargetKind, Tier
from radicado.sla.queries import ClockView, clock_views
from radicado.sla.rules import TicketFacts, check_priority, priority_from_matrix, tier_for
from radicado.tickets import notify
from radicado.tickets.events import record_event
from radicado.tickets.models import EventKind, Priority, Ticket

FIRING_KIND = {
    "warning": EventKind.SLA_WARNING,
    "breach": EventKind.SLA_BREACHED,
    "escalation": EventKind.SLA_ESCALATED,
}
# Who hears about each firing unless the escalation step names its own recipients.
DEFAULT_AUDIENCE = {"warning": ["assignee"], "breach": ["assignee", "supervisor"], "escalation": ["supervisor"]}


def facts_of(ticket: Ticket) -> TicketFacts:
    customer = ticket.customer
    return TicketFacts(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        created_at=ticket.created_at,
        category=ticket.category,
        ticket_type=ticket.type.code,
        priority=ticket.priority.code,
        channel=str(ticket.channel),
        customer_code=customer.code,
        contract_value=customer.contract_value,
        in_arrears=customer.standing == Standing.IN_ARREARS,
    )


def tier_of(*, customer: Customer, on: dt.date) -> Tier | None:
    """The customer's tier (T1) on ``on``."""
    return tier_for(workspace_id=customer.workspace_id, contract_value=customer.contract_value, on=on)


def check_tier_priority(*, customer: Customer, priority: Priority, on: dt.date) -> None:
    """Raise sla.rules.PriorityNotAllowed if the customer's tier excludes the priority (T2)."""
    check_priority(tier_of(customer=customer, on=on), priority.code)


def record_firings(firings: list[clocks.Firing], memo: dict[Any, Any] | None = None) -> None:
    """Write a timeline event and a notification request for each firing (same transaction).

    ``memo`` keeps the rules, the mailbox and the workflow states, priorities and types read by
    earlier firings of the same sweep.
    """
    memo = {} if memo is None else memo
    for f in firings:
        kind = FIRING_KIND[f.event]
        event = record_event(
            workspace_id=f.workspace_id,
            ticket_id=f.ticket_id,
            actor=None,
            kind=kind,
            to_value=f.level or f.kind,
            data={"target": f.kind, "scheduled_at": f.scheduled_at.isoformat(), "notify": list(f.notify)},
            now=f.fired_at,
        )
        request_notification(
            workspace_id=f.workspace_id,
            ticket_id=f.ticket_id,
            event=f"sla.{f.event}",
            audience=list(f.notify) or DEFAULT_AUDIENCE[f.event],
            payload={"target": f.kind, "level": f.level, "scheduled_at": f.scheduled_at.isoformat()},
            idempotency_key=f"sla:{f.clock_id}:{f.event}:{f.level}:{f.scheduled_at.isoformat()}",
            now=f.fired_at,
        )
        rules, _ = notify.deliverable_rules(workspace_id=f.workspace_id, event=f"sla.{f.event}", memo=memo)
        if not rules:
            continue  # nobody to tell: the ticket need not even be read
        ticket = notify.with_configuration(
            Ticket.objects.select_related(*notify.TICKET_RELATIONS).get(id=f.ticket_id), memo
        )
        notify.notify(
            ticket=ticket,
            event=f"sla.{f.event}",
            actor=None,
            now=f.fired_at,
            key=f"ev{event.id}",
            context={"sla": {"target": TargetKind(f.kind).label, "level": f.level, "due": f.due_at}},
            escalation=list(f.notify) or DEFAULT_AUDIENCE[f.event],
            memo=memo,
        )


def sweep_clocks(*, now: dt.datetime, limit: int = 500) -> int:
    """Fire every due clock event; safe to run in several processes at once."""
    memo: dict[Any, Any] = {}  # rules, mailbox and configuration rows, for this sweep only
    return clocks.sweep(now=now, record=partial(record_firings, memo=memo), limit=limit)


@action
def recompute_calendar_clocks(*, calendar_id: int) -> int:
    return clocks.recompute_calendar(calendar_id=calendar_id)


@dataclass(frozen=True)
class AnsView:
    in_arrears: bool
    clocks: list[ClockView]


def ans_of(ticket: Ticket, *, now: dt.datetime) -> AnsView:
    """What the console, portal and API show about the ticket's ANS."""
    views = clock_views(ticket_id=ticket.id, now=now, tz=ZoneInfo(ticket.workspace.timezone))
    return AnsView(in_arrears=ticket.customer.standing == Standing.IN_ARREARS, clocks=views)


def priority_for(*, workspace_id: int, urgency: str, impact: str) -> str | None:
    """The matrix priority code for a valid urgency and impact (I5), else None."""
    if not urgency or not impact:
        return None
    return priority_from_matrix(workspace_id=workspace_id, urgency=urgency, impact=impact)
