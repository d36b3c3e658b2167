"""``radicado mail …``: the e-mail channel's interfaces, each onto the same ingest action.

radicado mail ingest --workspace SLUG FILE…   one JSON line per file
radicado mail poll [--loop SECONDS]           read every mailbox with IMAP settings
radicado mail lmtp [--host H] [--port N]      receive from an MTA (LMTP), deliver by recipient
radicado mail send [--loop SECONDS] [--lease SECONDS]  send pending outbound mail (retries)
radicado mail reprocess --workspace SLUG      retry quarantined messages after a fix
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from radicado.action import guarded_call
from radicado.channels import claims
from radicado.channels.actions import claim_polling, release_polling, renew_polling
from radicado.channels.email.imap import ImapError, Undelivered, poll_mailbox
from radicado.channels.email.lmtp import start_lmtp_server
from radicado.channels.jobs import send_pending
from radicado.channels.models import Mailbox, RawMessage, RawStatus
from radicado.tickets.intake import GroupIntake, IngestResult, ingest_email, ingest_stream, mailboxes_for, process_raw

log = logging.getLogger(__name__)
INGEST_BATCH = 100  # files per ingest_many call: one transaction each (ADR 0010)
POLL_BATCH = 50  # messages per IMAP batch (one ingest_many each, flagged together)
POLL_LIMIT = 1000  # messages per IMAP poll (its batches stream through one helper process, ADR 0011)
# While a mailbox has a backlog it is polled again at once, until this long after the run started: a
# run stays within the two minutes between scheduled runs (the next one would skip the mailboxes it holds).
POLL_BUDGET_S = 90
# A run holds a mailbox this long from its last poll (renewed before each poll of a drain): above a
# poll's worst case (1,000 messages), so that no second run reads the mailbox meanwhile.
POLL_LEASE = dt.timedelta(minutes=5)
# LMTP connections served at once; each waits for its message's batch. Above an MTA's usual
# concurrency per destination (Postfix: 20), so deliveries queue here, where they batch, not there.
LMTP_CONNECTIONS = 32


def _mailbox(slug: str) -> Mailbox:
    mailbox = Mailbox.objects.select_related("workspace").filter(workspace__slug=slug).order_by("id").first()
    if mailbox is None:
        raise CommandError(f"el espacio de trabajo {slug!r} no existe o no tiene buzón de correo")
    return mailbox


def _line(result: IngestResult, **extra: Any) -> str:
    return json.dumps(
        {**extra, "outcome": result.outcome, "ticket": result.ticket, "detail": result.detail}, ensure_ascii=False
    )


class Command(BaseCommand):
    help = "E-mail channel: ingest files, poll IMAP, receive LMTP, send outbound mail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="Ingest raw .eml files")
        ingest.add_argument("--workspace", required=True)
        ingest.add_argument("files", nargs="+")
        poll = sub.add_parser("poll", help="Poll every mailbox over IMAP")
        poll.add_argument("--loop", type=float, default=0)
        lmtp = sub.add_parser("lmtp", help="Run the LMTP receiver")
        lmtp.add_argument("--host", default="127.0.0.1")
        lmtp.add_argument("--port", type=int, default=8024)
        send = sub.add_parser("send", help="Send pending outbound mail")
        send.add_argument("--loop", type=float, default=0, help="keep sending, pausing SECONDS between sweeps")
        send.add_argument("--lease", type=float, default=0, help="hold a claimed row for SECONDS (default 300)")
        again = sub.add_parser("reprocess", help="Process quarantined messages again")
        again.add_argument("--workspace", required=True)

    @guarded_call
    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, f"_{opts['action']}")(opts)

    def _ingest(self, opts: dict[str, Any]) -> None:
        """One JSON line per file, in order; the files are taken in batches (``ingest_stream``).

        A batch's lines are written as soon as it is done; a file that cannot be read gets an
        ``error`` line and the others go on.
        """
        mailbox = _mailbox(opts["workspace"])
        files: list[str] = opts["files"]
        taken: collections.deque[tuple[list[str], dict[int, str], list[int]]] = collections.deque()

        def batches() -> Iterator[list[tuple[bytes, dt.datetime]]]:
            for start in range(0, len(files), INGEST_BATCH):
                names = files[start : start + INGEST_BATCH]
                lines: dict[int, str] = {}
                readable: list[int] = []
                messages: list[tuple[bytes, dt.datetime]] = []
                now = timezone.now()
                for i, name in enumerate(names):
                    try:
                        messages.append((Path(name).read_bytes(), now))
                        readable.append(i)
                    except OSError as exc:
                        lines[i] = json.dumps({"file": name, "outcome": "error", "detail": exc.strerror})
                taken.append((names, lines, readable))
                yield messages

        for results in ingest_stream(mailbox=mailbox, batches=batches(), source="file"):
            names, lines, readable = taken.popleft()
            for i, result in zip(readable, results, strict=True):
                lines[i] = _line(result, file=names[i])
            for i in range(len(names)):
                self.stdout.write(lines[i])

    def _poll(self, opts: dict[str, Any]) -> None:
        while True:
            until = time.monotonic() + POLL_BUDGET_S
            for mailbox in Mailbox.objects.select_related("workspace").exclude(imap_host=""):
                self._drain(mailbox, until)
            if not opts["loop"]:
                return
            time.sleep(opts["loop"])

    def _drain(self, mailbox: Mailbox, until: float) -> None:
        """Poll ``mailbox`` again at once while a backlog is left (after an outage), until ``until``.

        Only while this run holds the mailbox's polling lease: another run reading it meanwhile is
        skipped, and a run that lost its lease (it stalled past it) stops.
        """
        held = claim_polling(mailbox_id=mailbox.id, now=timezone.now(), lease=POLL_LEASE)
        if held is None:
            self.stdout.write(f"{mailbox.address}: otra ejecución lo está leyendo")
            return
        lease = [held]  # as last claimed or renewed: what releasing it must match
        try:
            self._drain_held(mailbox, until, lease)
        finally:
            release_polling(mailbox_id=mailbox.id, held=lease[0])

    def _drain_held(self, mailbox: Mailbox, until: float, lease: list[dt.datetime]) -> None:
        while True:
            try:
                result = poll_mailbox(
                    host=mailbox.imap_host,
                    port=mailbox.imap_port,
                    username=mailbox.imap_username,
                    password=mailbox.imap_password,
                    folder=mailbox.imap_folder,
                    ssl=mailbox.imap_ssl,
                    deliver_stream=_imap_deliverer(mailbox),
                    batch=POLL_BATCH,
                    limit=POLL_LIMIT,
                )
            except ImapError as exc:  # this mailbox's server; the other mailboxes are still read
                log.warning("IMAP poll of %s failed: %s", mailbox.address, exc)
                self.stderr.write(f"{mailbox.address}: {exc}")
                return
            self.stdout.write(f"{mailbox.address}: {result}")
            if not (result.remaining and result.delivered) or time.monotonic() >= until:
                return
            renewed = renew_polling(mailbox_id=mailbox.id, held=lease[0], now=timezone.now(), lease=POLL_LEASE)
            if renewed is None:
                log.warning("lost the polling lease of %s; another run reads it now", mailbox.address)
                return
            lease[0] = renewed

    def _lmtp(self, opts: dict[str, Any]) -> None:
        intake = GroupIntake(source="lmtp")
        try:
            handle = start_lmtp_server(
                host=opts["host"],
                port=opts["port"],
                deliver=functools.partial(deliver_by_recipient, intake=intake),
                workers=LMTP_CONNECTIONS,
            )
        except BaseException:
            intake.close()
            raise
        self.stdout.write(f"LMTP en {opts['host']}:{opts['port']} (Ctrl+C para detener)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            handle.stop()  # waits for the deliveries in progress, which wait for their batch
            intake.close()

    def _send(self, opts: dict[str, Any]) -> None:
        held = dt.timedelta(seconds=opts["lease"]) if opts["lease"] > 0 else claims.LEASE
        with claims.lease(held):
            while True:
                close_old_connections()
                sent = send_pending()
                if not opts["loop"]:
                    self.stdout.write(f"{sent} correos enviados")
                    return
                if sent:
                    self.stdout.write(f"{sent} correos enviados")
                time.sleep(opts["loop"])

    def _reprocess(self, opts: dict[str, Any]) -> None:
        mailbox = _mailbox(opts["workspace"])
        rows = RawMessage.objects.filter(workspace_id=mailbox.workspace_id, status=RawStatus.QUARANTINED)
        for row in rows:
            self.stdout.write(_line(process_raw(mailbox=mailbox, row=row, now=timezone.now()), raw=row.id))


def _imap_deliverer(mailbox: Mailbox) -> Callable[[Iterator[list[bytes]]], Iterator[list[IngestResult] | Undelivered]]:
    """The poll's batches through ``ingest_stream``: a helper process prepares the next while one is routed.

    A batch that fails stays unseen and the next is tried, as when batches were delivered one call each.
    """

    def deliver(batches: Iterator[list[bytes]]) -> Iterator[list[IngestResult] | Undelivered]:
        stamped = ([(raw, timezone.now()) for raw in raws] for raws in batches)
        for done in ingest_stream(mailbox=mailbox, batches=stamped, source="imap", keep_going=True):
            yield Undelivered(done) if isinstance(done, Exception) else done

    return deliver


def deliver_by_recipient(raw: bytes, recipients: list[str], *, intake: GroupIntake | None = None) -> None:
    """LMTP delivery: each recipient that is a mailbox (or its plus-address) gets the message.

    With ``intake``, the message joins the deliveries arriving meanwhile in one batch (group commit,
    ADR 0013), and this thread touches no database; without, it is taken in alone, here: drop stale
    connections first, as a request handler would (the receiver's worker threads are long-lived).
    Either way this returns once the message is committed.
    """
    if intake is not None:
        intake.deliver(raw=raw, recipients=recipients, now=timezone.now())
        return
    close_old_connections()
    for mailbox in mailboxes_for(recipients):
        ingest_email(mailbox=mailbox, raw=raw, source="lmtp", now=timezone.now())
