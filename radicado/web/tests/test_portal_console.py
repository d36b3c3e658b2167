"""Portal and console flows through Django's test client (browser flows live in tests/browser)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import Cast
from radicado.tickets.models import Attachment, Ticket


def test_a_contact_registers_a_request_with_files_and_an_agent_answers(cast: Cast) -> None:
    carol = cast.client("carol")
    response = carol.post(
        "/w/andes/solicitudes/nueva/",
        {
            "type": "requerimiento",
            "subject": "Nuevo usuario",
            "description": "Para la sede norte",
            "attachments": [SimpleUploadedFile("orden.pdf", b"%PDF-1.4 demo"), SimpleUploadedFile("foto.jpg", b"jpg")],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(workspace=cast.ws_a, subject="Nuevo usuario")
    assert response["Location"] == f"/w/andes/solicitudes/{ticket.number}/"
    assert sorted(Attachment.objects.filter(ticket=ticket).values_list("filename", flat=True)) == [
        "foto.jpg",
        "orden.pdf",
    ]
    bob = cast.client("bob")
    assert "Nuevo usuario" in bob.get("/w/andes/console/").content.decode()
    bob.post(f"/w/andes/console/t/{ticket.number}/mensaje/", {"kind": "reply", "body": "Listo, usuario creado"})
    bob.post(f"/w/andes/console/t/{ticket.number}/mensaje/", {"kind": "note", "body": "Creado en el AD"})
    page = carol.get(f"/w/andes/solicitudes/{ticket.number}/").content.decode()
    assert "Listo, usuario creado" in page and "Creado en el AD" not in page


def test_a_failed_registration_keeps_what_was_typed(cast: Cast) -> None:
    response = cast.client("carol").post(
        "/w/andes/solicitudes/nueva/",
        {
            "type": "incidente",
            "subject": "Mi asunto",
            "description": "Mucho texto escrito",
            "attachments": [SimpleUploadedFile("malo.exe", b"MZ")],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Mi asunto" in html and "Mucho texto escrito" in html and "malo.exe" in html
    assert not Ticket.objects.filter(subject="Mi asunto").exists()


def test_htmx_reply_returns_only_the_conversation(cast: Cast) -> None:
    response = cast.client("carol").post(
        "/w/andes/solicitudes/1/responder/", {"body": "Gracias"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Gracias" in html and "<html" not in html


def test_queue_filters_and_orders_by_priority_then_arrival(cast: Cast) -> None:
    bob = cast.client("bob")
    bob.post("/w/andes/console/t/3/cambiar/", {"field": "priority", "value": "urgente"})
    bob.post("/w/andes/console/t/2/cambiar/", {"field": "level", "value": "n2"})
    html = bob.get("/w/andes/console/filas/").content.decode()
    assert html.index("AND-000003") < html.index("AND-000001") < html.index("AND-000002")
    n2 = bob.get("/w/andes/console/filas/?level=n2").content.decode()
    assert "AND-000002" in n2 and "AND-000001" not in n2
    by_customer = bob.get(f"/w/andes/console/filas/?customer={cast.globex.id}").content.decode()
    assert "AND-000003" in by_customer and "AND-000001" not in by_customer
    searched = bob.get("/w/andes/console/filas/?q=AND-000002").content.decode()
    assert "AND-000002" in searched and "AND-000003" not in searched


def test_side_panel_changes_assignee_team_and_status(cast: Cast) -> None:
    bob = cast.client("bob")
    member = cast.ws_a.memberships.get(user=cast.users["sam"])
    bob.post("/w/andes/console/t/2/cambiar/", {"field": "assignee", "value": str(member.id)})
    bob.post("/w/andes/console/t/2/cambiar/", {"field": "team", "value": "n2"})
    bob.post("/w/andes/console/t/2/cambiar/", {"field": "status", "value": "resuelto"})
    ticket = Ticket.objects.get(workspace=cast.ws_a, number=2)
    assert (ticket.assignee_id, ticket.team.code if ticket.team else None, ticket.category) == (
        member.id,
        "n2",
        "resolved",
    )
    mine = bob.get(f"/w/andes/console/filas/?assignee={member.id}&status=all").content.decode()
    assert "AND-000002" in mine and "AND-000001" not in mine
    bad = bob.post("/w/andes/console/t/2/cambiar/", {"field": "status", "value": "nuevo"})
    assert bad.status_code == 400


def test_an_agent_logs_a_phone_call_for_a_contact(cast: Cast) -> None:
    bob = cast.client("bob")
    response = bob.post(
        "/w/andes/console/nuevo/",
        {
            "contact": cast.contacts["erin"].id,
            "type": "incidente",
            "priority": "alta",
            "subject": "Llamada: no factura",
            "description": "Llamó a las 9:00",
        },
    )
    ticket = Ticket.objects.get(subject="Llamada: no factura")
    assert response["Location"] == f"/w/andes/console/t/{ticket.number}/"
    assert (ticket.channel, ticket.customer_id, ticket.priority.code) == ("phone", cast.globex.id, "alta")
    assert "Llamada: no factura" in cast.client("erin").get("/w/andes/").content.decode()
    foreign = bob.post(
        "/w/andes/console/nuevo/",
        {"contact": cast.contacts["grace"].id, "type": "incidente", "subject": "x", "description": "y"},
    )
    assert foreign.status_code == 400


def test_help_page_walks_through_registering_and_following(cast: Cast) -> None:
    html = cast.client("carol").get("/w/andes/ayuda/").content.decode()
    assert html.count("<li><h2>") == 5
