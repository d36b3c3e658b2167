"""Poll an IMAP mailbox and hand each new message to a callback (an inbound edge of the e-mail channel).

Pure transport: no Django, no models. "New" means unseen and not deleted in ``folder``. A
message is marked processed only after ``deliver(raw)`` returned: first flagged ``\\Seen``
(right away, so a later crash cannot deliver it again), then moved to the processed folder
("Radicado/Procesados", created and subscribed if missing) at the end of the poll, which keeps
the inbox small and shows people what was taken. The move needs the server's MOVE extension
(RFC 6851); without it, or if the folder cannot be created, the ``\\Seen`` flag alone marks the
message (imap-tools would emulate MOVE with COPY and an EXPUNGE of the whole folder, which could
purge what someone else marked deleted).

``deliver_many(raws)`` instead of ``deliver`` takes the messages in batches (up to ``batch`` of
them or ``BATCH_BYTES``, whichever comes first), for a callback that is faster per batch (the
e-mail channel's ``ingest_many``); a batch counts as one delivery: flagged together after it
returned, left unseen together if it raised. ``deliver_stream(batches)`` takes the same batches
as an iterator, fetched as it asks for them, and yields once per batch, in order, when that batch
is delivered (the e-mail channel's ``ingest_stream``, which takes the next batch before it
delivers the current one): each batch is flagged when its turn is yielded, unless the stream
yields ``Undelivered(exc)`` for it (it stays unseen; the next batch is tried); if the stream
itself raises, the batch it was on and any it had taken ahead stay unseen, and the poll ends there.

Guarantees: a crash between fetching and the ``\\Seen`` flag means the message is delivered
again on the next poll (the callback deduplicates by Message-ID); it is never lost. A
``deliver`` that raises leaves the message unseen where it was, to be retried on the next poll.
Caveat: someone reading the inbox with a mail client marks messages seen, and seen messages are
not collected; the support mailbox should be read only through Radicado.
"""

from __future__ import annotations

import collections
import contextlib
import imaplib
import logging
import ssl as ssl_module
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxFolderCreateError

__all__ = ["PROCESSED_FOLDER", "ImapError", "PollResult", "Undelivered", "poll_mailbox"]

log = logging.getLogger(__name__)

PROCESSED_FOLDER = "Radicado/Procesados"
"""Where processed messages go; "/" separates levels and becomes the server's own delimiter."""

_FETCH_CHUNK = 10  # messages per FETCH: a few round trips per poll, bounded memory for large mails
BATCH_BYTES = 32 * 1024 * 1024  # a batch for deliver_many holds at most this much mail (and at least one message)


@dataclass(frozen=True)
class PollResult:
    """What one poll did. ``remaining`` counts new messages left for the next poll by ``limit``;
    ``moved`` counts delivered messages moved to the processed folder (0 in flag-only mode)."""

    delivered: int = 0
    failed: int = 0
    remaining: int = 0
    moved: int = 0


class ImapError(Exception):
    """The mailbox could not be reached or a command failed (connection, TLS, login, protocol).

    ``result`` is what the poll had done before the failure: messages counted as delivered
    were delivered and flagged.
    """

    def __init__(self, message: str, *, result: PollResult | None = None) -> None:
        super().__init__(message)
        self.result = result or PollResult()


class _RawMessage(MailMessage):
    """A fetched message kept as the exact bytes the server sent, not parsed.

    imap-tools' MailMessage parses into email.message.Message and drops the bytes; re-serialising
    that is not byte-exact, and the raw store keys on the bytes.
    """

    def __init__(self, fetch_data: list[bytes | tuple[bytes, bytes]]) -> None:
        raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)
        self.raw: bytes = raw


def poll_mailbox(
    *,
    host: str,
    port: int,
    username: str,
    password: str,
    folder: str = "INBOX",
    ssl: bool = True,
    starttls: bool = False,
    deliver: Callable[[bytes], object] | None = None,
    deliver_many: Callable[[list[bytes]], object] | None = None,
    deliver_stream: Callable[[Iterator[list[bytes]]], Iterable[object]] | None = None,
    batch: int = 50,
    limit: int = 100,
    processed_folder: str | None = PROCESSED_FOLDER,
    timeout: float = 30,
    ssl_context: ssl_module.SSLContext | None = None,
) -> PollResult:
    """Deliver up to ``limit`` new messages of ``folder``, oldest first, to ``deliver(raw_bytes)``.

    Connects with implicit TLS (``ssl``, port 993), STARTTLS (``starttls``) or, with neither,
    in clear text (loopback and tests only); certificates are verified with ``ssl_context``
    (default: the system trust store). ``timeout`` bounds the connection and every read.
    ``processed_folder=None`` selects flag-only mode. Counts a ``deliver`` that raised as failed
    (the exception is logged) and goes on with the next message. ``deliver`` should raise only
    for trouble that may pass (the database is down): a message that always fails is fetched
    again on every poll, and ``limit`` of them would hold back everything newer. Raises
    ImapError when the server cannot be reached or a command fails; ValueError for ``ssl`` with
    ``starttls``, or unless exactly one of ``deliver``, ``deliver_many`` and ``deliver_stream``
    is given.
    """
    if ssl and starttls:
        raise ValueError("ssl (implicit TLS) and starttls are mutually exclusive")
    if [deliver, deliver_many, deliver_stream].count(None) != 2:
        raise ValueError("give one of deliver (one message at a time), deliver_many or deliver_stream (batches)")
    if deliver is not None:
        hand_over: Callable[[Iterator[list[bytes]]], Iterable[object]] = _each(_one_by_one(deliver))
        batch = 1
    elif deliver_many is not None:
        hand_over = _each(deliver_many)
    else:
        assert deliver_stream is not None
        hand_over = deliver_stream
    progress = _Progress()
    try:
        mailbox = _connect(host, port, ssl, starttls, timeout, ssl_context)
        try:
            mailbox.login(username, password, initial_folder=folder)
            _poll(mailbox, folder, hand_over, max(batch, 1), limit, processed_folder, progress)
        finally:
            _logout(mailbox)
    except (ImapToolsError, imaplib.IMAP4.error, OSError) as exc:
        raise ImapError(f"{host}:{port} {username} {folder}: {exc}", result=progress.result()) from exc
    return progress.result()


@dataclass
class _Progress:
    delivered: list[str] = field(default_factory=list)
    failed: int = 0
    remaining: int = 0
    moved: int = 0

    def result(self) -> PollResult:
        return PollResult(delivered=len(self.delivered), failed=self.failed, remaining=self.remaining, moved=self.moved)


def _one_by_one(deliver: Callable[[bytes], object]) -> Callable[[list[bytes]], object]:
    def hand_over(raws: list[bytes]) -> None:
        for raw in raws:
            deliver(raw)

    return hand_over


class Undelivered:
    """What a ``deliver_stream`` yields for a batch it could not deliver: it stays unseen, the next is tried."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _ServerError(Exception):
    """An IMAP or network error met while fetching inside the stream: the poll's, not the delivery's."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _each(deliver_many: Callable[[list[bytes]], object]) -> Callable[[Iterator[list[bytes]]], Iterator[object]]:
    """A batch-by-batch callback as a stream: a batch that raised is skipped, not the end of the poll."""

    def stream(batches: Iterator[list[bytes]]) -> Iterator[object]:
        for raws in batches:
            try:
                deliver_many(raws)
            except Exception as exc:
                yield Undelivered(exc)
            else:
                yield None

    return stream


def _poll(
    mailbox: BaseMailBox,
    folder: str,
    deliver_stream: Callable[[Iterator[list[bytes]]], Iterable[object]],
    batch: int,
    limit: int,
    processed_folder: str | None,
    progress: _Progress,
) -> None:
    capabilities = _capabilities(mailbox.client)
    new = mailbox.uids("UNSEEN UNDELETED")
    wanted, progress.remaining = new[:limit], max(len(new) - limit, 0)
    taken: collections.deque[list[str]] = collections.deque()  # uids of the batches handed over, in order

    def fetched() -> Iterator[tuple[str, bytes]]:
        try:
            yield from _fetch(mailbox, wanted)
        except (ImapToolsError, imaplib.IMAP4.error, OSError) as exc:
            raise _ServerError(exc) from exc  # through the callback's frames, told apart from its own errors

    def batches() -> Iterator[list[bytes]]:
        held: list[tuple[str, bytes]] = []
        for uid, raw in fetched():
            held.append((uid, raw))
            if len(held) >= batch or sum(len(r) for _, r in held) >= BATCH_BYTES:
                taken.append([u for u, _ in held])
                yield [r for _, r in held]
                held = []
        if held:
            taken.append([u for u, _ in held])
            yield [r for _, r in held]

    try:
        for outcome in deliver_stream(batches()):
            uids = taken.popleft()
            if isinstance(outcome, Undelivered):
                _log_undelivered(folder, uids, outcome.error)
                progress.failed += len(uids)
                continue
            try:
                _mark_seen(mailbox.client, uids)
            except (ImapToolsError, imaplib.IMAP4.error, OSError) as exc:
                raise _ServerError(exc) from exc
            progress.delivered.extend(uids)
    except _ServerError as exc:
        raise exc.error from None  # the server, not the delivery: ImapError
    except Exception as exc:  # the delivery (even an OSError: a full disk is not the IMAP server's)
        for uids in taken:  # the batch being delivered, and any taken ahead
            _log_undelivered(folder, uids, exc)
            progress.failed += len(uids)
    if not (progress.delivered and processed_folder and "MOVE" in capabilities):
        return
    try:
        target = _ensure_folder(mailbox, processed_folder)
        if target is not None:
            mailbox.move(progress.delivered, target)
            progress.moved = len(progress.delivered)
    except (ImapToolsError, imaplib.IMAP4.error) as exc:
        # Housekeeping only: the messages are delivered and flagged \Seen, which is what counts.
        log.warning("could not move processed messages out of %s: %s", folder, exc)


def _log_undelivered(folder: str, uids: list[str], exc: BaseException) -> None:
    log.error("delivery of IMAP messages uid=%s in %s failed; they stay unseen", ",".join(uids), folder, exc_info=exc)


def _logout(mailbox: BaseMailBox) -> None:
    try:
        mailbox.logout()
    except (ImapToolsError, imaplib.IMAP4.error, OSError):
        with contextlib.suppress(OSError):
            mailbox.client.shutdown()


def _connect(
    host: str, port: int, ssl: bool, starttls: bool, timeout: float, context: ssl_module.SSLContext | None
) -> BaseMailBox:
    if ssl:
        return MailBox(host, port, timeout=timeout, ssl_context=context or ssl_module.create_default_context())
    if starttls:
        return MailBoxStartTls(host, port, timeout=timeout, ssl_context=context or ssl_module.create_default_context())
    return MailBoxUnencrypted(host, port, timeout=timeout)


def _capabilities(client: imaplib.IMAP4) -> set[str]:
    """The capabilities after login: imaplib keeps only the pre-login list, which often lacks MOVE."""
    typ, data = client.capability()
    if typ != "OK" or not data or not isinstance(data[-1], bytes):
        return set()
    return set(data[-1].decode("ascii", "replace").upper().split())


def _fetch(mailbox: BaseMailBox, uids: list[str]) -> Iterator[tuple[str, bytes]]:
    """(uid, raw bytes) for ``uids``, in chunks, without setting \\Seen (BODY.PEEK)."""
    if not uids:
        return  # imap-tools reads an empty uid_list as "search ALL"
    mailbox.email_message_class = _RawMessage
    for message in mailbox.fetch(uid_list=uids, mark_seen=False, bulk=_FETCH_CHUNK):
        if isinstance(message, _RawMessage) and message.uid is not None:
            yield message.uid, message.raw


def _mark_seen(client: imaplib.IMAP4, uids: list[str]) -> None:
    # Not imap-tools' flag(): it EXPUNGEs the folder after every STORE.
    uid_set = ",".join(uids)
    typ, data = client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"STORE \\Seen on uids {uid_set} failed: {data!r}")


def _ensure_folder(mailbox: BaseMailBox, logical_name: str) -> str | None:
    """The server-side name of ``logical_name``, created and subscribed if missing; None if impossible."""
    roots = mailbox.folder.list("", "")
    delimiter = roots[0].delim if roots else "/"
    name = logical_name.replace("/", delimiter) if delimiter and delimiter.upper() != "NIL" else logical_name
    if mailbox.folder.exists(name):
        return name
    try:
        mailbox.folder.create(name)
    except MailboxFolderCreateError:
        if mailbox.folder.exists(name):  # another poller created it meanwhile
            return name
        log.warning("cannot create IMAP folder %r; processed messages stay flagged \\Seen in place", name)
        return None
    mailbox.folder.subscribe(name, True)
    return name
