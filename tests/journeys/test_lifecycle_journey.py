"""A request's whole life, by the clock (issue 4's journey; PROCESSES T7, T13, I8).

Carol registers an incident on Tuesday morning; the agent answers and Carol hears about it
by e-mail and by WhatsApp (an approved template: she has not written by WhatsApp in 24
hours); she answers by WhatsApp and it lands in her request; the agent resolves it; the
satisfaction survey arrives by e-mail and she answers it through its link, without signing
in; 48 hours after the resolution, with no word from her, the request closes on its own
and she is told. Every e-mail is received by a real SMTP server on loopback; every
WhatsApp request is received and checked by the local provider stand-in. Time moves only
when the test moves it.
"""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from conftest import use_tmp_storage
from radicado.channels import outbox, whatsapp_outbox
from radicado.channels.actions import create_mailbox
from radicado.channels.email.tests.servers import SmtpSink
from radicado.channels.models import WhatsAppAccount
from radicado.channels.whatsapp.tests import standin as s
from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.tickets import actions, automations
from radicado.tickets.models import Channel, Reply, Survey, Ticket, TicketEvent, TicketType
from radicado.tickets.profiles import install_profile, load_profile
from radicado.workspaces.actions import add_member, create_workspace, ensure_user
from radicado.workspaces.models import Level, Role

BOG = ZoneInfo("America/Bogota")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=BOG)  # a Tuesday


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def send_everything() -> None:
    """What the job runner's sweeps do every minute: send what is due, by both channels."""
    now = timezone.now()
    outbox.send_due(now=now)
    whatsapp_outbox.send_due(now=now)


@pytest.mark.django_db
def test_registration_whatsapp_follow_up_resolution_survey_and_auto_close(settings: Any, tmp_path: Path) -> None:
    use_tmp_storage(settings, tmp_path)
    ws = create_workspace(slug="nube", name="Nube", ticket_prefix="NUB", timezone="America/Bogota", now=T0)
    install_profile(workspace=ws, profile=load_profile("itil-saas"), now=T0)  # default rules: T7 + survey
    create_mailbox(workspace=ws, address="ayuda@nube.example.com", display_name="Mesa Nube", now=T0)
    agent_user = ensure_user(email="andres@nube.example.com", name="Andrés", password="x-password-1")
    add_member(workspace=ws, user=agent_user, role=Role.AGENT, level=Level.N1, now=T0)
    customer = create_customer(workspace=ws, code="acme", name="ACME", now=T0)
    carol = create_contact(
        customer=customer, name="Carol", email="carol@acme.example.com", portal_password="x-password-2", now=T0
    )
    carol.phone_e164 = s.CUSTOMER
    carol.save(update_fields=["phone_e164"])
    agent = actor_for(user=agent_user, workspace_slug="nube")
    assert carol.user is not None
    customer_actor = actor_for(user=carol.user, workspace_slug="nube")

    with SmtpSink() as relay, s.ProviderStandIn() as provider, time_machine.travel(T0, tick=False) as clock:
        settings.SMTP_URL = f"smtp://{relay.host}:{relay.port}"
        WhatsAppAccount.objects.create(
            workspace=ws,
            provider="meta",
            number=s.TWILIO_FROM,
            api_base_url=provider.meta_base_url,
            phone_number_id=s.META_PHONE_NUMBER_ID,
            access_token=s.META_ACCESS_TOKEN,
            app_secret=s.META_APP_SECRET,
            verify_token=s.META_VERIFY_TOKEN,
            followup_template=s.META_TEMPLATE,
        )

        # Tuesday 09:00: Carol registers the incident; the receipt names the first-response time.
        ticket = actions.create_ticket(
            actor=customer_actor,
            requester=carol,
            ticket_type=TicketType.objects.get(workspace=ws, code="incidente"),
            subject="No carga el tablero de ventas",
            description="Desde las 8 am el tablero queda en blanco.",
            channel=Channel.PORTAL,
            urgency="alta",
            impact="departamento",
            now=timezone.now(),
        )
        actions.assign_ticket(actor=agent, ticket=ticket, assignee=agent.membership, now=timezone.now())
        send_everything()
        (receipt_mail,) = relay.wait_for(1)
        receipt = parse(receipt_mail.raw)
        assert receipt_mail.rcpt_tos == ["carol@acme.example.com"] and receipt["Auto-Submitted"] == "auto-generated"
        assert receipt["Subject"] == f"[{ticket.reference}] No carga el tablero de ventas"
        assert "Le responderemos a más tardar el" in receipt.get_content()

        # 09:40: the agent answers; e-mail threads under the receipt, WhatsApp uses the template.
        clock.move_to(T0 + dt.timedelta(minutes=40))
        actions.add_reply(actor=agent, ticket=ticket, body="Estamos revisando el servidor.", now=timezone.now())
        send_everything()
        answer = parse(relay.wait_for(2)[1].raw)
        assert answer["In-Reply-To"] == receipt["Message-ID"] and answer["Auto-Submitted"] is None
        assert answer.get_content().strip() == "Estamos revisando el servidor."
        (template_request,) = provider.accepted
        sent = template_request.json
        assert sent["type"] == "template" and sent["template"]["name"] == s.META_TEMPLATE
        assert [p["text"] for p in sent["template"]["components"][0]["parameters"]] == [
            ticket.reference,
            ticket.subject,
        ]
        assert provider.rejected == []

        # 10:05: Carol answers by WhatsApp (T13): it lands in her request, and the agent hears of it.
        clock.move_to(T0 + dt.timedelta(minutes=65))
        inbound = s.meta_delivery(
            s.meta_message_payload(s.CUSTOMER, s.meta_text("Ya volvió a cargar, gracias"), message_id="wamid.c1")
        )
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in inbound.headers.items() if k != "Content-Type"}
        hook = Client().post(
            "/webhooks/whatsapp/nube/meta/", inbound.body, content_type=inbound.content_type, **headers
        )
        assert hook.status_code == 200
        assert list(Reply.objects.filter(ticket=ticket, by_customer=True).values_list("body", flat=True)) == [
            "Ya volvió a cargar, gracias"
        ]
        send_everything()
        to_agent = relay.wait_for(3)[2]
        assert to_agent.rcpt_tos == ["andres@nube.example.com"]
        assert "Ya volvió a cargar, gracias" in parse(to_agent.raw).get_content()

        # 11:00: resolved; the survey link arrives by e-mail and works without signing in.
        clock.move_to(T0 + dt.timedelta(hours=2))
        resolved_at = timezone.now()
        actions.transition_ticket(actor=agent, ticket=ticket, to_state="resuelto", now=resolved_at)
        send_everything()
        survey_mail = parse(relay.wait_for(4)[3].raw)
        assert survey_mail["Auto-Submitted"] == "auto-generated"
        link = re.search(r"https?://[^/\s]+(/encuesta/[\w-]+/)", survey_mail.get_content())
        assert link is not None
        assert Client().post(link.group(1), {"score": "5", "comment": "Muy rápido"}).status_code in (200, 302)
        assert Survey.objects.get(ticket=ticket).score == 5

        # Thursday 10:59: 47 h 59 min after the resolution, the request is still resolved.
        clock.move_to(resolved_at + dt.timedelta(hours=47, minutes=59))
        automations.run_due(now=timezone.now())
        assert Ticket.objects.get(id=ticket.id).category == "resolved"

        # Thursday 11:00: 48 hours without a word: closed by Radicado (I8), and Carol is told.
        clock.move_to(resolved_at + dt.timedelta(hours=48))
        assert automations.run_due(now=timezone.now()) == 1
        closed = Ticket.objects.get(id=ticket.id)
        assert closed.category == "closed" and closed.closed_at == resolved_at + dt.timedelta(hours=48)
        send_everything()
        closing_mail = relay.wait_for(5)[4]
        assert closing_mail.rcpt_tos == ["carol@acme.example.com"]
        assert "Cerramos su solicitud" in parse(closing_mail.raw).get_content()
        send_everything()
        assert len(relay.wait_for(5)) == 5 and len(provider.accepted) == 1  # nothing sent twice

    timeline = TicketEvent.objects.filter(ticket=ticket).order_by("id")
    assert list(timeline.values_list("kind", "actor_name", "to_value")) == [
        ("created", "Carol", "nuevo"),
        ("assigned", "Andrés", str(agent.membership.id if agent.membership else "")),
        ("replied", "Andrés", ""),
        ("transitioned", "Andrés", "en_curso"),  # the agent's answer moves a new request on
        ("replied", "Carol", ""),  # by WhatsApp
        ("survey_sent", "Radicado", ""),
        ("transitioned", "Andrés", "resuelto"),
        ("survey_answered", "Radicado", "5"),  # through the link: nobody signed in
        ("transitioned", "Radicado", "cerrado"),
    ]
