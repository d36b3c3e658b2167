"""No role can read, list, search, download or change what is not theirs.

The cast (see the root conftest): workspace andes has tickets 1 (carol, ACME,
with a public file and an internal note with a file), 2 (dave, ACME key user)
and 3 (erin, Globex); workspace brisa has its own ticket 1 (grace).
"""

from __future__ import annotations

import pytest

from conftest import Cast
from radicado.tickets.models import Attachment, Reply

# who -> the andes ticket numbers they may see
PORTAL_SCOPE = {"carol": {1}, "dave": {1, 2}, "erin": {3}}


@pytest.mark.parametrize("who", sorted(PORTAL_SCOPE))
@pytest.mark.parametrize("number", [1, 2, 3])
def test_portal_request_view_answers_404_outside_the_customers_scope(cast: Cast, who: str, number: int) -> None:
    response = cast.client(who).get(f"/w/andes/solicitudes/{number}/")
    assert response.status_code == (200 if number in PORTAL_SCOPE[who] else 404)


@pytest.mark.parametrize("who", sorted(PORTAL_SCOPE))
def test_portal_list_shows_only_the_customers_scope(cast: Cast, who: str) -> None:
    html = cast.client(who).get("/w/andes/?ver=todas").content.decode()
    for key, ticket in cast.tickets.items():
        visible = key.startswith("A-") and ticket.number in PORTAL_SCOPE[who]
        assert (ticket.subject in html) == visible, (who, key)


@pytest.mark.parametrize("who", ["carol", "dave", "erin", "bob", "alice"])
def test_nobody_reaches_another_workspace(cast: Cast, who: str) -> None:
    client = cast.client(who)
    for url in [
        "/w/brisa/",
        "/w/brisa/solicitudes/1/",
        "/w/brisa/console/",
        "/w/brisa/console/t/1/",
        "/w/brisa/console/filas/",
    ]:
        assert client.get(url).status_code == 404, url
    b_file = Attachment.objects.get(ticket=cast.tickets["B-1"])
    assert client.get(f"/w/andes/adjuntos/{b_file.id}/").status_code == 404
    assert client.get(f"/w/brisa/adjuntos/{b_file.id}/").status_code == 404


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_customers_never_reach_the_console(cast: Cast, who: str) -> None:
    client = cast.client(who)
    assert client.get("/w/andes/console/").status_code == 404
    assert client.get("/w/andes/console/t/1/").status_code == 404
    assert client.post("/w/andes/console/t/1/mensaje/", {"body": "x", "kind": "note"}).status_code == 404


def test_agent_queue_lists_and_searches_only_its_workspace(cast: Cast) -> None:
    client = cast.client("bob")
    html = client.get("/w/andes/console/?status=all").content.decode()
    assert "Impresora de Carol" in html and "Factura de Erin" in html
    assert "Telefonía de Grace" not in html
    found = client.get("/w/andes/console/filas/?status=all&q=Grace").content.decode()
    assert "Telefonía de Grace" not in found
    # ticket number 1 of andes is Carol's, never Grace's (numbers are per workspace)
    assert "Impresora de Carol" in client.get("/w/andes/console/t/1/").content.decode()


def test_internal_notes_and_their_files_are_invisible_to_customers(cast: Cast) -> None:
    note_file = Attachment.objects.get(ticket=cast.tickets["A-1"], note__isnull=False)
    public_file = Attachment.objects.get(ticket=cast.tickets["A-1"], note__isnull=True)
    for who in ("carol", "dave"):
        client = cast.client(who)
        html = client.get("/w/andes/solicitudes/1/").content.decode()
        assert "Respuesta pública" in html
        assert "Nota interna secreta" not in html and "interno.txt" not in html
        assert client.get(f"/w/andes/adjuntos/{note_file.id}/").status_code == 404
        assert client.get(f"/w/andes/adjuntos/{public_file.id}/").status_code == 200
    staff = cast.client("bob")
    assert "Nota interna secreta" in staff.get("/w/andes/console/t/1/").content.decode()
    assert staff.get(f"/w/andes/adjuntos/{note_file.id}/").status_code == 200


def test_a_contact_cannot_download_another_customers_file(cast: Cast) -> None:
    erin_file = Attachment.objects.get(ticket=cast.tickets["A-3"])
    assert cast.client("carol").get(f"/w/andes/adjuntos/{erin_file.id}/").status_code == 404
    assert cast.client("dave").get(f"/w/andes/adjuntos/{erin_file.id}/").status_code == 404
    assert cast.client("erin").get(f"/w/andes/adjuntos/{erin_file.id}/").status_code == 200


def test_a_contact_cannot_change_another_customers_ticket(cast: Cast) -> None:
    client = cast.client("carol")
    before = Reply.objects.count()
    assert client.post("/w/andes/solicitudes/3/responder/", {"body": "intruso"}).status_code == 404
    assert client.post("/w/andes/solicitudes/3/estado/", {"to": "cerrado"}).status_code == 404
    assert client.post("/w/brisa/solicitudes/1/responder/", {"body": "intruso"}).status_code == 404
    assert Reply.objects.count() == before
    cast.tickets["A-3"].refresh_from_db()
    assert cast.tickets["A-3"].category == "new"


def test_an_agent_cannot_change_another_workspaces_ticket(cast: Cast) -> None:
    client = cast.client("frank")
    assert client.post("/w/andes/console/t/1/cambiar/", {"field": "level", "value": "n2"}).status_code == 404
    assert client.post("/w/andes/console/t/1/mensaje/", {"body": "x"}).status_code == 404
    cast.tickets["A-1"].refresh_from_db()
    assert cast.tickets["A-1"].level == "n1"


def test_downloads_are_forced_as_attachments_and_never_sniffed(cast: Cast) -> None:
    public_file = Attachment.objects.get(ticket=cast.tickets["A-1"], note__isnull=True)
    response = cast.client("carol").get(f"/w/andes/adjuntos/{public_file.id}/")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"\x89PNG fake image bytes"  # type: ignore[attr-defined]


def test_anonymous_visitors_are_sent_to_sign_in(cast: Cast) -> None:
    from django.test import Client

    response = Client().get("/w/andes/solicitudes/1/")
    assert response.status_code == 302 and response["Location"].startswith("/entrar/")
