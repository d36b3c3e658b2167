"""Habeas data (Ley 1581 de 2012): export a person, anonymise them, record consent; one workspace only."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms.models import model_to_dict

from conftest import NOW, Cast
from radicado.customers.actions import record_consent
from radicado.customers.models import Consent, ConsentChannel, Contact
from radicado.tickets import actions
from radicado.tickets.habeas import PersonNotFound, anonymise_person, export_person
from radicado.tickets.models import Note, Reply, Ticket, TicketEvent
from radicado.workspaces.models import AuditEntry, Membership, User

URL = "/w/andes/console/habeas/"
PHONE = "300 123 4567"


@pytest.fixture
def carol(cast: Cast) -> Cast:
    """Carol with a phone, a reply of hers that names herself, and an agent's reply that names her."""
    Contact.objects.filter(id=cast.contacts["carol"].id).update(phone=PHONE, phone_e164="+573001234567")
    User.objects.filter(id=cast.users["carol"].id).update(phone=PHONE)
    cast.contacts["carol"].refresh_from_db()
    ticket = cast.tickets["A-1"]
    actions.add_reply(
        actor=cast.actor("carol"),
        ticket=ticket,
        body=f"Soy Carol; llámeme al {PHONE} o escriba a carol@example.com",
        now=NOW,
    )
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Hola Carol, ya la llamamos al 3001234567.", now=NOW)
    return cast


def unzip(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("datos.json")), files


def test_the_export_holds_the_persons_data_and_nobody_elses(carol: Cast) -> None:
    record_consent(
        contact=carol.contacts["carol"],
        given_at=NOW,
        notice_version="2026-01",
        channel=ConsentChannel.PORTAL,
        actor=None,
        now=NOW,
    )
    response = carol.client("alice").post(f"{URL}exportar/", {"email": "Carol@Example.com"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data, files = unzip(response.content)
    assert data["contacts"][0]["name"] == "Carol" and data["contacts"][0]["phone"] == PHONE
    assert data["user"]["email"] == "carol@example.com"
    assert [c["notice_version"] for c in data["consents"]] == ["2026-01"]
    assert [t["subject"] for t in data["tickets"]] == ["Impresora de Carol"]
    assert [r["body"] for r in data["replies"]] == [f"Soy Carol; llámeme al {PHONE} o escriba a carol@example.com"]
    assert [a["filename"] for a in data["attachments"]] == ["captura.png"]
    assert list(files.values()) == [b"\x89PNG fake image bytes"]
    text = json.dumps(data, ensure_ascii=False)
    for other in ("Dave", "Erin", "Grace", "Nota interna secreta", "interno.txt", "Hola Carol"):
        assert other not in text
    assert AuditEntry.objects.filter(action="person.exported", actor=carol.users["alice"]).exists()


def test_the_export_command_writes_the_zip(carol: Cast, tmp_path: Path) -> None:
    out = tmp_path / "carol.zip"
    call_command("habeas", "export", workspace="andes", email="carol@example.com", out=str(out))
    data, _ = unzip(out.read_bytes())
    assert [t["subject"] for t in data["tickets"]] == ["Impresora de Carol"]
    with pytest.raises(CommandError):
        call_command("habeas", "export", workspace="andes", email="grace@example.com", out=str(out))
    with pytest.raises(CommandError):
        call_command("habeas", "anonymise", workspace="andes", email="carol@example.com")  # no --yes


def _rows(cast: Cast) -> str:
    """Every database row of carol's: her contact, user, memberships, tickets, their messages and events, audit."""
    ticket = Ticket.objects.get(id=cast.tickets["A-1"].id)
    rows: list[Any] = [
        model_to_dict(Contact.objects.get(id=cast.contacts["carol"].id)),
        model_to_dict(User.objects.get(id=cast.users["carol"].id), exclude=["password"]),
        model_to_dict(ticket),
        *Reply.objects.filter(ticket=ticket).values(),
        *Note.objects.filter(ticket=ticket).values(),
        *TicketEvent.objects.filter(ticket=ticket).values(),
        *AuditEntry.objects.filter(workspace=cast.ws_a).values(),
    ]
    return json.dumps(rows, default=str, ensure_ascii=False).lower()


def test_anonymising_leaves_no_trace_but_keeps_the_ticket_and_its_history(carol: Cast) -> None:
    before = _rows(carol)
    assert "carol" in before and "3001234567" in before and PHONE in before
    events = TicketEvent.objects.filter(ticket=carol.tickets["A-1"]).count()
    page = carol.client("alice").post(f"{URL}anonimizar/", {"email": "carol@example.com", "confirm": "on"})
    assert page.status_code == 200 and "Persona anonimizada" in page.content.decode()

    after = _rows(carol)
    for trace in ("carol", "3001234567", PHONE, "+573001234567"):
        assert trace not in after
    ticket = Ticket.objects.get(id=carol.tickets["A-1"].id)
    assert ticket.subject.startswith("Impresora de Persona anonimizada")
    assert TicketEvent.objects.filter(ticket=ticket).count() == events  # the history stays, every event
    contact = Contact.objects.get(id=carol.contacts["carol"].id)
    assert contact.email.startswith("anon-") and contact.email.endswith("@invalid") and not contact.phone
    user = User.objects.get(id=carol.users["carol"].id)
    assert not user.is_active and not user.has_usable_password()
    assert not Membership.objects.get(user=user, workspace=carol.ws_a).is_active
    assert Reply.objects.filter(ticket=ticket, body__contains="Respuesta pública").exists()  # texts kept
    entry = AuditEntry.objects.get(action="person.anonymised")
    assert entry.actor == carol.users["alice"] and entry.target == contact.email
    # Other people are untouched.
    assert Contact.objects.get(id=carol.contacts["dave"].id).name == "Dave"
    assert Ticket.objects.get(id=carol.tickets["B-1"].id).subject == "Telefonía de Grace"


def test_anonymising_asks_for_confirmation(carol: Cast) -> None:
    alice = carol.client("alice")
    assert alice.post(f"{URL}anonimizar/", {"email": "carol@example.com"}).status_code == 400
    assert alice.post(f"{URL}anonimizar/", {"email": "carol\x00@example.com", "confirm": "on"}).status_code == 400
    assert alice.post(f"{URL}exportar/", {"email": "x" * 300}).status_code == 400
    assert alice.get(URL, {"email": "carol\x00@example.com"}).status_code == 400
    assert Contact.objects.get(id=carol.contacts["carol"].id).name == "Carol"


def test_a_consent_is_recorded_and_shown_in_the_console(cast: Cast) -> None:
    alice = cast.client("alice")
    carol_id = cast.contacts["carol"].id
    form = {"contact": carol_id, "email": "carol@example.com", "given_on": "2026-11-02", "channel": "whatsapp"}
    assert alice.post(f"{URL}consentimiento/", form).status_code == 400  # the notice version is required
    done = alice.post(f"{URL}consentimiento/", {**form, "notice_version": "v3 2026"})
    assert done.status_code == 200 and "v3 2026" in done.content.decode()
    consent = Consent.objects.get(contact_id=carol_id)
    assert (consent.notice_version, consent.channel, consent.recorded_by) == (
        "v3 2026",
        "whatsapp",
        cast.users["alice"],
    )
    assert consent.given_at.date() == dt.date(2026, 11, 2)
    assert AuditEntry.objects.filter(action="contact.consent", target=f"contact:{carol_id}").exists()
    assert "v3 2026" in alice.get(URL, {"email": "carol@example.com"}).content.decode()


def test_habeas_data_stays_in_its_workspace_and_with_admins(carol: Cast) -> None:
    with pytest.raises(PersonNotFound):
        export_person(workspace=carol.ws_a, email="grace@example.com", actor=None, now=NOW)
    with pytest.raises(PersonNotFound):
        anonymise_person(workspace=carol.ws_b, email="carol@example.com", actor=None, now=NOW)
    alice = carol.client("alice")
    assert alice.post(f"{URL}exportar/", {"email": "grace@example.com"}).status_code == 404
    assert alice.post(f"{URL}anonimizar/", {"email": "grace@example.com", "confirm": "on"}).status_code == 404
    grace_form = {
        "contact": carol.contacts["grace"].id,
        "given_on": "2026-11-02",
        "notice_version": "1",
        "channel": "email",
    }
    assert alice.post(f"{URL}consentimiento/", grace_form).status_code == 404
    assert not Consent.objects.exists()
    assert Contact.objects.get(id=carol.contacts["grace"].id).name == "Grace"
    for who in ("bob", "frank", "carol"):
        assert carol.client(who).get(URL).status_code == 404
        assert carol.client(who).post(f"{URL}exportar/", {"email": "carol@example.com"}).status_code == 404
