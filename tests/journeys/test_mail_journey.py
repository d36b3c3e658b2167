"""A customer writes to the support address over real IMAP and SMTP servers on loopback (I1, T7).

Carol e-mails soporte@; Radicado polls Dovecot, registers the request and acknowledges it
through the SMTP relay. Carol forwards the acknowledgement to her colleague Dave, who
answers from his own mail client (his reply points at the forward, which Radicado never
saw); Carol also replies to the acknowledgement directly. Everything lands in one ticket,
and the agent's answer reaches the relay threaded under Carol's last message.
"""

from __future__ import annotations

import datetime as dt
import os
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, Cast, build_cast, use_tmp_storage
from radicado.channels.actions import create_mailbox
from radicado.channels.email.imap import poll_mailbox
from radicado.channels.email.parsing import parse_email
from radicado.channels.email.tests.servers import DovecotServer, SmtpSink
from radicado.channels.models import Mailbox
from radicado.tickets import actions
from radicado.tickets.intake import ingest_email
from radicado.tickets.intake import routing as mail_in
from radicado.tickets.models import Reply, Ticket

SUPPORT = "soporte@andes.example.com"


def message(sender: str, subject: str, body: str, mid: str, reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, SUPPORT, subject, f"<{mid}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    msg.set_content(body)
    return bytes(msg)


def poll(dovecot: DovecotServer, mailbox: Mailbox) -> int:
    result = poll_mailbox(
        host=dovecot.host,
        port=dovecot.port,
        username=SUPPORT,
        password="clave",
        ssl=False,
        deliver=lambda raw: ingest_email(mailbox=mailbox, raw=raw, source="imap", now=NOW),
    )
    return result.delivered


@pytest.fixture
def imap_cast(settings: Any, tmp_path: Path) -> Cast:
    """The journeys' people (transactional tests: not conftest's ``cast``), files in a temporary folder;
    skipped without Dovecot (outside CI)."""
    if not os.path.exists("/usr/sbin/dovecot") and not os.environ.get("CI"):
        pytest.skip("Dovecot is not installed (scripts/test installs it)")
    use_tmp_storage(settings, tmp_path)
    return build_cast()


def read_over_imap(mailbox: Mailbox, dovecot: DovecotServer) -> None:
    """Give ``mailbox`` the IMAP settings of the support account on ``dovecot``."""
    Mailbox.objects.filter(id=mailbox.id).update(
        imap_host=dovecot.host, imap_port=dovecot.port, imap_ssl=False, imap_username=SUPPORT, imap_password="clave"
    )


@pytest.mark.django_db(transaction=True)
def test_mail_round_trip_lands_in_one_ticket(imap_cast: Cast, settings: Any) -> None:
    cast = imap_cast
    mailbox = create_mailbox(workspace=cast.ws_a, address=SUPPORT, display_name="Soporte Andes", now=NOW)
    with DovecotServer({SUPPORT: "clave"}) as dovecot, SmtpSink() as relay:
        settings.SMTP_URL = f"smtp://{relay.host}:{relay.port}"

        dovecot.append(
            SUPPORT,
            message("carol@example.com", "La impresora no imprime", "Sale un error 0x11.", "c1@mail.example.com"),
        )
        assert poll(dovecot, mailbox) == 1
        ticket = Ticket.objects.get(workspace=cast.ws_a, subject="La impresora no imprime")
        (ack_mail,) = relay.wait_for(1)
        ack = BytesParser(policy=default_policy).parsebytes(ack_mail.raw)
        assert ack_mail.rcpt_tos == ["carol@example.com"] and ack["Auto-Submitted"] == "auto-replied"
        assert ack["In-Reply-To"] == "<c1@mail.example.com>" and ticket.reference in ack["Subject"]
        ack_id = ack["Message-ID"].strip("<>")

        # Dave answers a forward of the acknowledgement (its id is unknown to Radicado) ...
        dovecot.append(
            SUPPORT,
            message(
                "dave@example.com",
                f"RE: Fwd: {ack['Subject']}",
                "Soy el líder de Carol: autorizo el cambio.",
                "d1@otro.example.com",
                reply_to="fwd1@mail.example.com",
            ),
        )
        # ... and Carol replies to the acknowledgement from another client.
        dovecot.append(
            SUPPORT,
            message(
                "carol@example.com",
                f"Re: {ack['Subject']}",
                "Ya reinicié.\n\nOn Mon, Nov 23, 2026 Soporte Andes wrote:\n> Registramos",
                "c2@movil.example.com",
                reply_to=ack_id,
            ),
        )
        assert poll(dovecot, mailbox) == 2
        assert poll(dovecot, mailbox) == 0  # processed messages are not read again

        replies = list(Reply.objects.filter(ticket=ticket).order_by("id").values_list("author_name", "body"))
        assert replies == [("Dave", "Soy el líder de Carol: autorizo el cambio."), ("Carol", "Ya reinicié.")]
        assert Ticket.objects.filter(workspace=cast.ws_a).count() == 4  # the cast's three and this one

        actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Cambiamos el controlador.", now=NOW)
        answer_mail = relay.wait_for(2)[1]
        answer = BytesParser(policy=default_policy).parsebytes(answer_mail.raw)
        assert answer_mail.rcpt_tos == ["carol@example.com"] and answer["Auto-Submitted"] is None
        assert answer["In-Reply-To"] == "<c2@movil.example.com>"
        assert {"<c1@mail.example.com>", f"<{ack_id}>", "<c2@movil.example.com>"} <= set(answer["References"].split())
        assert answer["Subject"] == f"[{ticket.reference}] La impresora no imprime"
        assert "Cambiamos el controlador." in answer.get_content()


@pytest.mark.django_db(transaction=True)
def test_mail_poll_drains_a_backlog_in_one_run(imap_cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    cast = imap_cast
    """After an outage the inbox holds more than one poll takes: ``mail poll`` polls again at once
    until it is empty; each poll's batches stream through the helper process (ADR 0011)."""
    from io import StringIO

    from django.core.management import call_command

    from radicado.web.management.commands import mail

    monkeypatch.setattr(mail, "POLL_LIMIT", 5)
    monkeypatch.setattr(mail, "POLL_BATCH", 2)
    with DovecotServer({SUPPORT: "clave"}) as dovecot:
        mailbox = create_mailbox(workspace=cast.ws_a, address=SUPPORT, display_name="Soporte Andes", now=NOW)
        read_over_imap(mailbox, dovecot)
        for n in range(7):
            dovecot.append(SUPPORT, message("carol@example.com", f"Pedido {n}", "Necesito algo.", f"p{n}@ex.com"))
        parsed_here: list[bytes] = []
        monkeypatch.setattr(mail_in, "parse_email", lambda raw: parsed_here.append(raw) or parse_email(raw))
        out = StringIO()
        call_command("mail", "poll", stdout=out)
        assert dovecot.messages(SUPPORT) == []
    assert out.getvalue().count(SUPPORT) == 2  # two polls: 5, then 2
    assert len(parsed_here) == 4  # each poll's first batch of 2; the helper parsed the first poll's others
    assert Mailbox.objects.get(id=mailbox.id).polled_until is None  # the lease, renewed once, is given back
    tickets = Ticket.objects.filter(workspace=cast.ws_a, subject__startswith="Pedido").order_by("number")
    assert list(tickets.values_list("subject", flat=True)) == [f"Pedido {n}" for n in range(7)]


@pytest.mark.django_db(transaction=True)
def test_mail_poll_leaves_a_mailbox_another_run_is_reading(imap_cast: Cast) -> None:
    """Two runs at once (one outlasting the schedule, a ``--loop`` beside Huey) must not read one inbox
    together; a run that died holding it delays it by the rest of its lease only."""
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from radicado.channels.actions import claim_polling
    from radicado.web.management.commands.mail import POLL_LEASE

    cast = imap_cast
    with DovecotServer({SUPPORT: "clave"}) as dovecot:
        mailbox = create_mailbox(workspace=cast.ws_a, address=SUPPORT, display_name="Soporte Andes", now=NOW)
        read_over_imap(mailbox, dovecot)
        dovecot.append(SUPPORT, message("carol@example.com", "Pedido", "Necesito algo.", "p@ex.com"))
        assert claim_polling(mailbox_id=mailbox.id, now=timezone.now(), lease=POLL_LEASE) is not None  # the other run
        out = StringIO()
        call_command("mail", "poll", stdout=out)
        assert "otra ejecución" in out.getvalue()
        assert len(dovecot.messages(SUPPORT)) == 1 and not Ticket.objects.filter(subject="Pedido").exists()

        # That run died: its lease runs out, and the next run reads the mailbox.
        Mailbox.objects.filter(id=mailbox.id).update(polled_until=timezone.now() - dt.timedelta(seconds=1))
        call_command("mail", "poll", stdout=StringIO())
        assert dovecot.messages(SUPPORT) == []
    assert Ticket.objects.filter(workspace=cast.ws_a, subject="Pedido").exists()
    assert Mailbox.objects.get(id=mailbox.id).polled_until is None


@pytest.mark.django_db(transaction=True)
def test_mail_poll_reads_the_other_mailboxes_when_one_server_is_down(imap_cast: Cast) -> None:
    cast = imap_cast
    import socket
    from io import StringIO

    from django.core.management import call_command

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with DovecotServer({SUPPORT: "clave"}) as dovecot:
        down = create_mailbox(workspace=cast.ws_b, address="soporte@caido.example.com", display_name="C", now=NOW)
        up = create_mailbox(workspace=cast.ws_a, address=SUPPORT, display_name="Soporte Andes", now=NOW)
        Mailbox.objects.filter(id=down.id).update(
            imap_host="127.0.0.1", imap_port=closed, imap_ssl=False, imap_username="x", imap_password="y"
        )
        read_over_imap(up, dovecot)
        dovecot.append(SUPPORT, message("carol@example.com", "Pedido", "Necesito algo.", "p@ex.com"))
        out, err = StringIO(), StringIO()
        call_command("mail", "poll", stdout=out, stderr=err)
    assert "soporte@caido.example.com" in err.getvalue()
    assert Ticket.objects.filter(workspace=cast.ws_a, subject="Pedido").exists()
