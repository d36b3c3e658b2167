"""Inbound e-mail to tickets: threading, loops, unknown senders, nothing lost (PROCESSES I1, T7)."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest

from conftest import NOW, Cast
from radicado.channels.actions import create_mailbox
from radicado.channels.models import Mailbox, OutboundMail, RawMessage, UnknownSenderPolicy
from radicado.tickets import actions
from radicado.tickets.intake import ingest_email, plus_address, process_raw
from radicado.tickets.models import Note, Reply, Ticket

LATER = NOW + dt.timedelta(minutes=5)


def mail(
    *,
    sender: str = "carol@example.com",
    to: str = "soporte@andes.example.com",
    subject: str = "No puedo entrar al sistema",
    body: str = "Hola, desde hoy no puedo entrar.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id or abs(hash((sender, subject, body)))}@mail.example.com>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


@pytest.fixture
def mailbox(cast: Cast) -> Mailbox:
    return create_mailbox(
        workspace=cast.ws_a, address="soporte@andes.example.com", display_name="Soporte Andes", now=NOW
    )


def outbound(ticket: Ticket) -> list[Any]:
    return [
        BytesParser(policy=default_policy).parsebytes(bytes(m.raw))
        for m in OutboundMail.objects.filter(ticket=ticket).order_by("id")
    ]


def test_a_new_message_registers_a_ticket_and_acknowledges_it(mailbox: Mailbox) -> None:
    result = ingest_email(mailbox=mailbox, raw=mail(message_id="m1"), source="imap", now=NOW)
    assert result.outcome == "created"
    ticket = Ticket.objects.get(workspace=mailbox.workspace, subject="No puedo entrar al sistema")
    assert result.ticket == ticket.reference and ticket.channel == "email"
    assert ticket.requester.email == "carol@example.com"
    (ack,) = outbound(ticket)
    assert ack["Auto-Submitted"] == "auto-replied" and ack["In-Reply-To"] == "<m1@mail.example.com>"
    assert ack["Subject"] == f"[{ticket.reference}] No puedo entrar al sistema"
    assert ticket.reference in ack.get_content() and ack["To"] == "carol@example.com"
    raw = RawMessage.objects.get(id=result.raw_id)
    assert (raw.status, raw.outcome, raw.ticket_id) == ("processed", "created", ticket.id)


def test_replies_and_forwards_thread_into_one_ticket(mailbox: Mailbox, cast: Cast) -> None:
    ingest_email(mailbox=mailbox, raw=mail(message_id="m1"), source="imap", now=NOW)
    ticket = Ticket.objects.get(subject="No puedo entrar al sistema")
    ack_id = OutboundMail.objects.get(ticket=ticket).message_id
    reply = mail(
        message_id="m2",
        in_reply_to=ack_id,
        subject=f"RE: [{ticket.reference}] No puedo entrar",
        body="Adjunto el error.\n\nEl lun, 23 nov 2026 a las 10:00, Soporte <soporte@andes.example.com>\n"
        "escribió:\n> Registramos su solicitud",
    )
    assert ingest_email(mailbox=mailbox, raw=reply, source="imap", now=LATER).outcome == "threaded"
    # a forward to herself, then a reply from another client: only the subject tag is left
    forwarded = mail(message_id="m3", subject=f"Fwd: RE: [{ticket.reference}] No puedo entrar", body="Sigue igual.")
    assert ingest_email(mailbox=mailbox, raw=forwarded, source="imap", now=LATER).outcome == "threaded"
    bodies = list(Reply.objects.filter(ticket=ticket).order_by("id").values_list("body", flat=True))
    assert bodies == ["Adjunto el error.", "Sigue igual."]
    assert Ticket.objects.filter(workspace=mailbox.workspace).count() == 4  # the cast's three and this one


def test_a_subject_tag_only_works_for_the_tickets_own_customer(mailbox: Mailbox, cast: Cast) -> None:
    carols = cast.tickets["A-1"]
    # erin (Globex) cannot inject into ACME's ticket by typing its number
    result = ingest_email(
        mailbox=mailbox,
        raw=mail(sender="erin@example.com", subject=f"[{carols.reference}] hola"),
        source="imap",
        now=NOW,
    )
    assert result.outcome == "created" and result.ticket != carols.reference
    # dave, of ACME, may
    result = ingest_email(
        mailbox=mailbox,
        raw=mail(sender="dave@example.com", subject=f"[{carols.reference}] info"),
        source="imap",
        now=NOW,
    )
    assert (result.outcome, result.ticket) == ("threaded", carols.reference)


def test_a_signed_plus_address_threads_and_a_forged_one_does_not(mailbox: Mailbox, cast: Cast) -> None:
    carols = cast.tickets["A-1"]
    good = mail(to=plus_address(mailbox, carols.number), subject="sin etiqueta")
    assert ingest_email(mailbox=mailbox, raw=good, source="lmtp", now=NOW).ticket == carols.reference
    forged = mail(to=f"soporte+t{carols.number}-00000000@andes.example.com", subject="otra", body="x")
    assert ingest_email(mailbox=mailbox, raw=forged, source="lmtp", now=NOW).outcome == "created"


def test_the_same_message_twice_is_processed_once(mailbox: Mailbox) -> None:
    raw = mail(message_id="dup")
    assert ingest_email(mailbox=mailbox, raw=raw, source="imap", now=NOW).outcome == "created"
    again = ingest_email(mailbox=mailbox, raw=raw, source="imap", now=LATER)
    assert (again.outcome, again.detail) == ("ignored", "duplicate")
    resent = raw.replace(b"Subject:", b"Received: by relay.example.net\nSubject:", 1)
    assert ingest_email(mailbox=mailbox, raw=resent, source="imap", now=LATER).outcome == "ignored"
    assert Ticket.objects.filter(subject="No puedo entrar al sistema").count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List-Id": "<lista.example.com>"},
        {"X-Autoreply": "yes"},
        {"Return-Path": "<>"},
    ],
)
def test_automatic_mail_opens_nothing_and_gets_no_answer(mailbox: Mailbox, headers: dict[str, str]) -> None:
    result = ingest_email(mailbox=mailbox, raw=mail(headers=headers), source="imap", now=NOW)
    assert result.outcome == "ignored"
    assert not Ticket.objects.filter(subject="No puedo entrar al sistema").exists()
    assert not OutboundMail.objects.exists()


def test_an_auto_responder_ping_pong_stops(mailbox: Mailbox) -> None:
    """A responder that answers everything without RFC 3834 headers: acknowledgements stay bounded."""
    ingest_email(mailbox=mailbox, raw=mail(message_id="p0", subject="Ausente"), source="imap", now=NOW)
    for i in range(1, 30):
        last = OutboundMail.objects.order_by("-id").first()
        assert last is not None
        ingest_email(
            mailbox=mailbox,
            raw=mail(message_id=f"p{i}", subject=f"Re: Ausente {i}", body=f"Fuera {i}"),
            source="imap",
            now=NOW + dt.timedelta(minutes=i),
        )
    assert OutboundMail.objects.filter(automatic=True).count() <= mailbox.auto_replies_per_hour


def test_a_bounce_is_noted_on_its_ticket_without_reopening_it(mailbox: Mailbox, cast: Cast) -> None:
    ticket = cast.tickets["A-1"]
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Respuesta por correo", now=NOW)
    sent = OutboundMail.objects.filter(ticket=ticket).latest("id")
    actions.transition_ticket(actor=cast.actor("bob"), ticket=ticket, to_state="resuelto", now=NOW)
    dsn = (
        "From: MAILER-DAEMON@mail.example.com\r\nTo: soporte@andes.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@mail.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThe mail system: user unknown\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.com\r\n\r\n"
        "Final-Recipient: rfc822; carol@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{sent.message_id}>\r\nSubject: x\r\n"
        "--b1--\r\n"
    ).encode()
    result = ingest_email(mailbox=mailbox, raw=dsn, source="imap", now=LATER)
    assert (result.outcome, result.ticket) == ("ignored", ticket.reference)
    ticket.refresh_from_db()
    assert ticket.category == "resolved"
    assert Note.objects.filter(ticket=ticket, author_name="Radicado").exists()


@pytest.mark.parametrize(
    ("policy", "outcome", "tickets"),
    [
        (UnknownSenderPolicy.CREATE, "created", 1),
        (UnknownSenderPolicy.HOLD, "held", 0),
        (UnknownSenderPolicy.REJECT, "rejected", 0),
    ],
)
def test_unknown_senders_follow_the_workspace_policy(mailbox: Mailbox, policy: str, outcome: str, tickets: int) -> None:
    Mailbox.objects.filter(id=mailbox.id).update(unknown_senders=policy)
    mailbox.refresh_from_db()
    result = ingest_email(mailbox=mailbox, raw=mail(sender="nuevo@otra.example.net"), source="imap", now=NOW)
    assert result.outcome == outcome
    assert Ticket.objects.filter(requester__email="nuevo@otra.example.net").count() == tickets
    if policy == UnknownSenderPolicy.CREATE:
        assert Ticket.objects.get(requester__email="nuevo@otra.example.net").customer.code == "particulares"
    if policy == UnknownSenderPolicy.REJECT:
        (notice,) = OutboundMail.objects.all()
        assert notice.rcpt_to == ["nuevo@otra.example.net"] and notice.automatic


def test_writing_to_a_closed_ticket_opens_a_new_one_that_follows_it(mailbox: Mailbox, cast: Cast) -> None:
    old = cast.tickets["A-1"]
    actions.transition_ticket(actor=cast.actor("carol"), ticket=old, to_state="cerrado", now=NOW)
    result = ingest_email(mailbox=mailbox, raw=mail(subject=f"Re: [{old.reference}] sigue"), source="imap", now=LATER)
    assert result.outcome == "created" and result.ticket != old.reference
    new = Ticket.objects.get(workspace=cast.ws_a, number=int(result.ticket.rsplit("-", 1)[1]))
    assert old.reference in new.description


def test_unparseable_input_is_quarantined_and_can_be_reprocessed(mailbox: Mailbox) -> None:
    result = ingest_email(mailbox=mailbox, raw=b"\x00\x01\x02 not a mail", source="file", now=NOW)
    assert result.outcome == "quarantined"
    row = RawMessage.objects.get(id=result.raw_id)
    assert row.status == "quarantined" and row.detail
    assert process_raw(mailbox=mailbox, row=row, now=LATER).outcome == "quarantined"


def test_attachments_beyond_the_limits_are_left_out_with_a_note(mailbox: Mailbox, settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1000
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "carol@example.com", "soporte@andes.example.com", "Con adjuntos"
    msg["Message-ID"] = "<att@mail.example.com>"
    msg.set_content("Van dos archivos")
    msg.add_attachment(b"%PDF small", maintype="application", subtype="pdf", filename="factura.pdf")
    msg.add_attachment(b"x" * 5000, maintype="application", subtype="pdf", filename="enorme.pdf")
    result = ingest_email(mailbox=mailbox, raw=bytes(msg), source="imap", now=NOW)
    ticket = Ticket.objects.get(subject="Con adjuntos")
    assert result.outcome == "created"
    assert list(ticket.attachments.values_list("filename", flat=True)) == ["factura.pdf"]
    assert "enorme.pdf" in Note.objects.get(ticket=ticket).body


def test_an_agent_reply_is_mailed_threaded_to_the_requester(mailbox: Mailbox, cast: Cast) -> None:
    ingest_email(mailbox=mailbox, raw=mail(message_id="c1"), source="imap", now=NOW)
    ticket = Ticket.objects.get(subject="No puedo entrar al sistema")
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Ya quedó, pruebe de nuevo.", now=LATER)
    ack, answer = outbound(ticket)
    assert answer["Auto-Submitted"] is None
    assert answer["In-Reply-To"] == "<c1@mail.example.com>"
    assert "<c1@mail.example.com>" in answer["References"] and ack["Message-ID"] in answer["References"]
    assert answer["Message-ID"].startswith(f"<radicado.{ticket.reference}.")
    assert "Ya quedó" in answer.get_content()


def test_admins_review_quarantined_mail_and_agents_cannot(mailbox: Mailbox, cast: Cast) -> None:
    held = Mailbox.objects.filter(id=mailbox.id).update(unknown_senders=UnknownSenderPolicy.HOLD)
    assert held == 1
    mailbox.refresh_from_db()
    result = ingest_email(mailbox=mailbox, raw=mail(sender="nuevo@otra.example.net"), source="imap", now=NOW)
    assert result.outcome == "held"
    assert cast.client("bob").get("/w/andes/console/correo/").status_code == 404
    alice = cast.client("alice")
    page = alice.get("/w/andes/console/correo/").content.decode()
    assert "nuevo@otra.example.net" in page
    # the admin changes the policy and processes the message again
    Mailbox.objects.filter(id=mailbox.id).update(unknown_senders=UnknownSenderPolicy.CREATE)
    alice.post("/w/andes/console/correo/", {"raw": str(result.raw_id)})
    assert RawMessage.objects.get(id=result.raw_id).outcome == "created"
    assert cast.client("frank").post("/w/andes/console/correo/", {"raw": str(result.raw_id)}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_send_that_cannot_be_queued_neither_undoes_nor_quarantines_the_request(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import build_cast, use_tmp_storage

    use_tmp_storage(settings, tmp_path)
    cast = build_cast()
    box = create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="Soporte", now=NOW)

    def queue_is_broken(mail_id: int) -> None:
        raise OSError("database is locked")  # the job queue, after the ticket has committed

    monkeypatch.setattr("radicado.tickets.mail_out.send_outbound", queue_is_broken)
    result = ingest_email(mailbox=box, raw=mail(subject="La VPN no conecta"), source="imap", now=LATER)
    assert result.outcome == "created"
    assert RawMessage.objects.get(subject="La VPN no conecta").status == "processed"
    ticket = Ticket.objects.get(workspace=cast.ws_a, subject="La VPN no conecta")
    # The receipt waits in the outbox: the periodic sweep sends what a lost nudge did not.
    assert OutboundMail.objects.get(ticket=ticket).status == "pending"
