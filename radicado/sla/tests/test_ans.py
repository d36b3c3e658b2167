"""ANS rules and clocks through ticket actions, on the profiles of processes T and I."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.customers.models import Contact, Standing
from radicado.sla.actions import InvalidCalendar, update_calendar
from radicado.sla.clocks import pauses_of
from radicado.sla.models import BusinessCalendar, Clock, Policy, Target, Tier
from radicado.sla.rules import priority_from_matrix, tier_for
from radicado.sla.setup import SlaSpecError, validate_sla
from radicado.tickets import actions
from radicado.tickets.models import Channel, Priority, Ticket, TicketType
from radicado.tickets.profiles import install_profile, load_profile
from radicado.workspaces.access import Actor
from radicado.workspaces.actions import add_member, create_workspace, ensure_user
from radicado.workspaces.models import Level, Role, Workspace

BOG = ZoneInfo("America/Bogota")
MON = dt.datetime(2026, 11, 23, 9, 0, tzinfo=BOG)  # an ordinary Monday, 09:00


class Desk:
    """One workspace on a profile, an agent, and contacts made on demand."""

    def __init__(self, profile: str, slug: str = "desk") -> None:
        self.ws: Workspace = create_workspace(
            slug=slug, name=slug, ticket_prefix="SOP", timezone="America/Bogota", now=MON
        )
        install_profile(workspace=self.ws, profile=load_profile(profile), now=MON)
        user = ensure_user(email=f"agent@{slug}.example.com", name="Agente", password="x-password-1")
        add_member(workspace=self.ws, user=user, role=Role.AGENT, level=Level.N1, now=MON)
        self.agent = actor_for(user=user, workspace_slug=slug)

    def contact(self, code: str, value: str | None, standing: Standing = Standing.CURRENT) -> Contact:
        customer = create_customer(
            workspace=self.ws,
            code=code,
            name=code,
            standing=standing,
            now=MON,
            contract_value=Decimal(value) if value else None,
        )
        return create_contact(
            customer=customer, name=code, email=f"{code}@example.com", now=MON, portal_password="x-password-2"
        )

    def customer_actor(self, contact: Contact) -> Actor:
        assert contact.user is not None
        return actor_for(user=contact.user, workspace_slug=self.ws.slug)

    def ticket(self, contact: Contact, type_code: str, priority: str | None = None, at: dt.datetime = MON) -> Ticket:
        return actions.create_ticket(
            actor=self.agent,
            requester=contact,
            channel=Channel.PHONE,
            now=at,
            subject="s",
            description="d",
            ticket_type=TicketType.objects.get(workspace=self.ws, code=type_code),
            priority=Priority.objects.get(workspace=self.ws, code=priority) if priority else None,
        )


def clock(ticket: Ticket, kind: str = "first_response") -> Clock:
    return Clock.objects.select_related("target__policy", "calendar").get(ticket=ticket, kind=kind)


@pytest.fixture
def t_desk(db: Any, smlmv_rates: None) -> Desk:
    return Desk("ans-escalonado")


@pytest.fixture
def i_desk(db: Any, smlmv_rates: None) -> Desk:
    return Desk("itil-saas")


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def test_tier_is_vip_only_strictly_above_the_threshold(t_desk: Desk) -> None:
    threshold = Decimal("1750905") * Decimal("1.5")  # 2026 SMLMV x 1.5

    def tier(value: Decimal | None, on: dt.date | None = None) -> str | None:
        found = tier_for(workspace_id=t_desk.ws.id, contract_value=value, on=on or MON.date())
        return found.code if found else None

    assert tier(threshold + 1) == "vip"
    assert tier(threshold) == "regular"
    assert tier(Decimal("1")) == "regular"
    assert tier(None) == "flotante"
    # 2025's SMLMV is lower, so the same value is VIP in 2025 but not in 2026
    assert tier(Decimal("2300000"), dt.date(2025, 6, 1)) == "vip"
    assert tier(Decimal("2300000")) == "regular"
    # the threshold is configuration (the seed also says 1.1)
    Tier.objects.filter(workspace=t_desk.ws, code="vip").update(above_smlmv=Decimal("1.1"))
    assert tier(Decimal("2300000")) == "vip"


def test_a_tier_limits_the_priorities_it_may_use(t_desk: Desk) -> None:
    regular = t_desk.contact("regular", "1000000")
    ticket = t_desk.ticket(regular, "soporte")
    assert ticket.priority.code == "media"
    with pytest.raises(actions.TicketError, match="cannot use priority alta"):
        actions.set_priority(
            actor=t_desk.agent, ticket=ticket, now=MON, priority=Priority.objects.get(workspace=t_desk.ws, code="alta")
        )
    with pytest.raises(actions.TicketError, match="cannot use priority alta"):
        t_desk.ticket(regular, "soporte", priority="alta")
    vip = t_desk.contact("vip", "9000000")
    assert t_desk.ticket(vip, "soporte", priority="alta").priority.code == "alta"


@pytest.mark.parametrize(
    ("value", "priority", "hours"),
    [
        ("9000000", "alta", 1),
        ("9000000", "baja", 6),
        ("1000000", "media", 2),
        ("1000000", "baja", 8),
        (None, "media", 4),
        (None, "baja", 12),
    ],
)
def test_first_response_targets_by_tier_and_priority(
    t_desk: Desk, value: str | None, priority: str, hours: int
) -> None:
    ticket = t_desk.ticket(t_desk.contact("c", value), "soporte", priority=priority)
    c = clock(ticket)
    assert (c.target.amount, c.target.unit) == (Decimal(hours), "hours")
    assert c.calendar.code == "habil"


def test_priority_matrix_and_itil_targets(i_desk: Desk) -> None:
    assert priority_from_matrix(workspace_id=i_desk.ws.id, urgency="alta", impact="organizacion") == "urgente"
    assert priority_from_matrix(workspace_id=i_desk.ws.id, urgency="media", impact="individual") == "baja"
    assert priority_from_matrix(workspace_id=i_desk.ws.id, urgency="x", impact="y") is None
    customer = i_desk.contact("acme", "5000000")
    incident = i_desk.ticket(customer, "incidente", "alta")
    assert clock(incident).due_at == MON + dt.timedelta(hours=6, minutes=90)  # 09:00-12:30, 14:00-16:30
    requirement = i_desk.ticket(customer, "requerimiento", "baja")
    assert (clock(requirement).target.amount, clock(requirement).target.unit) == (Decimal(32), "hours")
    urgent = i_desk.ticket(customer, "incidente", "urgente")
    assert clock(urgent).due_at == MON + dt.timedelta(hours=2)  # 24x7


def test_customers_in_arrears_get_no_ans_and_the_ticket_says_so(i_desk: Desk) -> None:
    late = i_desk.contact("late", "5000000", standing=Standing.IN_ARREARS)
    ticket = i_desk.ticket(late, "incidente", "alta")
    assert not Clock.objects.filter(ticket=ticket).exists()
    staff = Client()
    staff.force_login(i_desk.agent.user)
    html = staff.get(f"/w/{i_desk.ws.slug}/console/t/{ticket.number}/").content.decode()
    assert 'id="no-ans"' in html


def test_changing_priority_keeps_the_start_and_the_paused_time(i_desk: Desk) -> None:
    ticket = i_desk.ticket(i_desk.contact("acme", "5000000"), "incidente", "baja")
    actions.transition_ticket(
        actor=i_desk.agent, ticket=ticket, to_state="esperando_cliente", now=MON + dt.timedelta(hours=1)
    )
    actions.transition_ticket(actor=i_desk.agent, ticket=ticket, to_state="en_curso", now=MON + dt.timedelta(hours=2))
    actions.set_priority(
        actor=i_desk.agent,
        ticket=ticket,
        now=MON + dt.timedelta(hours=2, minutes=5),
        priority=Priority.objects.get(workspace=i_desk.ws, code="alta"),
    )
    c = clock(ticket)
    assert c.started_at == MON and pauses_of(c) == [(MON + dt.timedelta(hours=1), MON + dt.timedelta(hours=2))]
    assert c.target.amount == 6
    # 6 business hours + 1 paused hour from Monday 09:00: 09:00-12:30 and 14:00-17:30
    assert c.due_at == dt.datetime(2026, 11, 23, 17, 30, tzinfo=BOG)


def test_a_resolution_clock_counts_resolved_time_as_paused_when_reopened(i_desk: Desk) -> None:
    policy = Policy.objects.get(workspace=i_desk.ws, code="i6")
    Target.objects.create(
        workspace=i_desk.ws,
        policy=policy,
        order=99,
        kind="resolution",
        amount=8,
        unit="hours",
        calendar=BusinessCalendar.objects.get(workspace=i_desk.ws, code="i2"),
    )
    contact = i_desk.contact("acme", "5000000")
    ticket = i_desk.ticket(contact, "incidente", "alta")
    actions.transition_ticket(actor=i_desk.agent, ticket=ticket, to_state="resuelto", now=MON + dt.timedelta(hours=1))
    assert clock(ticket, "resolution").state == "met"
    customer = i_desk.customer_actor(contact)
    actions.transition_ticket(actor=customer, ticket=ticket, to_state="en_curso", now=MON + dt.timedelta(hours=2))
    c = clock(ticket, "resolution")
    assert c.state == "running" and c.completed_at is None
    assert pauses_of(c) == [(MON + dt.timedelta(hours=1), MON + dt.timedelta(hours=2))]
    # 8 h + 1 h paused of open time from Monday 09:00: 7 h 30 on Monday, 1 h 30 on Tuesday from 07:30
    assert c.due_at == dt.datetime(2026, 11, 24, 9, 0, tzinfo=BOG)


def test_next_update_restarts_with_every_public_answer(i_desk: Desk) -> None:
    policy = Policy.objects.get(workspace=i_desk.ws, code="i6")
    Target.objects.create(
        workspace=i_desk.ws,
        policy=policy,
        order=99,
        kind="next_update",
        amount=120,
        unit="minutes",
        calendar=BusinessCalendar.objects.get(workspace=i_desk.ws, code="i2"),
    )
    ticket = i_desk.ticket(i_desk.contact("acme", "5000000"), "incidente", "alta")
    assert clock(ticket, "next_update").due_at == MON + dt.timedelta(hours=2)
    actions.add_reply(actor=i_desk.agent, ticket=ticket, body="avance", now=MON + dt.timedelta(hours=3))
    assert clock(ticket, "first_response").state == "met"
    assert clock(ticket, "next_update").due_at == MON + dt.timedelta(hours=6, minutes=30)  # 12:00-12:30, 14:00-15:30


def test_editing_a_calendar_recomputes_running_clocks_and_records_the_old_one(i_desk: Desk) -> None:
    ticket = i_desk.ticket(i_desk.contact("acme", "5000000"), "incidente", "baja")  # 16 h
    before = clock(ticket).due_at
    cal = BusinessCalendar.objects.get(workspace=i_desk.ws, code="i2")
    spec = {**cal.spec, "closed_dates": ["2026-11-24"]}
    assert update_calendar(calendar=cal, spec=spec, actor=None, now=MON) == 1
    assert clock(ticket).due_at == before + dt.timedelta(days=1)
    with pytest.raises(InvalidCalendar, match="week"):
        update_calendar(calendar=cal, spec={**spec, "week": {"mon": [["x", "y"]]}}, actor=None, now=MON)


def test_every_deadline_explains_itself(i_desk: Desk) -> None:
    from radicado.sla.queries import clock_views

    ticket = i_desk.ticket(i_desk.contact("acme", "5000000"), "incidente", "alta")
    actions.transition_ticket(
        actor=i_desk.agent, ticket=ticket, to_state="esperando_cliente", now=MON + dt.timedelta(hours=1)
    )
    actions.transition_ticket(actor=i_desk.agent, ticket=ticket, to_state="en_curso", now=MON + dt.timedelta(hours=2))
    (view,) = clock_views(ticket_id=ticket.id, now=MON + dt.timedelta(hours=3), tz=BOG)
    text = "\n".join(view.explanation)
    assert "Tiempos de primera respuesta (I6)" in text and "ticket_type=incidente" in text and "priority=alta" in text
    assert "America/Bogota" in text and "public holidays of CO" in text
    assert "2026-11-23 10:00 to 2026-11-23 11:00 (1 h of open time)" in text
    assert text.endswith("= due 2026-11-23 17:30.")
    assert view.remaining == dt.timedelta(hours=4)  # 12:00-12:30 and 14:00-17:30


def test_api_shows_clocks_with_remaining_business_minutes(i_desk: Desk) -> None:
    from radicado.workspaces.actions import issue_api_token

    ticket = i_desk.ticket(i_desk.contact("acme", "5000000"), "incidente", "alta")
    _, raw = issue_api_token(workspace=i_desk.ws, user=i_desk.agent.user, name="t", now=MON)
    # The API counts remaining time from the wall clock: read it at 10:00 that Monday.
    with time_machine.travel(MON + dt.timedelta(hours=1), tick=False):
        body = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1/tickets/{ticket.number}").json()
    (c,) = body["clocks"]
    assert c["kind"] == "first_response" and c["state"] == "running" and body["ans_in_arrears"] is False
    assert dt.datetime.fromisoformat(c["due_at"]) == dt.datetime(2026, 11, 23, 16, 30, tzinfo=BOG)
    # 10:00-12:30 and 14:00-16:30 of the I2 calendar (closed for lunch) are left.
    assert c["remaining_minutes"] == 300 and c["explanation"][-1].endswith("2026-11-23 16:30.")


def test_sla_specs_are_validated_before_anything_is_written() -> None:
    spec = load_profile("itil-saas")["sla"]
    bad_unit = {
        **spec,
        "policies": {"p": {"targets": [{"kind": "first_response", "amount": 1, "unit": "weeks", "calendar": "i2"}]}},
    }
    with pytest.raises(SlaSpecError, match="unknown unit"):
        validate_sla(bad_unit)
    paused_days = {
        **spec,
        "policies": {
            "p": {
                "targets": [
                    {
                        "kind": "resolution",
                        "amount": 15,
                        "unit": "days",
                        "calendar": "i2",
                        "pause_categories": ["waiting"],
                    }
                ]
            }
        },
    }
    with pytest.raises(SlaSpecError, match="cannot be paused"):
        validate_sla(paused_days)
    with pytest.raises(SlaSpecError, match=r"sla\.calendars\.i2"):
        validate_sla({**spec, "calendars": {"i2": {"calendar": {"timezone": "Nowhere/City", "week": {}}}}})


def test_the_portal_receipt_says_by_when_we_will_answer(t_desk: Desk, settings: Any) -> None:
    vip = t_desk.contact("vip", "9000000")
    client = Client()
    assert vip.user is not None
    client.force_login(vip.user)
    page = client.post(
        f"/w/{t_desk.ws.slug}/solicitudes/nueva/",
        {"type": "soporte", "subject": "Caído", "description": "No abre"},
        follow=True,
    )
    html = page.content.decode()
    ticket = Ticket.objects.get(workspace=t_desk.ws, subject="Caído")
    due = clock(ticket).due_at.astimezone(BOG)
    assert f"Registramos su solicitud {ticket.reference}. Le responderemos a más tardar el" in html
    assert f"{due.day} de" in html and due.strftime("%H:%M") in html
    assert 'data-kind="first_response"' in html


def test_urgency_and_impact_set_the_priority_in_portal_and_api(i_desk: Desk) -> None:
    contact = i_desk.contact("acme", "5000000")
    client = Client()
    assert contact.user is not None
    client.force_login(contact.user)
    form = client.get(f"/w/{i_desk.ws.slug}/solicitudes/nueva/").content.decode()
    assert 'name="urgency" value="alta"' in form and 'name="impact" value="organizacion"' in form
    client.post(
        f"/w/{i_desk.ws.slug}/solicitudes/nueva/",
        {
            "type": "incidente",
            "subject": "Caída total",
            "description": "d",
            "urgency": "alta",
            "impact": "organizacion",
        },
    )
    ticket = Ticket.objects.get(workspace=i_desk.ws, subject="Caída total")
    assert (ticket.priority.code, ticket.urgency, ticket.impact) == ("urgente", "alta", "organizacion")
    assert clock(ticket).target.unit == "calendar_hours"  # urgent incidents run 24x7
    bad = client.post(
        f"/w/{i_desk.ws.slug}/solicitudes/nueva/",
        {"type": "incidente", "subject": "Otra", "description": "d", "urgency": "alta"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 400 and "whom it affects" in bad.content.decode()


def test_profiles_naming_unknown_codes_are_refused(db: Any) -> None:
    from radicado.tickets.profiles import ProfileError

    profile = load_profile("itil-saas")
    cells = {**profile["sla"]["priority_matrix"]["cells"], "alta": {"organizacion": "critica"}}
    broken = {
        **profile,
        "sla": {**profile["sla"], "priority_matrix": {**profile["sla"]["priority_matrix"], "cells": cells}},
    }
    ws = create_workspace(slug="x", name="x", ticket_prefix="X", timezone="America/Bogota", now=MON)
    with pytest.raises(ProfileError, match="unknown priority 'critica'"):
        install_profile(workspace=ws, profile=broken, now=MON)
    assert not TicketType.objects.filter(workspace=ws).exists()
