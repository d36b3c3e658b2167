"""Customer confirmations (H3, H5): the ticket waits for the customer's approval."""

from __future__ import annotations

import re
from decimal import Decimal
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest
from django.test import Client
from django.utils import translation

from conftest import NOW, Cast
from radicado.channels.actions import create_mailbox
from radicado.channels.models import OutboundMail
from radicado.errors import UserError
from radicado.sla.models import Clock
from radicado.tickets.confirmations import ConfirmationError, request_confirmation
from radicado.tickets.models import Confirmation, ConfirmationKind, Ticket


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


def ticket(cast: Cast, key: str = "A-1") -> Ticket:
    return Ticket.objects.select_related("state", "workspace", "customer").get(id=cast.tickets[key].id)


def test_the_ticket_waits_for_the_customers_approval_and_resumes(cast: Cast) -> None:
    t = ticket(cast)
    assert t.state.code == "en_curso"
    request_confirmation(
        actor=cast.actor("bob"),
        ticket=t,
        kind=ConfirmationKind.ESTIMATE,
        description="Reinstalar el controlador: 3 horas",
        hours=Decimal("3"),
        now=NOW,
    )
    t = ticket(cast)
    assert t.category == "waiting"
    carol = cast.client("carol")
    page = carol.get("/w/andes/solicitudes/1/").content.decode()
    assert "Reinstalar el controlador" in page
    c = Confirmation.objects.get(ticket=t)
    assert (
        cast.client("erin").post(f"/w/andes/solicitudes/1/aprobaciones/{c.id}/", {"answer": "approve"}).status_code
        == 404
    )
    carol.post(f"/w/andes/solicitudes/1/aprobaciones/{c.id}/", {"answer": "approve"})
    c.refresh_from_db()
    assert (c.status, c.answered_by_name) == ("approved", "Carol")
    assert ticket(cast).state.code == "en_curso"
    again = carol.post(f"/w/andes/solicitudes/1/aprobaciones/{c.id}/", {"answer": "decline"})
    assert again.status_code == 400


def test_an_estimate_above_the_approved_one_is_asked_again(cast: Cast) -> None:
    bob = cast.actor("bob")
    c, _ = request_confirmation(
        actor=bob, ticket=ticket(cast), kind=ConfirmationKind.ESTIMATE, description="3 h", hours=Decimal("3"), now=NOW
    )
    Confirmation.objects.filter(id=c.id).update(status="approved")
    with pytest.raises(ConfirmationError, match="already approved"):
        request_confirmation(
            actor=bob,
            ticket=ticket(cast),
            kind=ConfirmationKind.ESTIMATE,
            description="2 h",
            hours=Decimal("2"),
            now=NOW,
        )
    bigger, _ = request_confirmation(
        actor=bob,
        ticket=ticket(cast),
        kind=ConfirmationKind.ESTIMATE,
        description="Ahora 5 h",
        hours=Decimal("5"),
        now=NOW,
    )
    assert bigger.status == "pending"


def test_a_newer_request_replaces_a_pending_one_and_a_key_user_may_answer(cast: Cast) -> None:
    bob = cast.actor("bob")
    first, _ = request_confirmation(
        actor=bob,
        ticket=ticket(cast),
        kind=ConfirmationKind.QUOTE,
        description="Cotización 1",
        amount=Decimal("500000"),
        now=NOW,
    )
    second, _ = request_confirmation(
        actor=bob,
        ticket=ticket(cast),
        kind=ConfirmationKind.QUOTE,
        description="Cotización 2",
        amount=Decimal("450000"),
        now=NOW,
    )
    first.refresh_from_db()
    assert first.status == "superseded"
    cast.client("dave").post(f"/w/andes/solicitudes/1/aprobaciones/{second.id}/", {"answer": "decline"})
    second.refresh_from_db()
    assert (second.status, second.answered_by_name) == ("declined", "Dave")


def test_the_emailed_link_answers_without_signing_in_and_clocks_pause_meanwhile(cast: Cast) -> None:
    create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="S", now=NOW)
    t = ticket(cast, "A-3")  # Erin's new ticket, first response still running
    request_confirmation(
        actor=cast.actor("bob"),
        ticket=t,
        kind=ConfirmationKind.ACCESS,
        description="Acceso remoto al servidor de facturas",
        now=NOW,
    )
    assert Clock.objects.get(ticket=t, kind="first_response").state == "paused"
    mail = OutboundMail.objects.filter(ticket=t).latest("id")
    body = BytesParser(policy=default_policy).parsebytes(bytes(mail.raw)).get_content()
    link = re.search(r"http://127\.0\.0\.1:8000(/confirmacion/[\w-]+/)", body)
    assert link is not None
    anonymous = Client()
    assert "Acceso remoto" in anonymous.get(link.group(1)).content.decode()
    anonymous.post(link.group(1), {"answer": "approve"})
    assert Confirmation.objects.get(ticket=t).status == "approved"
    assert ticket(cast, "A-3").category == "new"
    assert Clock.objects.get(ticket=t, kind="first_response").state == "running"
    assert Client().get("/confirmacion/nope/").status_code == 404


def test_only_staff_ask_and_only_from_the_console(cast: Cast) -> None:
    with pytest.raises(UserError, match="staff"):
        request_confirmation(
            actor=cast.actor("carol"), ticket=ticket(cast), kind=ConfirmationKind.QUOTE, description="x", now=NOW
        )
    bob = cast.client("bob")
    bob.post(
        "/w/andes/console/t/2/aprobacion/", {"kind": "survey", "description": "Relevamiento de 1 h", "hours": "1,5"}
    )
    c = Confirmation.objects.get(ticket=cast.tickets["A-2"])
    assert (c.kind, c.hours) == ("survey", Decimal("1.5"))
    bad = bob.post("/w/andes/console/t/2/aprobacion/", {"kind": "quote", "description": "x", "amount": "mucho"})
    assert bad.status_code == 400
