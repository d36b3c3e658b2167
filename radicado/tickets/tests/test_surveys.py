"""Satisfaction survey on resolve (I8, T8): a link that needs no login, answered once."""

from __future__ import annotations

import re
from email.parser import BytesParser
from email.policy import default as default_policy

from django.test import Client

from conftest import NOW, Cast
from radicado.channels.actions import create_mailbox
from radicado.channels.models import OutboundMail
from radicado.tickets import actions
from radicado.tickets.models import Survey, TicketEvent


def resolve(cast: Cast, key: str = "A-1") -> None:
    actions.transition_ticket(actor=cast.actor("bob"), ticket=cast.tickets[key], to_state="resuelto", now=NOW)


def test_resolving_sends_one_survey_link_that_works_without_login(cast: Cast) -> None:
    create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="Soporte", now=NOW)
    resolve(cast)
    mail = OutboundMail.objects.filter(ticket=cast.tickets["A-1"]).latest("id")
    message = BytesParser(policy=default_policy).parsebytes(bytes(mail.raw))
    assert message["Auto-Submitted"] == "auto-generated" and mail.rcpt_to == ["carol@example.com"]
    match = re.search(r"http://127\.0\.0\.1:8000(/encuesta/[\w-]+/)", message.get_content())
    assert match is not None
    anonymous = Client()
    assert "Impresora de Carol" in anonymous.get(match.group(1)).content.decode()
    anonymous.post(match.group(1), {"score": "4", "comment": "Rápido y amable"})
    survey = Survey.objects.get(ticket=cast.tickets["A-1"])
    assert (survey.score, survey.comment) == (4, "Rápido y amable")
    again = anonymous.post(match.group(1), {"score": "1"})
    assert 'id="survey-done"' in again.content.decode()
    survey.refresh_from_db()
    assert survey.score == 4
    assert list(TicketEvent.objects.filter(kind__startswith="survey").values_list("kind", flat=True)) == [
        "survey_sent",
        "survey_answered",
    ]


def test_reopening_and_resolving_again_does_not_send_a_second_survey(cast: Cast) -> None:
    resolve(cast)
    actions.transition_ticket(actor=cast.actor("carol"), ticket=cast.tickets["A-1"], to_state="en_curso", now=NOW)
    resolve(cast)
    assert Survey.objects.filter(ticket=cast.tickets["A-1"]).count() == 1


def test_the_requester_answers_in_the_portal_and_others_do_not_see_the_form(cast: Cast) -> None:
    resolve(cast)
    assert 'id="survey"' not in cast.client("dave").get("/w/andes/solicitudes/1/").content.decode()
    assert cast.client("dave").post("/w/andes/solicitudes/1/encuesta/", {"score": "5"}).status_code == 404
    carol = cast.client("carol")
    assert 'id="survey"' in carol.get("/w/andes/solicitudes/1/").content.decode()
    bad = carol.post("/w/andes/solicitudes/1/encuesta/", {"score": "9"})
    assert bad.status_code == 400
    carol.post("/w/andes/solicitudes/1/encuesta/", {"score": "5", "comment": "Excelente"})
    assert Survey.objects.get(ticket=cast.tickets["A-1"]).score == 5
    assert 'id="survey-done"' in carol.get("/w/andes/solicitudes/1/").content.decode()


def test_an_unknown_survey_link_is_404(cast: Cast) -> None:
    assert Client().get("/encuesta/no-such-token/").status_code == 404
