"""Group commit for mail pushed to us (LMTP): deliveries that arrive together share one batch.

An MTA delivers over several connections at once (Postfix: up to 20 per destination), and each
delivery waits for its message to be stored and routed before it answers 250. Taken one by one
(``ingest_email``), a message costs its own transaction and ~20 statements. Here every delivery is
handed to one intake thread, which takes all the deliveries waiting at that moment (up to
``max_batch``) as one ``ingest_many`` batch per mailbox (ADR 0010: the outcomes of the same messages
one by one) and answers each delivery once its batch is committed. Nothing waits on purpose: a lone
delivery is a batch of one, at once; under load, the deliveries that arrive while a batch is routed
form the next one (ADR 0013). The receiver's threads only wait: the intake thread also finds the
recipients' mailboxes, so it is the only one with a database connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

from radicado.channels.models import Mailbox
from radicado.tickets.intake.batch import ingest_many
from radicado.tickets.intake.routing import IngestResult

log = logging.getLogger(__name__)
# How long a delivery waits for its batch before it is answered as a temporary failure (the MTA retries;
# if the batch commits after all, the retry is a duplicate and ignored). Below Postfix's 600 s.
DELIVERY_TIMEOUT_S = 300


@dataclass
class _Delivery:
    raw: bytes
    recipients: list[str]
    now: dt.datetime
    done: Future[list[IngestResult]] = field(default_factory=Future)
    results: list[IngestResult] = field(default_factory=list)
    error: Exception | None = None


def mailboxes_for(recipients: list[str]) -> list[Mailbox]:
    """Our mailboxes among envelope recipients (an address or its plus-address), in their order, once each."""
    found: dict[int, Mailbox] = {}
    for rcpt in recipients:
        local, _, domain = rcpt.lower().partition("@")
        address = f"{local.split('+', 1)[0]}@{domain}"
        mailbox = Mailbox.objects.select_related("workspace").filter(address__iexact=address).first()
        if mailbox is not None:
            found.setdefault(mailbox.id, mailbox)
    return list(found.values())


class IntakeClosed(RuntimeError):
    """The intake was closed: the delivery was not taken (the MTA will retry it)."""


class GroupIntake:
    """One intake thread for deliveries from many threads; ``close()`` (or ``with``) stops it."""

    def __init__(self, *, source: str = "lmtp", max_batch: int = 100) -> None:
        self._source = source
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Delivery | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="radicado-mail-intake", daemon=True)
        self._thread.start()

    def deliver(self, *, raw: bytes, recipients: list[str], now: dt.datetime) -> list[IngestResult]:
        """Take ``raw`` into each recipient's mailbox with whatever else arrives meanwhile; return once committed.

        One result per mailbox among ``recipients`` (none: not for us). Raises what a batch of the
        message raised (the database is down, the disk is full): the caller answers a temporary
        failure, and the MTA delivers the message again later.
        """
        delivery = _Delivery(raw=raw, recipients=recipients, now=now)
        with self._lock:
            if self._closed or not self._thread.is_alive():
                raise IntakeClosed("the mail intake is closed")
            self._queue.put(delivery)
        return delivery.done.result(timeout=DELIVERY_TIMEOUT_S)

    def close(self) -> None:
        """Finish the deliveries already taken, then stop the intake thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> GroupIntake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            while True:
                batch, more = self._next_batch()
                try:
                    self._ingest(batch)
                except Exception as exc:  # a bug here must not leave deliveries waiting for ever
                    log.exception("the mail intake failed over a batch of %s", len(batch))
                    for delivery in batch:
                        if not delivery.done.done():
                            delivery.done.set_exception(exc)
                if not more:
                    return
        finally:
            connection.close()  # this thread's own connection

    def _next_batch(self) -> tuple[list[_Delivery], bool]:
        """The deliveries waiting now (at least one, waited for), and whether to go on after them."""
        batch: list[_Delivery] = []
        item = self._queue.get()
        while item is not None:
            batch.append(item)
            if len(batch) >= self._max_batch:
                return batch, True
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, True
        return batch, False  # closed: what was taken before is done, then the thread ends

    def _ingest(self, batch: list[_Delivery]) -> None:
        close_old_connections()  # a long-lived thread: drop a connection the server closed, as requests do
        groups: dict[int, tuple[Mailbox, list[_Delivery]]] = {}
        for delivery in batch:
            try:
                for mailbox in mailboxes_for(delivery.recipients):
                    groups.setdefault(mailbox.id, (mailbox, []))[1].append(delivery)
            except Exception as exc:
                delivery.error = exc
        for mailbox, group in groups.values():
            try:
                messages = [(d.raw, d.now) for d in group]
                results = ingest_many(mailbox=mailbox, messages=messages, source=self._source)
            except Exception as exc:  # every delivery of the batch is refused for now; the MTA retries
                log.exception("a batch of %s delivered messages failed; answered as a temporary failure", len(group))
                for delivery in group:
                    delivery.error = delivery.error or exc
            else:
                for delivery, result in zip(group, results, strict=True):
                    delivery.results.append(result)
        for delivery in batch:
            if delivery.error is not None:
                delivery.done.set_exception(delivery.error)
            else:
                delivery.done.set_result(delivery.results)
