"""Automatic moves from workflow data: T5 (close 3 business days after an answer with no
customer reply) and I8 (close 48 hours after "resolved")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.tickets import actions, automations
from radicado.tickets.models import Channel, Ticket, TicketEvent, TicketType
from radicado.tickets.profiles import ProfileError, install_profile, load_profile
from radicado.tickets.workflows import WorkflowSpecError, validate_workflow
from radicado.workspaces.access import Actor
from radicado.workspaces.actions import add_member, create_workspace, ensure_user
from radicado.workspaces.models import Level, Role

BOG = ZoneInfo("America/Bogota")
THU = dt.datetime(2026, 11, 12, 10, 0, tzinfo=BOG)  # Thursday; Monday 16 Nov is a holiday


def desk(profile: str) -> tuple[Actor, Actor, Ticket]:
    ws = create_workspace(slug=profile, name=profile, ticket_prefix="SOP", timezone="America/Bogota", now=THU)
    install_profile(workspace=ws, profile=load_profile(profile), now=THU)
    agent = ensure_user(email=f"a@{profile}.example.com", name="Agente", password="x-password-1")
    add_member(workspace=ws, user=agent, role=Role.AGENT, level=Level.N1, now=THU)
    customer = create_customer(workspace=ws, code="c", name="C", contract_value=Decimal("900000"), now=THU)
    contact = create_contact(
        customer=customer, name="Vera", email=f"v@{profile}.example.com", now=THU, portal_password="x-password-2"
    )
    assert contact.user is not None
    staff, client = actor_for(user=agent, workspace_slug=profile), actor_for(user=contact.user, workspace_slug=profile)
    ticket = actions.create_ticket(
        actor=client,
        requester=contact,
        channel=Channel.PORTAL,
        now=THU,
        subject="s",
        description="d",
        ticket_type=TicketType.objects.filter(workspace=ws).first(),
    )
    return staff, client, ticket


def state(ticket: Ticket) -> str:
    ticket.refresh_from_db()
    return ticket.state.code


@pytest.mark.usefixtures("smlmv_rates")
def test_t5_closes_three_business_days_after_an_answer_without_reply(db: Any) -> None:
    staff, _, ticket = desk("ans-escalonado")
    actions.add_reply(actor=staff, ticket=ticket, body="Pruebe reiniciando", now=THU)
    assert state(ticket) == "respondido"
    # day 1 Fri 13, (Sat, Sun, holiday Mon 16 skipped) day 2 Tue 17, day 3 Wed 18: due at its close
    assert ticket.auto_action_at == dt.datetime(2026, 11, 18, 18, 0, tzinfo=BOG)
    assert automations.run_due(now=dt.datetime(2026, 11, 18, 17, 59, tzinfo=BOG)) == 0
    assert automations.run_due(now=dt.datetime(2026, 11, 18, 18, 1, tzinfo=BOG)) == 1
    assert state(ticket) == "cerrado" and ticket.auto_action_at is None
    event = TicketEvent.objects.filter(ticket=ticket, kind="transitioned").latest("id")
    assert (event.from_value, event.to_value, event.actor_id) == ("respondido", "cerrado", None)
    assert event.data["auto"] is True and event.data["unit"] == "days"
    assert automations.run_due(now=dt.datetime(2026, 11, 30, tzinfo=BOG)) == 0  # once only


@pytest.mark.usefixtures("smlmv_rates")
def test_t5_a_customer_reply_cancels_the_automatic_close(db: Any) -> None:
    staff, client, ticket = desk("ans-escalonado")
    actions.add_reply(actor=staff, ticket=ticket, body="¿Funcionó?", now=THU)
    actions.add_reply(actor=client, ticket=ticket, body="No, sigue igual", now=THU + dt.timedelta(days=1))
    assert state(ticket) == "en_curso" and ticket.auto_action_at is None
    assert automations.run_due(now=THU + dt.timedelta(days=30)) == 0
    assert state(ticket) == "en_curso"


def test_i8_closes_48_hours_after_resolved(db: Any) -> None:
    staff, _, ticket = desk("itil-saas")
    actions.transition_ticket(actor=staff, ticket=ticket, to_state="resuelto", now=THU)
    assert ticket.auto_action_at == THU + dt.timedelta(hours=48)
    assert automations.run_due(now=THU + dt.timedelta(hours=47)) == 0
    assert automations.run_due(now=THU + dt.timedelta(hours=48)) == 1
    assert state(ticket) == "cerrado"


def test_automatic_rules_are_validated() -> None:
    spec = load_profile("itil-saas")["workflows"]["estandar"]
    states = [
        s | {"auto": {"to": "cerrado", "after": 2, "unit": "hours"}} if s["code"] == "resuelto" else s
        for s in spec["states"]
    ]
    with pytest.raises(WorkflowSpecError, match="business time needs a calendar"):
        validate_workflow("x", spec | {"states": states})
    states = [
        s | {"auto": {"to": "nowhere", "after": 2, "unit": "calendar_hours"}} if s["code"] == "resuelto" else s
        for s in spec["states"]
    ]
    with pytest.raises(WorkflowSpecError, match="unknown state"):
        validate_workflow("x", spec | {"states": states})


def test_a_profile_naming_an_unknown_calendar_is_refused(db: Any) -> None:
    profile = load_profile("ans-escalonado")
    wf = profile["workflows"]["estandar"]
    states = [s | {"auto": {**s["auto"], "calendar": "nope"}} if "auto" in s else s for s in wf["states"]]
    broken = {**profile, "workflows": {"estandar": wf | {"states": states}}}
    ws = create_workspace(slug="x", name="x", ticket_prefix="X", timezone="America/Bogota", now=THU)
    with pytest.raises(ProfileError, match="unknown calendar 'nope'"):
        install_profile(workspace=ws, profile=broken, now=THU)
