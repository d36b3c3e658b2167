"""Terms of attention (H2): posted on new tickets, staff work waits, acceptance recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.tickets import actions
from radicado.tickets.models import Channel, TermsAcceptance, Ticket, TicketType
from radicado.tickets.profiles import install_profile, load_profile
from radicado.tickets.terms import publish_terms
from radicado.workspaces.actions import add_member, create_workspace, ensure_user, issue_api_token
from radicado.workspaces.models import Level, Role

NOW = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def desk(db: Any) -> dict[str, Any]:
    ws = create_workspace(slug="horas", name="Horas", ticket_prefix="HRS", timezone="America/Bogota", now=NOW)
    install_profile(workspace=ws, profile=load_profile("bolsa-horas"), now=NOW)
    agent = ensure_user(email="agente@horas.example.com", name="Agente", password="x-password-1")
    add_member(workspace=ws, user=agent, role=Role.AGENT, level=Level.N1, now=NOW)
    customer = create_customer(workspace=ws, code="c", name="Cliente", now=NOW)
    lider = create_contact(
        customer=customer, name="Lía", email="lia@example.com", now=NOW, portal_password="x-password-2", key_user=True
    )
    assert lider.user is not None
    staff, client = actor_for(user=agent, workspace_slug="horas"), actor_for(user=lider.user, workspace_slug="horas")
    ticket = actions.create_ticket(
        actor=client,
        requester=lider,
        channel=Channel.PORTAL,
        now=NOW,
        subject="Ajuste",
        description="d",
        ticket_type=TicketType.objects.get(workspace=ws, code="soporte"),
    )
    return {"ws": ws, "staff": staff, "client": client, "ticket": ticket, "lider": lider, "agent": agent}


def test_new_tickets_post_the_current_terms_and_staff_work_waits(desk: dict[str, Any]) -> None:
    ticket: Ticket = desk["ticket"]
    assert ticket.terms_pending is not None and ticket.terms_pending.version == 1
    with pytest.raises(actions.TicketError, match="terms"):
        actions.add_reply(actor=desk["staff"], ticket=ticket, body="Empezamos", now=NOW)
    with pytest.raises(actions.TicketError, match="terms"):
        actions.transition_ticket(actor=desk["staff"], ticket=ticket, to_state="en_curso", now=NOW)
    actions.add_note(actor=desk["staff"], ticket=ticket, body="Revisar contrato", now=NOW)  # notes are fine


def test_the_customer_accepts_in_the_portal_and_work_goes_on(desk: dict[str, Any]) -> None:
    ticket: Ticket = desk["ticket"]
    client = Client()
    client.force_login(desk["lider"].user)
    page = client.get(f"/w/horas/solicitudes/{ticket.number}/").content.decode()
    assert 'id="terms"' in page and "Términos de atención" in page
    client.post(f"/w/horas/solicitudes/{ticket.number}/terminos/")
    acceptance = TermsAcceptance.objects.get(ticket=ticket)
    assert (acceptance.terms.version, acceptance.name, acceptance.user) == (1, "Lía", desk["lider"].user)
    ticket.refresh_from_db()
    assert ticket.terms_pending is None
    actions.add_reply(actor=desk["staff"], ticket=ticket, body="Empezamos", now=NOW)
    assert 'id="terms"' not in client.get(f"/w/horas/solicitudes/{ticket.number}/").content.decode()


def test_a_new_version_applies_to_new_tickets_only(desk: dict[str, Any]) -> None:
    publish_terms(workspace=desk["ws"], text_es="Versión dos", text_en="", now=NOW)
    second = actions.create_ticket(
        actor=desk["client"],
        requester=desk["lider"],
        channel=Channel.PORTAL,
        now=NOW,
        subject="Otro",
        description="d",
        ticket_type=TicketType.objects.get(workspace=desk["ws"], code="soporte"),
    )
    assert (desk["ticket"].terms_pending.version, second.terms_pending.version) == (1, 2)


def test_staff_cannot_accept_for_the_customer_and_the_api_accepts_for_the_customer(desk: dict[str, Any]) -> None:
    from radicado.tickets.terms import TermsError, accept_terms

    with pytest.raises(TermsError):
        accept_terms(actor=desk["staff"], ticket=desk["ticket"], now=NOW)
    _, raw = issue_api_token(workspace=desk["ws"], user=desk["lider"].user, name="t", now=NOW)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    number = desk["ticket"].number
    assert api.get(f"/api/v1/tickets/{number}").json()["terms_pending"] == 1
    assert api.post(f"/api/v1/tickets/{number}/terms/accept").json()["terms_pending"] is None
    assert api.post(f"/api/v1/tickets/{number}/terms/accept").status_code == 400
