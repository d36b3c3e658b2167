"""Time travel through one VIP request under the tiered ANS (PROCESSES T1, T2, C7).

Friday 13 Nov 2026, 17:30 in Bogotá: the split-shift calendar (07:30-12:30 and
14:00-18:00) is open for 30 more minutes; Monday 16 Nov is a public holiday
(Independencia de Cartagena, moved to Monday), so the next open minute is Tuesday 07:30.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from conftest import use_tmp_storage
from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.notifications.models import NotificationRequest
from radicado.sla.clocks import pauses_of
from radicado.sla.models import Clock
from radicado.tickets import actions
from radicado.tickets.models import Channel, Priority, TicketEvent, TicketType
from radicado.tickets.profiles import install_profile, load_profile
from radicado.tickets.sla import sweep_clocks
from radicado.workspaces.actions import add_member, create_workspace, ensure_user
from radicado.workspaces.models import Level, Role

BOG = ZoneInfo("America/Bogota")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=BOG)


def two_sweepers(now: dt.datetime) -> list[int]:
    """Run two sweeps at the same instant in two threads, released together."""
    barrier, results, errors = threading.Barrier(2), [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweep_clocks(now=now))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return sorted(results)


def sla_events(ticket_id: int) -> list[tuple[str, str]]:
    rows = TicketEvent.objects.filter(ticket_id=ticket_id, kind__startswith="sla_").order_by("id")
    return [(e.kind, e.to_value) for e in rows]


@pytest.mark.django_db(transaction=True)
def test_vip_request_from_friday_evening_across_a_holiday_monday(
    settings: Any, tmp_path: Path, smlmv_rates: None
) -> None:
    use_tmp_storage(settings, tmp_path)
    start = at(13, 17, 30)
    ws = create_workspace(slug="eficaz", name="Eficaz", ticket_prefix="SOP", timezone="America/Bogota", now=start)
    install_profile(workspace=ws, profile=load_profile("ans-escalonado"), now=start)
    agent = ensure_user(email="agente@example.com", name="Agente", password="x-password-1")
    add_member(workspace=ws, user=agent, role=Role.AGENT, level=Level.N1, now=start)
    vip = create_customer(workspace=ws, code="vip", name="Cliente VIP", contract_value=Decimal("4500000"), now=start)
    contact = create_contact(
        customer=vip, name="Vera", email="vera@example.com", portal_password="x-password-2", now=start
    )
    assert contact.user is not None
    customer = actor_for(user=contact.user, workspace_slug="eficaz")
    staff = actor_for(user=agent, workspace_slug="eficaz")

    # Registered on the portal with the default priority (T3): VIP x Media = 3 business hours.
    ticket = actions.create_ticket(
        actor=customer,
        requester=contact,
        channel=Channel.PORTAL,
        now=start,
        ticket_type=TicketType.objects.get(workspace=ws, code="soporte"),
        subject="El portal no carga",
        description="Desde las 17:00",
    )
    clock = Clock.objects.get(ticket=ticket, kind="first_response")
    assert clock.explanation["tier"] == "vip"
    assert clock.due_at == at(17, 10, 0)  # 30 min on Friday + 2 h 30 on Tuesday

    # The agent raises it to Alta: 1 business hour from the same start; level I is due at once.
    actions.set_priority(
        actor=staff, ticket=ticket, priority=Priority.objects.get(workspace=ws, code="alta"), now=at(13, 17, 45)
    )
    clock.refresh_from_db()
    assert clock.due_at == at(17, 8, 0) and clock.warn_at == at(17, 7, 45)
    assert two_sweepers(at(13, 17, 46)) == [0, 1]
    assert sla_events(ticket.id) == [("sla_escalated", "I")]

    # Nothing happens over the weekend and the holiday Monday.
    assert sweep_clocks(now=at(16, 12, 0)) == 0

    # Tuesday 07:40 the agent waits on the customer: the clock pauses, the 08:00 breach does not happen.
    actions.transition_ticket(actor=staff, ticket=ticket, to_state="esperando_cliente", now=at(17, 7, 40))
    clock.refresh_from_db()
    assert clock.state == "paused" and clock.next_sla_event_at is None
    assert sweep_clocks(now=at(17, 8, 30)) == 0

    # 09:40 the customer answers: two business hours paused, everything moves two hours later.
    actions.add_reply(actor=customer, ticket=ticket, body="Ya reinicié el servidor", now=at(17, 9, 40))
    clock.refresh_from_db()
    assert clock.state == "running" and pauses_of(clock) == [(at(17, 7, 40), at(17, 9, 40))]
    assert (clock.warn_at, clock.due_at) == (at(17, 9, 45), at(17, 10, 0))

    # Two sweepers at each step; every event fires exactly once.
    assert two_sweepers(at(17, 9, 50)) == [0, 1]
    assert two_sweepers(at(17, 10, 5)) == [0, 2]
    assert sweep_clocks(now=at(17, 12, 0)) == 0
    assert sla_events(ticket.id) == [
        ("sla_escalated", "I"),
        ("sla_warning", "first_response"),
        ("sla_breached", "first_response"),
        ("sla_escalated", "II"),
    ]
    assert NotificationRequest.objects.filter(ticket_id=ticket.id).count() == 4
    clock.refresh_from_db()
    assert clock.state == "breached" and clock.breached_at == at(17, 10, 0) and clock.next_sla_event_at is None

    # The first public answer meets the clock, late.
    actions.add_reply(actor=staff, ticket=ticket, body="Lo revisamos", now=at(17, 10, 30))
    clock.refresh_from_db()
    assert clock.completed_at == at(17, 10, 30) and clock.state == "breached"
