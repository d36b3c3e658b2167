"""The e-mail transports against real servers: Dovecot for IMAP, smtplib clients, an aiosmtpd sink."""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from radicado.channels.email.imap import ImapError, PollResult, Undelivered, poll_mailbox
from radicado.channels.email.lmtp import start_lmtp_server, start_smtp_server
from radicado.channels.email.smtp import SmtpError, send_message
from radicado.channels.email.tests.servers import (
    DOVECOT_BINARY,
    DovecotServer,
    SmtpSink,
    free_port,
    self_signed_certificate,
)

SUPPORT = "soporte@example.com"
PROCESSED = "Radicado.Procesados"  # "Radicado/Procesados" with Dovecot's Maildir++ delimiter


def mail(n: int, *, to: str = SUPPORT) -> bytes:
    return (
        f"From: Carol <carol@example.com>\r\nTo: {to}\r\nSubject: Impresora {n}\r\n"
        f"Message-ID: <m{n}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"La impresora número {n} no imprime.\r\n"
    ).encode()


# -- IMAP -------------------------------------------------------------------------------------


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    if not os.path.exists(DOVECOT_BINARY):
        reason = f"Dovecot is not installed at {DOVECOT_BINARY} (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with DovecotServer({SUPPORT: "secret"}) as server:
        yield server


def poll(server: DovecotServer, deliver: object, **kwargs: object) -> PollResult:
    return poll_mailbox(
        host=server.host,
        port=server.port,
        username=SUPPORT,
        password="secret",
        ssl=False,
        deliver=deliver,  # type: ignore[arg-type]
        timeout=5,
        **kwargs,  # type: ignore[arg-type]
    )


def test_poll_delivers_each_new_message_once_and_files_it_as_processed(dovecot: DovecotServer) -> None:
    for n in (1, 2, 3):
        dovecot.append(SUPPORT, mail(n))
    received: list[bytes] = []

    assert poll(dovecot, received.append) == PollResult(delivered=3, failed=0, remaining=0, moved=3)

    assert received == [mail(1), mail(2), mail(3)]  # exact bytes, oldest first
    assert dovecot.messages(SUPPORT) == []
    processed = dovecot.messages(SUPPORT, PROCESSED)
    assert [m.raw for m in processed] == received
    assert all("\\Seen" in m.flags for m in processed)
    assert poll(dovecot, received.append) == PollResult()
    assert len(received) == 3


def test_a_failed_delivery_stays_unseen_in_the_inbox_and_is_retried(dovecot: DovecotServer) -> None:
    for n in (1, 2, 3):
        dovecot.append(SUPPORT, mail(n))
    received: list[bytes] = []

    def deliver(raw: bytes) -> None:
        if b"Impresora 2" in raw:
            raise RuntimeError("database is down")
        received.append(raw)

    assert poll(dovecot, deliver) == PollResult(delivered=2, failed=1, moved=2)
    [left] = dovecot.messages(SUPPORT)
    assert left.raw == mail(2)
    assert "\\Seen" not in left.flags

    assert poll(dovecot, received.append) == PollResult(delivered=1, moved=1)
    assert received == [mail(1), mail(3), mail(2)]
    assert len(dovecot.messages(SUPPORT, PROCESSED)) == 3


def test_a_crash_during_delivery_loses_nothing(dovecot: DovecotServer) -> None:
    dovecot.append(SUPPORT, mail(1))

    def crash(raw: bytes) -> None:
        raise KeyboardInterrupt  # the worker dies; not an ordinary failure to count

    with pytest.raises(KeyboardInterrupt):
        poll(dovecot, crash)
    received: list[bytes] = []
    assert poll(dovecot, received.append).delivered == 1
    assert received == [mail(1)]


def test_limit_bounds_a_poll_and_reports_what_remains(dovecot: DovecotServer) -> None:
    for n in range(1, 13):  # more than one FETCH chunk
        dovecot.append(SUPPORT, mail(n))
    received: list[bytes] = []

    assert poll(dovecot, received.append, limit=11) == PollResult(delivered=11, remaining=1, moved=11)
    assert poll(dovecot, received.append, limit=11) == PollResult(delivered=1, moved=1)
    assert received == [mail(n) for n in range(1, 13)]


def test_batches_are_delivered_together_and_a_failed_batch_stays_unseen(dovecot: DovecotServer) -> None:
    for n in range(1, 8):
        dovecot.append(SUPPORT, mail(n))
    batches: list[list[bytes]] = []

    def deliver_many(raws: list[bytes]) -> None:
        if any(b"Impresora 4" in raw for raw in raws):
            raise RuntimeError("database is down")
        batches.append(raws)

    assert poll(dovecot, None, deliver_many=deliver_many, batch=3) == PollResult(delivered=4, failed=3, moved=4)
    assert batches == [[mail(1), mail(2), mail(3)], [mail(7)]]
    left = dovecot.messages(SUPPORT)
    assert [m.raw for m in left] == [mail(4), mail(5), mail(6)] and not any("\\Seen" in m.flags for m in left)

    assert poll(dovecot, None, deliver_many=batches.append, batch=50) == PollResult(delivered=3, moved=3)
    assert batches[-1] == [mail(4), mail(5), mail(6)]
    assert len(dovecot.messages(SUPPORT, PROCESSED)) == 7


def test_a_stream_flags_each_batch_when_it_is_delivered_and_stops_unseen_on_failure(dovecot: DovecotServer) -> None:
    """``deliver_stream`` takes a batch ahead before it delivers the current one (as ``ingest_stream``
    does): a batch is flagged when the stream yields for it; when the stream raises, the batch it was
    on and the one taken ahead stay unseen, and so does everything not yet fetched."""
    for n in range(1, 11):
        dovecot.append(SUPPORT, mail(n))
    delivered: list[list[bytes]] = []
    seen_when_taken: list[int] = []

    def deliver_stream(batches: Iterator[list[bytes]]) -> Iterator[None]:
        current = next(batches, None)
        while current is not None:
            ahead = next(batches, None)
            seen_when_taken.append(sum("\\Seen" in m.flags for m in dovecot.messages(SUPPORT)))
            if any(b"Impresora 7" in raw for raw in current):
                raise RuntimeError("database is down")
            delivered.append(current)
            yield None
            current = ahead

    result = poll(dovecot, None, deliver_stream=deliver_stream, batch=3, processed_folder=None)
    assert result == PollResult(delivered=6, failed=4)  # batches 7-9 (failed) and 10 (taken ahead)
    assert delivered == [[mail(1), mail(2), mail(3)], [mail(4), mail(5), mail(6)]]
    assert seen_when_taken == [0, 3, 6]  # each batch flagged once delivered, before the next is delivered
    unseen = [m.raw for m in dovecot.messages(SUPPORT) if "\\Seen" not in m.flags]
    assert unseen == [mail(n) for n in range(7, 11)]

    assert poll(dovecot, None, deliver_stream=lambda batches: (delivered.append(b) for b in batches)).delivered == 4
    assert delivered[-1] == [mail(n) for n in range(7, 11)]


def test_a_batch_the_stream_could_not_deliver_stays_unseen_and_the_next_is_delivered(
    dovecot: DovecotServer,
) -> None:
    """``Undelivered`` for one batch (its database write failed); a delivery that raises OSError (a full disk)
    is the delivery's failure, counted, not the IMAP server's."""
    for n in range(1, 8):
        dovecot.append(SUPPORT, mail(n))

    def deliver_stream(batches: Iterator[list[bytes]]) -> Iterator[object]:
        for raws in batches:
            yield Undelivered(RuntimeError("database is down")) if b"Impresora 3" in raws[0] else raws

    result = poll(dovecot, None, deliver_stream=deliver_stream, batch=2, processed_folder=None)
    assert result == PollResult(delivered=5, failed=2)
    unseen = [m.raw for m in dovecot.messages(SUPPORT) if "\\Seen" not in m.flags]
    assert unseen == [mail(3), mail(4)]

    def full_disk(batches: Iterator[list[bytes]]) -> Iterator[object]:
        for _raws in batches:
            raise OSError(28, "No space left on device")
        yield None

    assert poll(dovecot, None, deliver_stream=full_disk, processed_folder=None) == PollResult(failed=2)


def test_a_poll_needs_exactly_one_way_to_deliver(dovecot: DovecotServer) -> None:
    with pytest.raises(ValueError, match="deliver"):
        poll(dovecot, print, deliver_many=print)
    with pytest.raises(ValueError, match="deliver"):
        poll(dovecot, None)


def test_seen_and_deleted_messages_are_not_collected(dovecot: DovecotServer) -> None:
    dovecot.append(SUPPORT, mail(1), flags="\\Seen")
    dovecot.append(SUPPORT, mail(2), flags="\\Deleted")
    dovecot.append(SUPPORT, mail(3))
    received: list[bytes] = []

    assert poll(dovecot, received.append).delivered == 1
    assert received == [mail(3)]


def test_without_a_processed_folder_the_seen_flag_marks_the_message(dovecot: DovecotServer) -> None:
    dovecot.append(SUPPORT, mail(1))
    received: list[bytes] = []

    assert poll(dovecot, received.append, processed_folder=None) == PollResult(delivered=1)
    [kept] = dovecot.messages(SUPPORT)
    assert "\\Seen" in kept.flags
    assert dovecot.messages(SUPPORT, PROCESSED) == []
    assert poll(dovecot, received.append, processed_folder=None) == PollResult()


def test_a_wrong_password_raises_imap_error(dovecot: DovecotServer) -> None:
    with pytest.raises(ImapError, match="AUTHENTICATIONFAILED"):
        poll_mailbox(host=dovecot.host, port=dovecot.port, username=SUPPORT, password="wrong", ssl=False, deliver=print)


def test_an_unreachable_server_raises_imap_error() -> None:
    with pytest.raises(ImapError, match="refused"):
        poll_mailbox(
            host="127.0.0.1", port=free_port(), username=SUPPORT, password="x", ssl=False, deliver=print, timeout=2
        )


# -- LMTP / SMTP receiver -----------------------------------------------------------------------


class Recorder:
    """A deliver callback that records calls and fails on demand."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[bytes, list[str]]] = []
        self.lock = threading.Lock()

    def __call__(self, raw: bytes, recipients: list[str]) -> None:
        with self.lock:
            self.calls.append((raw, recipients))
        if self.fail:
            raise RuntimeError("database is down")


def test_lmtp_hands_the_message_and_its_recipients_to_deliver() -> None:
    deliver = Recorder()
    with (
        start_lmtp_server(host="127.0.0.1", port=0, deliver=deliver) as server,
        smtplib.LMTP(server.host, server.port, local_hostname="mta.test") as client,
    ):
        refused = client.sendmail("carol@example.com", [SUPPORT], mail(1))

    assert refused == {}
    assert deliver.calls == [(b"Return-Path: <carol@example.com>\r\n" + mail(1), [SUPPORT])]


def test_lmtp_answers_once_per_recipient() -> None:
    deliver = Recorder()
    with (
        start_lmtp_server(host="127.0.0.1", port=0, deliver=deliver) as server,
        smtplib.LMTP(server.host, server.port, local_hostname="mta.test") as client,
    ):
        client.ehlo()
        client.mail("")
        client.rcpt(SUPPORT)
        client.rcpt("ventas@example.com")
        assert client.data(mail(1))[0] == 250  # smtplib reads only the first reply...
        assert client.getreply()[0] == 250  # ...LMTP sends one per recipient
        assert client.noop()[0] == 250  # and the conversation is still in step

    assert deliver.calls == [(b"Return-Path: <>\r\n" + mail(1), [SUPPORT, "ventas@example.com"])]


def test_lmtp_answers_451_when_deliver_fails_so_the_mta_retries() -> None:
    with (
        start_lmtp_server(host="127.0.0.1", port=0, deliver=Recorder(fail=True)) as server,
        smtplib.LMTP(server.host, server.port, local_hostname="mta.test") as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.sendmail("carol@example.com", [SUPPORT], mail(1))

    assert refused.value.smtp_code == 451


def test_lmtp_refuses_oversized_messages_with_552() -> None:
    deliver = Recorder()
    big = mail(1) + (b"x" * 70 + b"\r\n") * 30
    with start_lmtp_server(host="127.0.0.1", port=0, deliver=deliver, max_message_size=1000) as server:
        with (
            smtplib.LMTP(server.host, server.port, local_hostname="mta.test") as client,
            pytest.raises(smtplib.SMTPSenderRefused) as declared,
        ):
            client.sendmail("carol@example.com", [SUPPORT], big)  # smtplib declares SIZE=
        with smtplib.LMTP(server.host, server.port, local_hostname="mta.test") as client:
            client.ehlo()
            client.mail("carol@example.com")  # no SIZE: caught while receiving
            client.rcpt(SUPPORT)
            client.rcpt("ventas@example.com")
            assert client.data(big)[0] == 552
            assert client.getreply()[0] == 552

    assert declared.value.smtp_code == 552
    assert deliver.calls == []


def test_the_smtp_receiver_has_the_same_contract() -> None:
    deliver = Recorder()
    with (
        start_smtp_server(host="127.0.0.1", port=0, deliver=deliver) as server,
        smtplib.SMTP(server.host, server.port, local_hostname="mta.test") as client,
    ):
        client.sendmail("carol@example.com", [SUPPORT], mail(1))
        deliver.fail = True
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("carol@example.com", [SUPPORT], mail(2))

    assert refused.value.smtp_code == 451
    assert [raw for raw, _ in deliver.calls] == [
        b"Return-Path: <carol@example.com>\r\n" + mail(1),
        b"Return-Path: <carol@example.com>\r\n" + mail(2),
    ]


def test_stop_waits_for_delivery_in_progress_and_frees_the_port() -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow(raw: bytes, recipients: list[str]) -> None:
        started.set()
        release.wait(5)
        finished.append(True)

    server = start_lmtp_server(host="127.0.0.1", port=0, deliver=slow)
    client = smtplib.LMTP(server.host, server.port, local_hostname="mta.test", timeout=5)
    sender = threading.Thread(target=lambda: _ignore_errors(client.sendmail, "a@example.com", [SUPPORT], mail(1)))
    sender.start()
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    server.stop()
    assert finished == [True]
    sender.join(5)
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=1)
    server.stop()  # idempotent


def _ignore_errors(fn: object, *args: object) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        fn(*args)  # type: ignore[operator]


# -- SMTP sending -------------------------------------------------------------------------------


def send(sink: SmtpSink, rcpt_to: list[str], raw: bytes = b"", **kwargs: object) -> None:
    options: dict[str, object] = {"username": None, "password": None, "starttls": False, "ssl": False}
    options.update(kwargs)
    send_message(
        host=sink.host,
        port=sink.port,
        mail_from="soporte@example.com",
        rcpt_to=rcpt_to,
        raw=raw or mail(1, to=rcpt_to[0]),
        timeout=5,
        local_hostname="radicado.test",
        **options,  # type: ignore[arg-type]
    )


def test_send_message_hands_over_the_exact_bytes_and_envelope() -> None:
    with SmtpSink() as sink:
        send(sink, ["carol@example.com", "dave@example.com"], mail(1, to="carol@example.com"))
        [got] = sink.wait_for(1)

    assert got.mail_from == "soporte@example.com"
    assert got.rcpt_tos == ["carol@example.com", "dave@example.com"]
    assert got.raw == mail(1, to="carol@example.com")


@pytest.mark.parametrize(
    ("reply", "permanent"), [("550 5.1.1 No such user", True), ("450 4.2.1 Try again later", False)]
)
def test_a_refused_recipient_raises_smtp_error_permanent_only_for_5xx(reply: str, permanent: bool) -> None:
    with SmtpSink(reject={"nadie@example.com": reply}) as sink, pytest.raises(SmtpError) as error:
        send(sink, ["nadie@example.com"])

    assert error.value.permanent is permanent
    assert error.value.code == int(reply[:3])
    assert "nadie@example.com" in str(error.value)


def test_a_partly_refused_message_says_who_got_it() -> None:
    with SmtpSink(reject={"nadie@example.com": "550 5.1.1 No such user"}) as sink:
        with pytest.raises(SmtpError) as error:
            send(sink, ["carol@example.com", "nadie@example.com"])
        [got] = sink.wait_for(1)

    assert got.rcpt_tos == ["carol@example.com"]
    assert error.value.permanent is True
    assert error.value.accepted == ["carol@example.com"]
    assert error.value.refused == {"nadie@example.com": (550, "5.1.1 No such user")}


@pytest.mark.parametrize(("reply", "permanent"), [("554 5.6.0 Rejected", True), ("451 4.3.0 Busy", False)])
def test_a_refused_message_raises_smtp_error(reply: str, permanent: bool) -> None:
    with SmtpSink(data_reply=reply) as sink, pytest.raises(SmtpError) as error:
        send(sink, ["carol@example.com"])

    assert (error.value.permanent, error.value.code) == (permanent, int(reply[:3]))


def test_an_unreachable_relay_is_a_temporary_error() -> None:
    with pytest.raises(SmtpError) as error:
        send_message(
            host="127.0.0.1", port=free_port(), username=None, password=None, starttls=False, ssl=False,
            mail_from="soporte@example.com", rcpt_to=["carol@example.com"], raw=mail(1), timeout=2,
        )  # fmt: skip

    assert error.value.permanent is False


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    try:
        return self_signed_certificate(tmp_path)
    except FileNotFoundError as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))


def test_starttls_and_login(certificate: tuple[Path, Path]) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    with SmtpSink(tls=certificate, credentials={"radicado": "s3cret"}) as sink:
        send(sink, ["carol@example.com"], starttls=True, username="radicado", password="s3cret", ssl_context=trust)
        assert len(sink.wait_for(1)) == 1
        with pytest.raises(SmtpError) as error:
            send(sink, ["carol@example.com"], starttls=True, username="radicado", password="no", ssl_context=trust)
        assert (error.value.permanent, error.value.code) == (False, 535)  # fixable settings, not a bad message
        with pytest.raises(SmtpError) as untrusted:
            send(sink, ["carol@example.com"], starttls=True, username="radicado", password="s3cret")
        assert untrusted.value.permanent is False
        assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)


def test_ssl_and_starttls_together_are_refused() -> None:
    with pytest.raises(ValueError, match="mutually exclusive"):
        send_message(
            host="127.0.0.1", port=1, username=None, password=None, starttls=True, ssl=True,
            mail_from="a@example.com", rcpt_to=["b@example.com"], raw=b"x",
        )  # fmt: skip
