"""Batches of inbound mail: many messages in one transaction, as if one by one (ADR 0010–0013).

This module and ``lookup.py`` are the only intake code that knows about the unit of work. A batch
is one action: the raw bytes are stored first and committed, then every message is routed in one
transaction with a ``BatchLookup`` answering routing's and ticket code's reads from memory. If
anything fails, the batch is rolled back and its messages are routed one at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Literal, overload

from django.db import transaction

from radicado import unit_of_work
from radicado.action import acting
from radicado.channels.email.parsing import ParsedEmail
from radicado.channels.email.prepare import Prepared, Preparer
from radicado.channels.models import IntakeOutcome, Mailbox, RawMessage, RawStatus
from radicado.channels.rawstore import file_mode, local_root, save_outcomes, store_many
from radicado.tickets import lookups
from radicado.tickets.intake.lookup import BatchLookup
from radicado.tickets.intake.routing import IngestResult, parse, process, process_raw, reference, tagged_numbers

log = logging.getLogger(__name__)


@contextlib.contextmanager
def batch_of(mailbox: Mailbox, *, expected: int) -> Iterator[BatchLookup]:
    """One action and one unit of work for a batch of ``mailbox``'s messages; its lookup answers reads.

    ``expected``: how many messages the batch routes (ids and ticket numbers are taken that many at once).
    """
    # Its own transaction (a savepoint if called inside one), so that a failed batch can be rolled back
    # and its messages routed one by one, even when a caller holds a transaction.
    with transaction.atomic(), acting(), unit_of_work.unit_of_work() as uow:
        uow.expected = expected
        lookup = BatchLookup(uow, mailbox)
        token = lookups.install(lookup)
        try:
            yield lookup
        finally:
            lookups.uninstall(token)


@overload
def ingest_stream(
    *,
    mailbox: Mailbox,
    batches: Iterable[Sequence[tuple[bytes, dt.datetime]]],
    source: str,
    keep_going: Literal[False] = False,
) -> Iterator[list[IngestResult]]: ...


@overload
def ingest_stream(
    *, mailbox: Mailbox, batches: Iterable[Sequence[tuple[bytes, dt.datetime]]], source: str, keep_going: Literal[True]
) -> Iterator[list[IngestResult] | Exception]: ...


def ingest_stream(
    *, mailbox: Mailbox, batches: Iterable[Sequence[tuple[bytes, dt.datetime]]], source: str, keep_going: bool = False
) -> Iterator[list[IngestResult] | Exception]:
    """``ingest_many`` for each batch in turn, yielding its results as soon as it is done.

    With more than one batch, a helper process writes and parses the next batch while this one is
    routed (ADR 0011): the first batch is prepared here, the others there. The next batch is taken
    from ``batches`` before the current one is routed. If the helper fails, batches are prepared
    here again; outcomes are the same either way. A batch that raises (the database is down, the
    disk is full) ends the stream, or with ``keep_going`` is logged and yielded as its exception,
    and the stream goes on: its stored messages stay received, to be processed when they come again.
    """

    def one(
        batch: Sequence[tuple[bytes, dt.datetime]], prepared: list[Prepared] | None
    ) -> list[IngestResult] | Exception:
        try:
            return ingest_many(mailbox=mailbox, messages=batch, source=source, prepared=prepared)
        except Exception as exc:
            if not keep_going:
                raise
            log.exception("a batch of %s inbound messages failed; the stream goes on", len(batch))
            return exc

    it = iter(batches)
    current = next(it, None)
    root = local_root()
    following = next(it, None) if current is not None else None
    if following is None or root is None:  # one batch, or no local disk for the helper to write on
        for batch in itertools.chain([b for b in (current, following) if b is not None], it):
            yield one(batch, None)
        return
    with Preparer(root=root, workspace_id=mailbox.workspace_id, mode=file_mode()) as helper:
        ready: Future[list[Prepared]] | None = None
        while current is not None:
            coming = helper.submit([raw for raw, _ in following]) if following is not None else None
            yield one(current, helper.result(ready))
            current, ready = following, coming
            following = next(it, None) if current is not None else None


def ingest_many(
    *,
    mailbox: Mailbox,
    messages: Sequence[tuple[bytes, dt.datetime]],
    source: str,
    prepared: Sequence[Prepared] | None = None,
) -> list[IngestResult]:
    """``ingest_email`` for a batch (an IMAP poll, a folder of files): the same outcomes, far fewer statements.

    The raw bytes are stored first, all together, and committed. Then every message is processed in
    one transaction and one unit of work (ADR 0010). If the batch cannot finish (a message failed,
    or another process took a row first), the transaction rolls back and the messages are processed
    one by one, as ``ingest_email`` would: the one that fails is quarantined alone. ``prepared``:
    the batch's files already written and its messages parsed (``ingest_stream``'s helper).
    """
    if not messages:
        return []
    if prepared is not None and len(prepared) != len(messages):
        raise ValueError("one prepared entry per message")
    stored = store_many(
        workspace_id=mailbox.workspace_id,
        messages=messages,
        source=source,
        written=None if prepared is None else [p.digest for p in prepared],
    )
    results: list[IngestResult | None] = [None] * len(messages)
    first: dict[int, int] = {}  # raw row id -> the message of the batch that processes it
    for i, (row, new) in enumerate(stored):
        if (new or row.status == RawStatus.RECEIVED) and row.id not in first:
            first[row.id] = i
    todo = sorted(first.values())
    parsed = {i: parse(stored[i][0], messages[i][0]) if prepared is None else prepared[i].parsed for i in todo}
    try:
        with batch_of(mailbox, expected=len(todo)) as lookup:
            tagged = {
                n
                for p in parsed.values()
                if isinstance(p, ParsedEmail)
                for n in tagged_numbers(p.subject, mailbox.workspace.ticket_prefix)
            }
            lookup.load(parsed.values(), tagged=tagged, since=min(now for _, now in messages) - dt.timedelta(hours=1))
            for i in todo:
                results[i] = process(
                    mailbox=mailbox, row=stored[i][0], now=messages[i][1], parsed=parsed[i], lookup=lookup
                )
            save_outcomes([stored[i][0] for i in todo])
    except Exception:
        log.warning("batch of %s inbound messages processed one by one", len(todo), exc_info=True)
        rows = RawMessage.objects.in_bulk([stored[i][0].id for i in todo])
        for i in todo:
            row = rows[stored[i][0].id]
            stored[i] = (row, stored[i][1])
            if row.status == RawStatus.RECEIVED:
                results[i] = process_raw(mailbox=mailbox, row=row, now=messages[i][1])
    for i, (row, _new) in enumerate(stored):
        if results[i] is None:  # the same bytes were already processed, before or earlier in this batch
            done = results[first[row.id]] if row.id in first else None
            ticket_id = done.ticket_id if done is not None else row.ticket_id
            ticket = done.ticket if done is not None else reference(row.ticket_id)
            results[i] = IngestResult(
                outcome=IntakeOutcome.IGNORED, detail="duplicate", raw_id=row.id, ticket=ticket, ticket_id=ticket_id
            )
    return [r for r in results if r is not None]
