"""Bad input to every portal and console form: a 4xx page with the message beside the field, nothing written.

Unicode digits (``"²".isdigit()`` is True and ``int("١")`` is 1), huge integers, NaN and Infinity, negative
amounts, NUL characters and over-long strings are user errors (400), never a 500 and never a write.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from conftest import NOW, PASSWORD, Cast
from radicado.notifications.models import NotificationRule
from radicado.tickets import actions
from radicado.tickets.confirmations import request_confirmation
from radicado.tickets.models import Confirmation, ConfirmationKind, ConfirmationStatus, Note, Reply, Survey, Ticket
from radicado.tickets.surveys import start_survey
from radicado.workspaces.models import AuditEntry

HUGE = str(10**30)
BAD_INTEGERS = ["²", "١", "١٢", HUGE, "-1", "1.5", "abc", "1\x00", "9" * 5000]
BAD_AMOUNTS = ["NaN", "nan", "Infinity", "-Infinity", "-1", "1e3", "²", "١", HUGE, "1,2,3", "0x10", "1\x00"]


def refused(response: Any, input_id: str | None = None, status: int = 400) -> str:
    """Assert a refusal: the status, and the message right beside the input ``input_id``."""
    html = response.content.decode()
    assert response.status_code == status, html[:2000]
    if input_id is not None:
        assert f'id="{input_id}-error"' in html, html[:4000]
    return html


# --- portal ---------------------------------------------------------------------------------------

NEW = "/w/andes/solicitudes/nueva/"
GOOD_REQUEST = {"type": "incidente", "subject": "Asunto", "description": "Detalle"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "x" * 251),
        ("subject", "a\x00b"),
        ("subject", ""),
        ("description", "d\x00"),
        ("description", "d" * 100_001),
        ("type", "no-existe"),
        ("type", "x" * 500),
        ("urgency", "muy-alta-inventada"),
    ],
)
def test_a_bad_new_request_is_refused_beside_the_field(cast: Cast, field: str, value: str) -> None:
    before = Ticket.objects.count()
    response = cast.client("carol").post(NEW, {**GOOD_REQUEST, field: value})
    refused(response, field)
    assert Ticket.objects.count() == before


def test_the_new_request_messages_are_in_spanish_first(cast: Cast) -> None:
    html = refused(cast.client("carol").post(NEW, {**GOOD_REQUEST, "subject": ""}), "subject")
    assert "Escriba un asunto corto." in html
    html = refused(cast.client("carol").post(NEW, {**GOOD_REQUEST, "subject": "x" * 251}), "subject")
    assert "250" in html


@pytest.mark.parametrize("body", ["", "a\x00b", "b" * 100_001])
def test_a_bad_portal_reply_is_refused_beside_the_body(cast: Cast, body: str) -> None:
    before = Reply.objects.count()
    refused(cast.client("carol").post("/w/andes/solicitudes/1/responder/", {"body": body}), "body")
    refused(
        cast.client("carol").post("/w/andes/solicitudes/1/responder/", {"body": body}, HTTP_HX_REQUEST="true"), "body"
    )
    assert Reply.objects.count() == before


@pytest.mark.parametrize("to", ["no-existe", "", "x\x00", "x" * 300])
def test_a_bad_portal_transition_is_refused(cast: Cast, to: str) -> None:
    html = refused(cast.client("carol").post("/w/andes/solicitudes/1/estado/", {"to": to}))
    assert 'role="alert"' in html
    ticket = Ticket.objects.get(id=cast.tickets["A-1"].id)
    assert ticket.state_id == cast.tickets["A-1"].state_id


def _survey_token(cast: Cast) -> str:
    actions.transition_ticket(actor=cast.actor("bob"), ticket=cast.tickets["A-1"], to_state="resuelto", now=NOW)
    Survey.objects.filter(ticket=cast.tickets["A-1"]).delete()  # start again, to learn the token
    token = start_survey(ticket=Ticket.objects.get(id=cast.tickets["A-1"].id), now=NOW)
    assert token is not None
    return token


@pytest.mark.parametrize("score", [*BAD_INTEGERS, "0", "6", ""])
def test_a_bad_survey_score_is_refused_beside_the_scores(cast: Cast, score: str) -> None:
    token = _survey_token(cast)
    refused(Client().post(f"/encuesta/{token}/", {"score": score}), "score")
    refused(cast.client("carol").post("/w/andes/solicitudes/1/encuesta/", {"score": score}), "score")
    assert Survey.objects.get(ticket=cast.tickets["A-1"]).answered_at is None


def test_a_survey_comment_with_nul_or_too_long_is_refused(cast: Cast) -> None:
    token = _survey_token(cast)
    refused(Client().post(f"/encuesta/{token}/", {"score": "4", "comment": "a\x00"}), "comment")
    refused(Client().post(f"/encuesta/{token}/", {"score": "4", "comment": "c" * 2001}), "comment")
    assert Survey.objects.get(ticket=cast.tickets["A-1"]).answered_at is None
    assert Client().post(f"/encuesta/{token}/", {"score": "4", "comment": "Bien"}).status_code == 200
    assert Survey.objects.get(ticket=cast.tickets["A-1"]).score == 4


@pytest.mark.parametrize("answer", ["", "maybe", "approve\x00", "APPROVE"])
def test_a_bad_confirmation_answer_is_refused_and_stays_pending(cast: Cast, answer: str) -> None:
    confirmation, token = request_confirmation(
        actor=cast.actor("bob"), ticket=cast.tickets["A-1"], kind=ConfirmationKind.ESTIMATE, description="2 h", now=NOW
    )
    refused(Client().post(f"/confirmacion/{token}/", {"answer": answer}))
    url = f"/w/andes/solicitudes/1/aprobaciones/{confirmation.id}/"
    refused(cast.client("carol").post(url, {"answer": answer}))
    confirmation.refresh_from_db()
    assert confirmation.status == ConfirmationStatus.PENDING


def test_accepting_terms_that_are_not_pending_is_a_message_not_a_500(cast: Cast) -> None:
    html = refused(cast.client("carol").post("/w/andes/solicitudes/1/terminos/", {}))
    assert 'role="alert"' in html


# --- console --------------------------------------------------------------------------------------

TICKET = "/w/andes/console/t/1/"


@pytest.mark.parametrize(
    ("data", "input_id"),
    [
        ({"kind": "reply", "body": ""}, "body"),
        ({"kind": "reply", "body": "a\x00"}, "body"),
        ({"kind": "note", "body": "n" * 100_001}, "body"),
        ({"kind": "telegram", "body": "hola"}, "kind"),
    ],
)
def test_a_bad_console_message_is_refused_beside_the_field(cast: Cast, data: dict[str, str], input_id: str) -> None:
    replies, notes = Reply.objects.count(), Note.objects.count()
    refused(cast.client("bob").post(f"{TICKET}mensaje/", data), input_id)
    refused(cast.client("bob").post(f"{TICKET}mensaje/", data, HTTP_HX_REQUEST="true"), input_id)
    assert (Reply.objects.count(), Note.objects.count()) == (replies, notes)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "no-existe"),
        ("priority", "altísima"),
        ("priority", "a\x00"),
        ("type", "x" * 51),
        ("assignee", "١"),
        ("assignee", HUGE),
        ("team", "no-existe"),
        ("level", "n9"),
    ],
)
def test_a_bad_side_panel_change_is_refused_beside_its_select(cast: Cast, field: str, value: str) -> None:
    before = Ticket.objects.values().get(id=cast.tickets["A-1"].id)
    refused(cast.client("bob").post(f"{TICKET}cambiar/", {"field": field, "value": value}), f"f-{field}")
    assert Ticket.objects.values().get(id=cast.tickets["A-1"].id) == before


def test_an_unknown_side_panel_field_is_refused(cast: Cast) -> None:
    html = refused(cast.client("bob").post(f"{TICKET}cambiar/", {"field": "subject", "value": "x"}))
    assert 'role="alert"' in html


def test_a_valid_side_panel_change_still_works(cast: Cast) -> None:
    assignee = cast.actor("bob").membership
    assert assignee is not None
    response = cast.client("bob").post(f"{TICKET}cambiar/", {"field": "assignee", "value": str(assignee.id)})
    assert response.status_code == 302
    assert Ticket.objects.get(id=cast.tickets["A-1"].id).assignee_id == assignee.id
    response = cast.client("bob").post(f"{TICKET}cambiar/", {"field": "level", "value": "n2"})
    assert response.status_code == 302 and Ticket.objects.get(id=cast.tickets["A-1"].id).level == "n2"


@pytest.mark.parametrize("contact", [*BAD_INTEGERS, "", "0"])
def test_phone_intake_refuses_a_bad_contact_beside_the_field(cast: Cast, contact: str) -> None:
    before = Ticket.objects.count()
    data = {"contact": contact, "type": "incidente", "subject": "Llamada", "description": "Dijo"}
    refused(cast.client("bob").post("/w/andes/console/nuevo/", data), "contact")
    assert Ticket.objects.count() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("subject", "s" * 251), ("description", "a\x00"), ("type", "no-existe"), ("priority", "nope"), ("impact", "x")],
)
def test_phone_intake_refuses_other_bad_fields(cast: Cast, field: str, value: str) -> None:
    before = Ticket.objects.count()
    contact = str(cast.contacts["carol"].id)
    data = {"contact": contact, "type": "incidente", "subject": "Llamada", "description": "Dijo", field: value}
    refused(cast.client("bob").post("/w/andes/console/nuevo/", data), field)
    assert Ticket.objects.count() == before


def test_phone_intake_refuses_a_contact_of_another_workspace(cast: Cast) -> None:
    data = {"contact": str(cast.contacts["grace"].id), "type": "incidente", "subject": "Llamada", "description": "D"}
    refused(cast.client("bob").post("/w/andes/console/nuevo/", data), "contact")


@pytest.mark.parametrize("value", BAD_INTEGERS)
def test_outbox_retry_and_mail_review_refuse_bad_ids(cast: Cast, value: str) -> None:
    alice = cast.client("alice")
    refused(alice.post("/w/andes/console/salida/", {"channel": "email", "id": value}))
    refused(alice.post("/w/andes/console/correo/", {"raw": value}))
    assert not AuditEntry.objects.filter(action="outbox.retried").exists()


def test_outbox_filters_refuse_a_nul_or_an_overlong_cursor(cast: Cast) -> None:
    alice = cast.client("alice")
    refused(alice.get("/w/andes/console/salida/", {"before": "x" * 101}))
    refused(alice.get("/w/andes/console/salida/", {"status": "a\x00"}))
    assert alice.get("/w/andes/console/salida/", {"status": "nonsense"}).status_code == 200


ASK = f"{TICKET}aprobacion/"


@pytest.mark.parametrize("field", ["hours", "amount"])
@pytest.mark.parametrize("value", [*BAD_AMOUNTS, "1234567"])
def test_ask_confirmation_refuses_bad_hours_and_amounts_beside_the_field(cast: Cast, field: str, value: str) -> None:
    if field == "amount" and value == "1234567":
        value = "1" * 13  # 14 digits with 2 decimals: at most 12 before the comma
    data = {"kind": "estimate", "description": "Cambio de disco", field: value}
    html = refused(cast.client("bob").post(ASK, data, HTTP_HX_REQUEST="true"), f"c-{field}")
    assert 'id="ask-confirmation" open' in html
    refused(cast.client("bob").post(ASK, data), f"c-{field}")
    assert not Confirmation.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("kind", "bribe"), ("kind", ""), ("description", ""), ("description", "a\x00")]
)
def test_ask_confirmation_refuses_a_bad_kind_or_description(cast: Cast, field: str, value: str) -> None:
    data = {"kind": "estimate", "description": "Cambio de disco", field: value}
    refused(cast.client("bob").post(ASK, data), f"c-{field}")
    assert not Confirmation.objects.exists()


def test_ask_confirmation_accepts_a_decimal_comma(cast: Cast) -> None:
    data = {"kind": "estimate", "description": "Cambio de disco", "hours": "2,5", "amount": "1500000.50"}
    assert cast.client("bob").post(ASK, data).status_code == 302
    confirmation = Confirmation.objects.get()
    assert (confirmation.hours, confirmation.amount) == (Decimal("2.5"), Decimal("1500000.50"))


QUEUE = "/w/andes/console/"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        *[("offset", v) for v in BAD_INTEGERS],
        ("customer", "١"),
        ("customer", HUGE),
        ("assignee", "²"),
        ("q", "q" * 101),
        ("q", "a\x00"),
        ("level", "n9"),
        ("category", "nonsense"),
        ("status", "s" * 51),
    ],
)
def test_queue_filters_refuse_bad_values(cast: Cast, param: str, value: str) -> None:
    bob = cast.client("bob")
    html = refused(bob.get(QUEUE, {param: value}))
    assert 'id="filter-error"' in html and "Impresora de Carol" not in html
    refused(bob.get(QUEUE, {param: value}, HTTP_HX_REQUEST="true"))
    refused(bob.get(f"{QUEUE}filas/", {param: value}))


def test_queue_filters_still_filter(cast: Cast) -> None:
    bob = cast.client("bob")
    html = bob.get(QUEUE, {"customer": str(cast.globex.id), "offset": "0"}).content.decode()
    assert "Factura de Erin" in html and "Impresora de Carol" not in html
    assert "Impresora de Carol" not in bob.get(QUEUE, {"offset": "50"}).content.decode()


RULE = "/w/andes/console/avisos/nueva/"
GOOD_RULE = {"event": "ticket.closed", "audience": "requester", "channel": "email", "body_es": "Hola"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event", "no.existe"),
        ("audience", "everyone"),
        ("channel", "fax"),
        ("subject_es", "s" * 301),
        ("subject_en", "a\x00"),
        ("body_es", ""),
        ("body_es", "{% if %}"),
        ("body_en", "b" * 100_001),
    ],
)
def test_a_bad_notification_rule_is_refused_beside_the_field(cast: Cast, field: str, value: str) -> None:
    before = list(NotificationRule.objects.values())
    refused(cast.client("alice").post(RULE, {**GOOD_RULE, field: value, "save": "1"}), field)
    assert list(NotificationRule.objects.values()) == before


def test_a_rule_preview_with_a_nul_is_refused_and_a_broken_template_is_previewed(cast: Cast) -> None:
    alice = cast.client("alice")
    refused(alice.post(RULE, {**GOOD_RULE, "body_es": "a\x00", "preview": "1"}), "body_es")
    html = alice.post(RULE, {**GOOD_RULE, "body_es": "{% if %}", "preview": "1"}).content.decode()
    assert 'id="preview"' in html


# --- sign-in --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"email": "carol@example.com\x00", "password": PASSWORD},
        {"email": "e" * 300, "password": PASSWORD},
        {"email": "carol@example.com", "password": "p" * 5000},
        {"email": "carol@example.com", "password": ""},
        {"email": "carol@example.com", "password": PASSWORD, "next": "n" * 3000},
    ],
)
def test_bad_sign_in_input_is_a_400(db: Any, data: dict[str, str]) -> None:
    html = refused(Client().post("/entrar/", data))
    assert 'id="login-error"' in html


def test_urls_with_huge_numbers_are_404_not_500(cast: Cast) -> None:
    assert cast.client("carol").get(f"/w/andes/solicitudes/{HUGE}/").status_code == 404
    assert cast.client("bob").get(f"/w/andes/console/t/{HUGE}/").status_code == 404
