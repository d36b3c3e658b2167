"""A batch of inbound mail (``ingest_many``) ends exactly as the same messages one by one (ADR 0010).

Two identical workspaces get the same stream: one through ``ingest_email`` message by message,
the other through ``ingest_many`` in batches. The stream is made of the cases where a batch could
go wrong: messages that depend on earlier ones of the same batch (a reply to the customer's own
first message, a subject tag of a ticket registered a moment before, a sender made a contact by an
earlier message, the auto-reply limit, the same bytes or Message-ID twice, a bounce), and messages
that fail. Everything a user can see must be the same: outcomes, tickets, timelines, ANS clocks,
acknowledgements, the raw messages' states.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, wait
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction

from conftest import NOW, PROFILE
from radicado.channels.actions import create_mailbox
from radicado.channels.email.parsing import parse_email
from radicado.channels.email.prepare import Prepared, Preparer
from radicado.channels.models import AutoReply, Mailbox, MessageIndex, OutboundMail, RawMessage, UnknownSenderPolicy
from radicado.channels.rawstore import read_raw
from radicado.customers.actions import create_contact, create_customer
from radicado.sla.models import Clock
from radicado.tickets import actions, mail_out, notify
from radicado.tickets.intake import IngestResult, ingest_email, ingest_many, ingest_stream
from radicado.tickets.intake import batch as intake_batch
from radicado.tickets.intake import routing as mail_in
from radicado.tickets.intake.lookup import BatchLookup
from radicado.tickets.models import Note, Reply, Ticket, TicketEvent, WorkflowState
from radicado.tickets.profiles import install_profile
from radicado.workspaces.actions import create_workspace

LATER = NOW + dt.timedelta(minutes=5)


def _workspace(slug: str, prefix: str) -> Mailbox:
    ws = create_workspace(slug=slug, name=slug.title(), ticket_prefix=prefix, timezone="America/Bogota", now=NOW)
    install_profile(workspace=ws, profile=PROFILE, now=NOW)
    acme = create_customer(workspace=ws, code="acme", name="ACME", now=NOW)
    globex = create_customer(workspace=ws, code="globex", name="Globex", now=NOW)
    for name, customer in (("carol", acme), ("dave", acme), ("erin", globex)):
        create_contact(customer=customer, name=name.title(), email=f"{name}@example.com", now=NOW)
    return create_mailbox(workspace=ws, address=f"soporte@{slug}.example.com", display_name=slug.title(), now=NOW)


def _mail(
    mailbox: Mailbox,
    sender: str,
    subject: str,
    body: str,
    message_id: str,
    *,
    refs: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mailbox.address
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    if refs:
        msg["In-Reply-To"] = f"<{refs[-1]}>"
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


def _bounce(mailbox: Mailbox, bounced: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "MAILER-DAEMON@mx.example.com"
    msg["To"] = mailbox.address
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Message-ID"] = "<bounce-1@mx.example.com>"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("This is the mail system. The message could not be delivered.")
    original = EmailMessage()
    original["Message-ID"] = f"<{bounced}>"
    original["Subject"] = "lo que fue devuelto"
    msg.add_attachment(original, disposition="inline")
    msg.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    return bytes(msg)


def stream(mailbox: Mailbox, *, same_now: bool = False, boom: bool = False) -> list[tuple[bytes, dt.datetime]]:
    """The same story for any workspace: its mailbox address and ticket prefix are filled in."""
    prefix = mailbox.workspace.ticket_prefix
    first = _mail(mailbox, "carol@example.com", "Impresora", "La impresora no imprime.", "m1@ex.com")
    raws = [
        first,
        _mail(mailbox, "carol@example.com", "Correo", "No me llegan correos.", "m2@ex.com"),
        # Carol adds to her first message: threads by its Message-ID, indexed by this same batch.
        _mail(
            mailbox,
            "carol@example.com",
            "Re: Impresora",
            "Olvidé decir: es la del piso 2.",
            "m3@ex.com",
            refs=("m1@ex.com",),
        ),
        first,  # an IMAP re-poll: the same bytes
        _mail(mailbox, "carol@example.com", "Correo", "Segunda copia por otro MX.", "m2@ex.com"),  # same Message-ID
        _mail(mailbox, "zoe@nuevo.example.com", "Cotización", "Quisiera una cotización.", "m6@ex.com"),
        # Zoe became a contact one message ago.
        _mail(mailbox, "zoe@nuevo.example.com", "Otra cosa", "Y otra pregunta.", "m7@ex.com"),
        # A subject tag of the ticket registered a moment ago, by a colleague of the same customer.
        _mail(mailbox, "dave@example.com", f"Re: [{prefix}-000001] Impresora", "A mí tampoco me imprime.", "m8@ex.com"),
        _mail(
            mailbox,
            "carol@example.com",
            "Fuera de la oficina",
            "Vuelvo el lunes.",
            "m9@ex.com",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        # Someone of another customer writes into Carol's thread: an internal note.
        _mail(mailbox, "erin@example.com", "Re: Impresora", "¿Y esto qué es?", "m10@ex.com", refs=("m1@ex.com",)),
        _bounce(mailbox, "m2@ex.com"),
        b"\x00\x01\x02 not a mail",
        # Carol writes four more new requests: the fifth acknowledgement within the hour is the last.
        *[_mail(mailbox, "carol@example.com", f"Pedido {n}", f"Necesito {n}.", f"p{n}@ex.com") for n in range(4)],
        *([_mail(mailbox, "dave@example.com", "Pantalla", "BOOM: this one fails", "m20@ex.com")] if boom else []),
        _mail(mailbox, "dave@example.com", "Teclado", "El teclado no responde.", "m21@ex.com"),
        # Carol answers both of her first threads at once: it goes to the newest one indexed (Correo, m2),
        # though In-Reply-To names m1; in small batches both were indexed by earlier batches.
        _mail(
            mailbox, "carol@example.com", "Re: varios", "Sobre ambos.", "m22@ex.com", refs=("m2@ex.com", "m1@ex.com")
        ),
    ]
    # An IMAP poll gives every message of a batch the same time; a folder of files may not.
    return [(raw, NOW if same_now else NOW + dt.timedelta(minutes=i)) for i, raw in enumerate(raws)]


@pytest.fixture
def pair(db: Any, settings: Any, tmp_path: Any) -> tuple[Mailbox, Mailbox]:
    from conftest import use_tmp_storage

    use_tmp_storage(settings, tmp_path)
    return _workspace("uno", "UNO"), _workspace("dos", "DOS")


@pytest.fixture
def failing_registrations(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request whose text says BOOM fails half-way through its registration (a bug, a bad row)."""
    real = actions.create_ticket

    def create_ticket(**kwargs: Any) -> Ticket:
        ticket = real(**kwargs)
        if "BOOM" in kwargs["description"]:
            raise RuntimeError("boom")
        return ticket

    monkeypatch.setattr(actions, "create_ticket", create_ticket)


def _result(r: IngestResult, prefix: str) -> tuple[str, str, str | None]:
    detail = re.sub(r"reply \d+", "reply N", r.detail)
    return r.outcome, detail, r.ticket.replace(prefix, "X") if r.ticket else None


def seen_by_users(mailbox: Mailbox) -> dict[str, Any]:
    """What people can see of a workspace's mail, without ids, prefixes or random Message-IDs."""
    ws = mailbox.workspace
    tickets = {}
    for t in Ticket.objects.filter(workspace=ws).order_by("number").select_related("state", "requester"):
        tickets[t.number] = {
            "subject": t.subject,
            "requester": t.requester.email,
            "state": t.state.code,
            # The last activity and the pending automatic move, written later in a batch (unit_of_work.update).
            "updated_at": t.updated_at,
            "auto_action_at": t.auto_action_at,
            "events": list(TicketEvent.objects.filter(ticket=t).order_by("id").values_list("kind", "actor_name")),
            "replies": list(Reply.objects.filter(ticket=t).order_by("id").values_list("body", flat=True)),
            "notes": Note.objects.filter(ticket=t).count(),
            "clocks": list(Clock.objects.filter(ticket=t).order_by("kind").values_list("kind", "state", "due_at")),
            "mail": [
                (m.rcpt_to, m.automatic, m.event, re.sub(r"^t\d+:(\w+):\d+:", r"\1:", m.idempotency_key or ""))
                for m in OutboundMail.objects.filter(ticket=t).order_by("id")
            ],
            "threads": MessageIndex.objects.filter(ticket=t).count(),
            # What the next message about the ticket will carry in In-Reply-To and References.
            "headers": re.sub(r"radicado\.[^']+", "OURS", str(mail_out.thread_headers(t))),
        }
    return {
        "tickets": tickets,
        "auto_replies": AutoReply.objects.filter(workspace=ws).count(),
        "raw": sorted(RawMessage.objects.filter(workspace=ws).values_list("status", "outcome", "attempts")),
        "raw_intact": all(
            hashlib.sha256(read_raw(row)).hexdigest() == row.sha256 for row in RawMessage.objects.filter(workspace=ws)
        ),
    }


@pytest.mark.parametrize(
    ("batch", "same_now", "boom", "streamed"),
    [
        (100, False, False, False),
        (100, True, False, False),
        (5, False, False, False),
        (100, False, True, False),
        (5, False, True, False),
        (1, False, True, False),
        (5, False, False, True),
        (3, True, True, True),
    ],
)
@pytest.mark.usefixtures("failing_registrations")
def test_a_batch_ends_as_the_same_messages_one_by_one(
    pair: tuple[Mailbox, Mailbox],
    batch: int,
    same_now: bool,
    boom: bool,
    streamed: bool,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``same_now``: every message at one instant, as an IMAP poll stamps them. ``boom``: one registration
    fails half-way, so its batch is rolled back and done again one by one. ``streamed``: the batches go
    through ``ingest_stream``, whose helper process writes and parses all batches but the first."""
    one, many = pair
    singly = [
        ingest_email(mailbox=one, raw=raw, source="imap", now=now)
        for raw, now in stream(one, same_now=same_now, boom=boom)
    ]
    messages = stream(many, same_now=same_now, boom=boom)
    caplog.clear()
    batched: list[IngestResult] = []
    chunks = [messages[start : start + batch] for start in range(0, len(messages), batch)]
    if streamed:
        parsed_here = []
        monkeypatch.setattr(mail_in, "parse_email", lambda raw: parsed_here.append(raw) or parse_email(raw))
        for results in ingest_stream(mailbox=many, batches=chunks, source="imap"):
            batched += results
        assert "helper" not in caplog.text  # it did its part: here, only the first batch was parsed
        # Here: the first batch; and a failing batch again, message by message (its bytes not met before).
        expected = len({raw for raw, _ in chunks[0]})
        if boom:
            k = next(k for k, chunk in enumerate(chunks) if any(b"BOOM" in raw for raw, _ in chunk))
            earlier = {raw for chunk in chunks[:k] for raw, _ in chunk}
            expected += len({raw for raw, _ in chunks[k]} - earlier)
        assert len(parsed_here) == expected
    else:
        for chunk in chunks:
            batched += ingest_many(mailbox=many, messages=chunk, source="imap")

    assert [_result(r, "DOS") for r in batched] == [_result(r, "UNO") for r in singly]
    outcomes = [r.outcome for r in singly]
    assert (outcomes.count("created"), outcomes.count("quarantined")) == (9, 2 if boom else 1)
    assert seen_by_users(many) == seen_by_users(one)
    assert seen_by_users(one)["raw_intact"]
    assert seen_by_users(one)["auto_replies"] == 8  # carol 5 of her 6 (the limit), zoe 2, dave 1
    assert ("processed one by one" in caplog.text) == boom  # else every batch went through as a batch
    # Numbers taken in blocks by the batch and not used are given back: the next request is number 10.
    for mailbox in (one, many):
        raw = _mail(mailbox, "erin@example.com", "Después", "Una más.", "after@ex.com")
        reference = ingest_email(mailbox=mailbox, raw=raw, source="imap", now=NOW + dt.timedelta(hours=2)).ticket
        assert reference == f"{mailbox.workspace.ticket_prefix}-000010"


def test_a_reply_that_moves_a_ticket_of_the_same_batch_sees_its_clocks(pair: tuple[Mailbox, Mailbox]) -> None:
    """Here a customer's answer to a new request puts it on hold, pausing its ANS clocks: the clocks the
    batch has yet to write must be written before the answer is taken (it threads by subject tag, so
    no Message-ID of the batch is involved)."""
    one, many = pair
    WorkflowState.objects.filter(workflow__workspace__in=[one.workspace, many.workspace], code="nuevo").update(
        on_customer_reply="esperando_cliente"
    )

    def story(mailbox: Mailbox) -> list[tuple[bytes, dt.datetime]]:
        tag = f"[{mailbox.workspace.ticket_prefix}-000001]"
        return [
            (_mail(mailbox, "carol@example.com", "Impresora", "La impresora no imprime.", "m1@ex.com"), NOW),
            (_mail(mailbox, "carol@example.com", f"Re: {tag} Impresora", "Es la del piso 2.", "m2@ex.com"), LATER),
        ]

    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in story(one)]
    batched = ingest_many(mailbox=many, messages=story(many), source="imap")

    assert [_result(r, "DOS") for r in batched] == [_result(r, "UNO") for r in singly]
    first = seen_by_users(one)["tickets"][1]
    assert first["state"] == "esperando_cliente" and {state for _, state, _ in first["clocks"]} == {"paused"}
    assert seen_by_users(many) == seen_by_users(one)


def test_replies_to_a_waiting_ticket_in_one_batch_end_as_one_by_one(pair: tuple[Mailbox, Mailbox]) -> None:
    """A batch reads the tickets its messages thread into once, when it begins, and writes their last
    activity when it ends. Here one ticket, waiting on the customer with an automatic close due, gets
    two answers in one batch (by Message-ID, then by subject tag from a colleague): the first one
    takes the batch's copy, clears the close and reopens it; the second reads it again, with those
    changes; a new request in between is written with the batch's other rows."""
    one, many = pair
    due = NOW + dt.timedelta(days=3)
    for mailbox in (one, many):
        ingest_email(
            mailbox=mailbox,
            raw=_mail(mailbox, "carol@example.com", "Impresora", "No imprime.", "m1@ex.com"),
            source="imap",
            now=NOW,
        )
        waiting = WorkflowState.objects.get(workflow__workspace=mailbox.workspace, code="esperando_cliente")
        Ticket.objects.filter(workspace=mailbox.workspace, number=1).update(
            state=waiting, category=waiting.category, auto_action_at=due
        )

    def story(mailbox: Mailbox) -> list[tuple[bytes, dt.datetime]]:
        tag = f"[{mailbox.workspace.ticket_prefix}-000001]"
        return [
            (
                _mail(mailbox, "carol@example.com", "Re: Impresora", "Ya probé.", "m2@ex.com", refs=("m1@ex.com",)),
                LATER,
            ),
            (_mail(mailbox, "erin@example.com", "Red", "No hay red.", "m3@ex.com"), LATER + dt.timedelta(minutes=1)),
            (
                _mail(mailbox, "dave@example.com", f"Re: {tag}", "A mí igual.", "m4@ex.com"),
                LATER + dt.timedelta(minutes=2),
            ),
        ]

    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in story(one)]
    batched = ingest_many(mailbox=many, messages=story(many), source="imap")

    assert [_result(r, "DOS") for r in batched] == [_result(r, "UNO") for r in singly]
    assert [r.outcome for r in batched] == ["threaded", "created", "threaded"]
    first = seen_by_users(one)["tickets"][1]
    assert (first["state"], first["auto_action_at"]) == ("en_curso", None)
    assert first["updated_at"] == LATER + dt.timedelta(minutes=2)
    assert seen_by_users(many) == seen_by_users(one)


def test_a_best_effort_savepoint_that_reads_waiting_rows_leaves_the_batch_whole(
    pair: tuple[Mailbox, Mailbox], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A savepoint that swallows its exception, around a query of tickets the batch has yet to write: the
    batch writes what waits before the savepoint opens (ADR 0014), so the batch goes on as a batch (it was
    done again one message at a time before) with the same outcomes."""
    one, many = pair
    real = notify.announce_registration

    def announce(**kwargs: Any) -> None:
        try:
            with transaction.atomic():
                Ticket.objects.filter(id=kwargs["ticket"].id).exists()
        except Exception:  # best effort: the pattern under test
            pass
        real(**kwargs)

    messages = stream(many)[:2]
    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in stream(one)[:2]]
    monkeypatch.setattr(notify, "announce_registration", announce)
    batched = ingest_many(mailbox=many, messages=messages, source="imap")

    assert "processed one by one" not in caplog.text
    assert [_result(r, "DOS") for r in batched] == [_result(r, "UNO") for r in singly]
    assert seen_by_users(many) == seen_by_users(one)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite's batch holds the write lock")
@pytest.mark.django_db(transaction=True)
def test_a_batch_locks_the_tickets_it_threads_into_until_it_commits(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch reads those tickets when it begins; an agent closing one meanwhile must wait for the
    batch, not be overwritten by a reply routed on the copy read before the close."""
    from conftest import use_tmp_storage

    use_tmp_storage(settings, tmp_path)
    mailbox = _workspace("uno", "UNO")
    first = ingest_email(
        mailbox=mailbox,
        raw=_mail(mailbox, "carol@example.com", "Impresora", "No imprime.", "m1@ex.com"),
        now=NOW,
        source="imap",
    )
    loaded, checked = threading.Event(), threading.Event()
    real = BatchLookup.load

    def load(*args: Any, **kwargs: Any) -> Any:
        known = real(*args, **kwargs)
        loaded.set()
        checked.wait(10)
        return known

    monkeypatch.setattr(BatchLookup, "load", load)
    reply = _mail(mailbox, "carol@example.com", "Re: Impresora", "Sigue igual.", "m2@ex.com", refs=("m1@ex.com",))
    results: list[IngestResult] = []

    def batch() -> None:
        try:
            results.extend(ingest_many(mailbox=mailbox, messages=[(reply, LATER)], source="imap"))
        finally:
            connections.close_all()

    worker = threading.Thread(target=batch)
    worker.start()
    try:
        assert loaded.wait(10)
        with pytest.raises(OperationalError, match="lock"), transaction.atomic():
            Ticket.objects.select_for_update(nowait=True).get(id=first.ticket_id)
    finally:
        checked.set()
        worker.join()
    assert [r.outcome for r in results] == ["threaded"]


def test_a_failure_after_the_batch_wrote_rows_redoes_the_batch_one_by_one(
    pair: tuple[Mailbox, Mailbox], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply into a ticket of the same batch makes the batch write its rows first; if that reply then
    fails, those rows were written inside its savepoint: the batch starts over, message by message."""
    one, many = pair
    real = actions.add_reply

    def add_reply(**kwargs: Any) -> Reply:
        if "piso 2" in kwargs["body"]:
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(actions, "add_reply", add_reply)
    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in stream(one)]
    batched = ingest_many(mailbox=many, messages=stream(many), source="imap")

    assert [_result(r, "DOS") for r in batched] == [_result(r, "UNO") for r in singly]
    assert batched[2].outcome == "quarantined"
    assert "processed one by one" in caplog.text
    assert seen_by_users(many) == seen_by_users(one)


def test_a_stream_goes_on_when_its_helper_process_dies(
    pair: tuple[Mailbox, Mailbox], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The helper is killed (the kernel's OOM killer, an operator) once it has prepared the second batch,
    as the third is handed over: the third and the rest are prepared in the intake process instead;
    nothing is lost or done twice."""

    class Dying(Preparer):
        submitted: list[Future[list[Prepared]] | None] = []

        def submit(self, raws: Sequence[bytes]) -> Future[list[Prepared]] | None:
            if len(self.submitted) == 1 and self._pool is not None:  # the third batch is about to be sent
                wait([f for f in self.submitted if f is not None])  # once the second is ready
                for process in list(self._pool._processes.values()):  # type: ignore[attr-defined]
                    os.kill(process.pid, signal.SIGKILL)
                    process.join()
            future = super().submit(raws)
            self.submitted.append(future)
            return future

        def result(self, future: Future[list[Prepared]] | None) -> list[Prepared] | None:
            prepared = super().result(future)
            results.append(prepared is not None)
            return prepared

    results: list[bool] = []

    monkeypatch.setattr(intake_batch, "Preparer", Dying)
    one, many = pair
    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in stream(one)]
    messages = stream(many)
    chunks = [messages[start : start + 4] for start in range(0, len(messages), 4)]
    batched = [r for results in ingest_stream(mailbox=many, batches=chunks, source="imap") for r in results]

    assert [_result(r, "DOS") for r in batched] == [_result(r, "UNO") for r in singly]
    assert "prepared in-process" in caplog.text
    assert results[:2] == [False, True]  # the first batch here (no helper yet), the second by the helper
    assert not any(results[2:])  # then here
    assert seen_by_users(many) == seen_by_users(one)
    assert seen_by_users(many)["raw_intact"]


def test_a_batch_asks_once_for_its_acknowledgements_to_be_sent(
    pair: tuple[Mailbox, Mailbox], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    _, many = pair
    jobs: list[object] = []
    monkeypatch.setattr(mail_out, "send_outbound", jobs.append)
    with django_capture_on_commit_callbacks(execute=True):
        results = ingest_many(mailbox=many, messages=stream(many)[:3], source="imap")

    assert [r.outcome for r in results] == ["created", "created", "threaded"]
    acks = list(OutboundMail.objects.filter(workspace=many.workspace).order_by("id").values_list("id", flat=True))
    assert len(acks) == 2 and jobs == [acks]  # one job for the batch, after the commit


def test_rejected_strangers_get_no_more_notices_in_a_batch_than_one_by_one(pair: tuple[Mailbox, Mailbox]) -> None:
    one, many = pair
    Mailbox.objects.filter(id__in=[one.id, many.id]).update(unknown_senders=UnknownSenderPolicy.REJECT)
    one.refresh_from_db()
    many.refresh_from_db()

    def story(mailbox: Mailbox) -> list[tuple[bytes, dt.datetime]]:
        return [
            (_mail(mailbox, "extrano@otro.example.com", f"Pregunta {n}", "Hola.", f"x{n}@ex.com"), NOW)
            for n in range(7)
        ]

    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in story(one)]
    batched = ingest_many(mailbox=many, messages=story(many), source="imap")

    assert [r.outcome for r in batched] == [r.outcome for r in singly] == ["rejected"] * 7
    for mailbox in (one, many):  # the per-sender limit (5 an hour) holds within the batch too
        assert AutoReply.objects.filter(workspace=mailbox.workspace).count() == 5
        assert OutboundMail.objects.filter(workspace=mailbox.workspace).count() == 5


def test_an_empty_batch_is_nothing(pair: tuple[Mailbox, Mailbox], caplog: pytest.LogCaptureFixture) -> None:
    assert ingest_many(mailbox=pair[1], messages=[], source="file") == []
    assert "one by one" not in caplog.text
