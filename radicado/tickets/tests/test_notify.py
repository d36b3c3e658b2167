"""Notification rules (T7): who hears about what, by which channel, in which words."""

from __future__ import annotations

import datetime as dt
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest

from conftest import NOW, Cast
from radicado.channels.actions import create_mailbox
from radicado.channels.models import OutboundMail
from radicado.notifications.actions import RuleError, save_rule
from radicado.notifications.models import NotificationRule
from radicado.tickets import actions
from radicado.tickets.models import Channel, Ticket, TicketType
from radicado.tickets.notify import notify
from radicado.tickets.profiles import install_profile, load_profile
from radicado.tickets.sla import sweep_clocks
from radicado.workspaces.actions import create_workspace
from radicado.workspaces.models import Level


@pytest.fixture
def mailbox(cast: Cast) -> None:
    create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="Soporte", now=NOW)


def mails(ticket: Ticket, event: str | None = None) -> list[tuple[str, str, str]]:
    """(recipient, subject, body) of each queued mail about the ticket, oldest first."""
    qs = OutboundMail.objects.filter(ticket=ticket).order_by("id")
    if event:
        qs = qs.filter(event=event)
    out = []
    for m in qs:
        msg = BytesParser(policy=default_policy).parsebytes(bytes(m.raw))
        out.append((m.rcpt_to[0], str(msg["Subject"]), msg.get_content().strip()))
    return out


def register(cast: Cast, who: str = "carol", subject: str = "Sin acceso al ERP") -> Ticket:
    return actions.create_ticket(
        actor=cast.actor(who),
        requester=cast.contacts[who],
        ticket_type=TicketType.objects.get(workspace=cast.ws_a, code="incidente"),
        subject=subject,
        description="No puedo ingresar desde esta mañana.",
        channel=Channel.PORTAL,
        now=NOW,
    )


def test_the_requester_gets_a_receipt_and_the_agents_answer_but_not_the_agent(cast: Cast, mailbox: None) -> None:
    ticket = register(cast)
    ((to, subject, body),) = mails(ticket, "ticket.registered")
    assert to == "carol@example.com" and subject == f"[{ticket.reference}] Sin acceso al ERP"
    assert f"Registramos su solicitud {ticket.reference}" in body
    assert f"http://127.0.0.1:8000/w/andes/solicitudes/{ticket.number}/" in body
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Ya restablecimos su clave.", now=NOW)
    assert mails(ticket, "reply.agent") == [
        ("carol@example.com", f"[{ticket.reference}] Sin acceso al ERP", "Ya restablecimos su clave.")
    ]
    assert not [m for m in mails(ticket) if m[0] == "bob@example.com"]


def test_a_customer_follow_up_goes_to_the_assignee_in_the_assignees_language(cast: Cast, mailbox: None) -> None:
    ticket = register(cast)
    bob = cast.users["bob"]
    bob.language = "en"
    bob.save()
    actions.assign_ticket(actor=cast.actor("alice"), ticket=ticket, assignee=cast.actor("bob").membership, now=NOW)
    actions.add_reply(actor=cast.actor("carol"), ticket=ticket, body="Adjunto la captura.", now=NOW)
    ((to, _, body),) = mails(ticket, "reply.customer")
    assert to == "bob@example.com"
    assert body.startswith("Carol replied on") and "Adjunto la captura." in body
    assert f"/w/andes/console/t/{ticket.number}/" in body  # staff get the console link


def test_closing_mails_the_requester_and_a_disabled_rule_sends_nothing(cast: Cast, mailbox: None) -> None:
    ticket = register(cast)
    NotificationRule.objects.filter(workspace=cast.ws_a, event="survey.sent").update(enabled=False)
    actions.transition_ticket(actor=cast.actor("bob"), ticket=ticket, to_state="resuelto", now=NOW)
    assert mails(ticket, "survey.sent") == []
    actions.transition_ticket(actor=cast.actor("sam"), ticket=ticket, to_state="cerrado", now=NOW)
    ((to, _, body),) = mails(ticket, "ticket.closed")
    assert to == "carol@example.com" and "Cerramos su solicitud" in body


def test_whoever_caused_the_event_is_not_told_about_it(cast: Cast, mailbox: None) -> None:
    ticket = register(cast)
    actions.transition_ticket(actor=cast.actor("carol"), ticket=ticket, to_state="cerrado", now=NOW)
    assert mails(ticket, "ticket.closed") == []


def test_an_admins_edited_template_is_what_people_receive(cast: Cast, mailbox: None) -> None:
    rule = NotificationRule.objects.get(workspace=cast.ws_a, event="ticket.registered", channel="email")
    save_rule(
        actor=cast.actor("alice"),
        rule=rule,
        event=rule.event,
        audience="key_users",
        channel="email",
        enabled=True,
        texts={
            "subject_es": "Nueva solicitud de {{ requester.name }}",
            "body_es": "Hola {{ recipient.name }}: {{ ticket.subject }}",
        },
        now=NOW,
    )
    ticket = register(cast)
    # Key users of the requester's company hear about it; the subject keeps the tag for threading.
    assert mails(ticket, "ticket.registered") == [
        ("dave@example.com", f"[{ticket.reference}] Nueva solicitud de Carol", "Hola Dave: Sin acceso al ERP")
    ]


def test_templates_cannot_reach_files_or_break(cast: Cast) -> None:
    base = {"actor": cast.actor("alice"), "rule": None, "audience": "requester", "channel": "email", "now": NOW}
    for bad in ('{% include "/etc/passwd" %}', "{% load static %}", "{{ ticket.reference", "{% if %}"):
        with pytest.raises(RuleError):
            save_rule(event="status.changed", enabled=True, texts={"body_es": bad}, **base)  # type: ignore[arg-type]
    with pytest.raises(PermissionError):
        save_rule(
            actor=cast.actor("bob"),
            rule=None,
            event="status.changed",
            audience="requester",
            channel="email",
            enabled=True,
            texts={"body_es": "x"},
            now=NOW,
        )


def test_the_same_occurrence_is_never_queued_twice(cast: Cast, mailbox: None) -> None:
    ticket = register(cast)
    before = OutboundMail.objects.count()
    again = notify(ticket=ticket, event="ticket.registered", actor=None, now=NOW, key=f"t{ticket.id}:registered")
    assert again == 0 and OutboundMail.objects.count() == before


def test_escalating_to_n2_tells_the_team_and_ans_breaches_tell_assignee_and_supervisors(
    cast: Cast, mailbox: None
) -> None:
    from radicado.workspaces.models import Team

    team = Team.objects.get(workspace=cast.ws_a, code="n2")
    team.members.add(cast.actor("sam").membership)
    ticket = register(cast)
    actions.set_team(actor=cast.actor("bob"), ticket=ticket, team=team, now=NOW)
    actions.set_level(actor=cast.actor("bob"), ticket=ticket, level=Level.N2, now=NOW)
    ((to, subject, _),) = mails(ticket, "level.changed")
    assert to == "sam@example.com" and subject == f"[{ticket.reference}] Escalada a N2"
    actions.assign_ticket(actor=cast.actor("alice"), ticket=ticket, assignee=cast.actor("bob").membership, now=NOW)
    sweep_clocks(now=NOW + dt.timedelta(days=30))
    breach = sorted(m[0] for m in mails(ticket, "sla.breach"))
    assert breach == ["bob@example.com", "sam@example.com"]
    assert all("ANS incumplido" in m[1] for m in mails(ticket, "sla.breach"))


@pytest.mark.django_db
def test_the_t7_profile_is_one_configuration() -> None:
    ws = create_workspace(slug="t7", name="T7", ticket_prefix="SOP", timezone="America/Bogota", now=NOW)
    install_profile(workspace=ws, profile=load_profile("ans-escalonado"), now=NOW)
    rules = set(NotificationRule.objects.filter(workspace=ws).values_list("event", "audience", "channel"))
    assert ("ticket.registered", "requester", "email") in rules
    assert ("reply.agent", "requester", "email") in rules and ("reply.customer", "assignee", "email") in rules
    assert ("ticket.closed", "requester", "email") in rules
    assert {r for r in rules if r[2] == "whatsapp"} == {("reply.agent", "requester", "whatsapp")}
