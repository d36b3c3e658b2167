"""Group commit for LMTP (ADR 0013): concurrent deliveries share batches, and each is answered after its commit.

A real LMTP receiver on loopback, fed by several client connections at once (as an MTA delivers),
with the ``mail lmtp`` command's delivery function in front of one ``GroupIntake``.
"""

from __future__ import annotations

import functools
import smtplib
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import OperationalError, connections

from conftest import NOW, PROFILE
from radicado.channels.actions import create_mailbox
from radicado.channels.email.lmtp import ReceiverHandle, start_lmtp_server
from radicado.channels.models import Mailbox, RawMessage, RawStatus
from radicado.customers.actions import create_contact, create_customer
from radicado.tickets.intake import batch as intake_batch
from radicado.tickets.intake import gather as mail_gather
from radicado.tickets.intake.gather import GroupIntake, IntakeClosed
from radicado.tickets.intake.lookup import BatchLookup
from radicado.tickets.models import Reply, Ticket
from radicado.tickets.profiles import install_profile
from radicado.web.management.commands.mail import deliver_by_recipient
from radicado.workspaces.actions import create_workspace

CLIENTS, PER_CLIENT = 6, 4


def _mail(sender: str, subject: str, message_id: str, refs: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "soporte@andes.example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    if refs:
        msg["In-Reply-To"] = f"<{refs}>"
    msg.set_content(f"{subject}: el detalle.")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # as an MTA sends it: CRLF lines


@pytest.fixture
def mailbox(transactional_db: Any, settings: Any, tmp_path: Any) -> Mailbox:
    from conftest import use_tmp_storage

    use_tmp_storage(settings, tmp_path)
    ws = create_workspace(slug="andes", name="Andes", ticket_prefix="AND", timezone="America/Bogota", now=NOW)
    install_profile(workspace=ws, profile=PROFILE, now=NOW)
    acme = create_customer(workspace=ws, code="acme", name="ACME", now=NOW)
    for n in range(CLIENTS):
        create_contact(customer=acme, name=f"Persona {n}", email=f"p{n}@acme.example.com", now=NOW)
    return create_mailbox(workspace=ws, address="soporte@andes.example.com", display_name="Andes", now=NOW)


@pytest.fixture
def receiver(mailbox: Mailbox) -> Iterator[tuple[ReceiverHandle, list[int]]]:
    """The receiver as ``mail lmtp`` runs it; the list gets each batch's size."""
    sizes: list[int] = []
    real = mail_gather.ingest_many

    def ingest_many(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["messages"]))
        if len(sizes) == 1:
            time.sleep(0.3)  # the first batch is slow: the other connections' messages queue meanwhile
        return real(**kwargs)

    mail_gather.ingest_many = ingest_many  # type: ignore[assignment]
    intake = GroupIntake(source="lmtp")
    deliver = functools.partial(deliver_by_recipient, intake=intake)
    try:
        with start_lmtp_server(host="127.0.0.1", port=0, deliver=deliver, workers=CLIENTS + 2) as server:
            yield server, sizes
    finally:
        intake.close()
        mail_gather.ingest_many = real  # type: ignore[assignment]
        connections.close_all()


def _send_all(server: ReceiverHandle, messages: dict[int, list[bytes]]) -> dict[int, list[str]]:
    """Each client sends its messages over its own connection, all clients at once; the answers per client."""
    answers: dict[int, list[str]] = {n: [] for n in messages}
    start = threading.Barrier(len(messages))

    def client(n: int) -> None:
        with smtplib.LMTP(server.host, server.port) as lmtp:
            start.wait()
            for raw in messages[n]:
                try:
                    lmtp.sendmail(f"p{n}@acme.example.com", ["soporte@andes.example.com"], raw)
                    answers[n].append("250")
                except smtplib.SMTPDataError as exc:
                    answers[n].append(str(exc.smtp_code))

    threads = [threading.Thread(target=client, args=(n,)) for n in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_concurrent_deliveries_share_batches_and_each_lands_once(receiver: tuple[ReceiverHandle, list[int]]) -> None:
    server, sizes = receiver
    messages = {
        n: [
            _mail(f"p{n}@acme.example.com", f"Pedido {n}", f"n{n}@acme.example.com"),
            # the client's own follow-up threads into the request it just registered
            _mail(f"p{n}@acme.example.com", f"Re: Pedido {n}", f"r{n}@acme.example.com", refs=f"n{n}@acme.example.com"),
            _mail(f"p{n}@acme.example.com", f"Otro {n}", f"o{n}@acme.example.com"),
            _mail(f"p{n}@acme.example.com", f"Otro {n}", f"o{n}@acme.example.com"),  # the MTA's retry: same bytes
        ]
        for n in range(CLIENTS)
    }
    answers = _send_all(server, messages)

    assert answers == {n: ["250"] * PER_CLIENT for n in range(CLIENTS)}
    assert sum(sizes) == CLIENTS * PER_CLIENT
    assert max(sizes) > 1 and len(sizes) < CLIENTS * PER_CLIENT  # deliveries were taken together
    subjects = sorted(Ticket.objects.values_list("subject", flat=True))
    assert subjects == sorted([f"Pedido {n}" for n in range(CLIENTS)] + [f"Otro {n}" for n in range(CLIENTS)])
    for n in range(CLIENTS):
        replies = Reply.objects.filter(ticket__subject=f"Pedido {n}").values_list("body", flat=True)
        assert [r.strip() for r in replies] == [f"Re: Pedido {n}: el detalle."]
    assert RawMessage.objects.count() == CLIENTS * 3  # the retries are the same raw messages


def test_a_failed_batch_is_refused_for_now_and_taken_when_delivered_again(
    receiver: tuple[ReceiverHandle, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Here the raw messages are stored, then the database goes away while they are routed (the batch and
    its one-by-one retry both fail): the MTA keeps them, and delivered again they are routed once."""
    server, _ = receiver
    down = threading.Event()
    down.set()
    real_load, real_process = BatchLookup.load, intake_batch.process_raw

    def gone(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if down.is_set():
                raise OperationalError("the database server went away")
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(BatchLookup, "load", gone(real_load))
    monkeypatch.setattr(intake_batch, "process_raw", gone(real_process))
    messages = {n: [_mail(f"p{n}@acme.example.com", f"Caída {n}", f"c{n}@acme.example.com")] for n in range(3)}
    assert _send_all(server, messages) == {n: ["451"] for n in range(3)}
    assert not Ticket.objects.exists()
    assert RawMessage.objects.filter(status=RawStatus.RECEIVED).count() == 3  # kept, waiting

    down.clear()  # the MTA delivers them again
    assert _send_all(server, messages) == {n: ["250"] for n in range(3)}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Caída 0", "Caída 1", "Caída 2"]


def test_a_closed_intake_takes_nothing_more(transactional_db: Any, mailbox: Mailbox) -> None:
    intake = GroupIntake()
    intake.close()
    intake.close()  # idempotent
    with pytest.raises(IntakeClosed):
        intake.deliver(
            raw=_mail("p0@acme.example.com", "Tarde", "t@acme.example.com"), recipients=[mailbox.address], now=NOW
        )
