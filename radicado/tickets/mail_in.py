"""Turn an inbound e-mail into a ticket, a threaded reply, or nothing — never lose it.

Order of business (ARCHITECTURE "Channels"): store the raw bytes first; parse; drop
duplicates (Message-ID) and our own mail; let automatic mail (RFC 3834) act on
nothing, except that a bounce is noted on its ticket; thread by our Message-IDs in
In-Reply-To/References, then by a ``[SOP-000123]`` subject tag the sender may use,
then by a signed plus-address; otherwise register a new ticket.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import itertools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal, overload

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Q, Value
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from radicado import unit_of_work
from radicado.channels.email.compose import compose, new_message_id
from radicado.channels.email.parsing import ParsedEmail, UnparseableEmail, parse_email
from radicado.channels.email.prepare import Prepared, Preparer
from radicado.channels.jobs import send_after_commit, send_outbound
from radicado.channels.models import IntakeOutcome, Mailbox, MessageIndex, RawMessage, RawStatus, UnknownSenderPolicy
from radicado.channels.outbox import queue_mail
from radicado.channels.rawstore import (
    OUTCOME_FIELDS,
    file_mode,
    local_root,
    read_raw,
    save_outcomes,
    set_outcome,
    store_many,
    store_raw,
)
from radicado.customers.access import actor_for_contact
from radicado.customers.actions import create_contact, create_customer
from radicado.customers.models import Contact, Customer
from radicado.tickets import actions, notify
from radicado.tickets.attachments import AttachmentRejected, Upload, validate_uploads
from radicado.tickets.mail_out import preload_auto_replies, take_auto_reply
from radicado.tickets.models import Channel, Ticket, TicketType, WorkflowState
from radicado.workspaces.access import Actor

log = logging.getLogger(__name__)
EMPTY_BODY = "(mensaje sin texto)"


@dataclass(frozen=True)
class IngestResult:
    outcome: IntakeOutcome
    ticket: str | None = None
    detail: str = ""
    raw_id: int | None = None
    ticket_id: int | None = None


def plus_token(*, number: int) -> str:
    """The signed token of a ticket for plus-addressing: ``t123-<8 hex>``."""
    mac = hmac.new(settings.MAIL_TOKEN_KEY.encode(), f"ticket:{number}".encode(), hashlib.sha256).hexdigest()
    return f"t{number}-{mac[:8]}"


def plus_address(mailbox: Mailbox, number: int) -> str:
    local, _, domain = mailbox.address.partition("@")
    return f"{local}+{plus_token(number=number)}@{domain}"


def ingest_email(*, mailbox: Mailbox, raw: bytes, source: str, now: dt.datetime) -> IngestResult:
    """Store, then process one inbound message; the same bytes twice are processed once."""
    row, new = store_raw(workspace_id=mailbox.workspace_id, raw=raw, source=source, now=now)
    if not new and row.status != RawStatus.RECEIVED:
        return IngestResult(
            outcome=IntakeOutcome.IGNORED,
            detail="duplicate",
            raw_id=row.id,
            ticket=_reference(row.ticket_id),
            ticket_id=row.ticket_id,
        )
    return process_raw(mailbox=mailbox, row=row, now=now)


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
    parsed = {i: _parse(stored[i][0], messages[i][0]) if prepared is None else prepared[i].parsed for i in todo}
    try:
        with transaction.atomic(), unit_of_work.unit_of_work() as uow:
            uow.expected = len(todo)  # at most one new ticket and one reply per message: ids, numbers taken at once
            actions.lock_numbering(workspace_id=mailbox.workspace_id)  # first: one lock order for all batches
            known = uow.memo[("inbound", mailbox.workspace_id)] = _Known.load(mailbox, parsed.values())
            preload_auto_replies(
                workspace_id=mailbox.workspace_id,
                addresses=known.senders,
                since=min(now for _, now in messages) - dt.timedelta(hours=1),
            )
            for i in todo:
                results[i] = _process(
                    mailbox=mailbox, row=stored[i][0], now=messages[i][1], parsed=parsed[i], save=False
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
            ticket = done.ticket if done is not None else _reference(row.ticket_id)
            results[i] = IngestResult(
                outcome=IntakeOutcome.IGNORED, detail="duplicate", raw_id=row.id, ticket=ticket, ticket_id=ticket_id
            )
    return [r for r in results if r is not None]


class BatchAborted(Exception):
    """A message of a batch failed: the batch is rolled back and done again one message at a time."""


@dataclass
class _Known:
    """What a batch looks up once for all its messages: contacts, Message-IDs seen, our own addresses,
    the index rows of the Message-IDs its messages answer or bounce, and the tickets those rows and
    the subject tags name (threading)."""

    senders: set[str]
    contacts: dict[str, Contact]
    seen: set[str]
    ours: set[str]
    indexed: dict[str, tuple[dt.datetime, int, int]]  # message id -> (created_at, ticket id, row id)
    asked: set[str]  # the Message-IDs looked up in the index (found or not)
    tickets: dict[int, Ticket]  # id -> ticket as the batch began or made it; handed out once (``_ticket_of``)
    numbers: dict[int, int]  # ticket number -> id, for the same tickets

    @classmethod
    def load(cls, mailbox: Mailbox, messages: Iterable[ParsedEmail | UnparseableEmail]) -> _Known:
        ws_id = mailbox.workspace_id
        parsed = [p for p in messages if isinstance(p, ParsedEmail)]
        senders = {p.from_address for p in parsed if p.from_address}
        ids = {p.message_id for p in parsed if p.message_id}
        answered = {i for p in parsed for i in (*p.in_reply_to, *p.references, *p.bounced_message_ids)}
        contacts: dict[str, Contact] = {}
        query = Contact.objects.filter(workspace_id=ws_id, email__in=senders).select_related("customer", "workspace")
        for contact in query.order_by("id"):  # as .first() would pick
            contacts.setdefault(contact.email, contact)
        rows = MessageIndex.objects.filter(workspace_id=ws_id, message_id__in=ids | answered)
        indexed = {mid: (at, ticket_id, pk) for mid, at, ticket_id, pk in rows.values_list(*_INDEX_FIELDS)}
        # Mailbox addresses are stored lower-case (create_mailbox), as the parser gives senders.
        ours = set(Mailbox.objects.filter(address__in={s.lower() for s in senders}).values_list("address", flat=True))
        seen = ids & indexed.keys()
        tagged = {n for p in parsed for n in _tagged_numbers(p.subject, mailbox.workspace.ticket_prefix)}
        threaded = {ticket_id for _, ticket_id, _ in indexed.values()}
        tickets: dict[int, Ticket] = {}
        if tagged or threaded:
            # Locked until the batch commits (PostgreSQL; SQLite's batch holds the write lock anyway): an
            # agent's change to one of them waits for the batch, instead of being overwritten by a message
            # routed on the copy read here. The numbering lock is taken first, so batches of a workspace
            # never hold these locks at once.
            ticket_rows = Ticket.objects.select_for_update().filter(
                Q(id__in=threaded) | Q(number__in=tagged), workspace_id=ws_id
            )
            tickets = {t.id: t for t in ticket_rows}
        return cls(
            senders=senders,
            contacts=contacts,
            seen=seen,
            ours=ours,
            indexed=indexed,
            asked=ids | answered,
            tickets=tickets,
            numbers={t.number: t.id for t in tickets.values()},
        )


_INDEX_FIELDS = ("message_id", "created_at", "ticket_id", "id")


def _known(ws_id: int) -> _Known | None:
    """What the current batch looked up for the workspace (None outside a batch)."""
    uow = unit_of_work.current()
    known = uow.memo.get(("inbound", ws_id)) if uow is not None else None
    return known if isinstance(known, _Known) else None


def process_raw(*, mailbox: Mailbox, row: RawMessage, now: dt.datetime) -> IngestResult:
    """Route a stored message; anything unexpected quarantines it (reprocessable), never raises."""
    return _process(mailbox=mailbox, row=row, now=now, parsed=_parse(row, None), save=True)


def _parse(row: RawMessage, raw: bytes | None) -> ParsedEmail | UnparseableEmail:
    try:
        return parse_email(read_raw(row) if raw is None else raw)
    except UnparseableEmail as exc:
        return exc


def _process(
    *, mailbox: Mailbox, row: RawMessage, now: dt.datetime, parsed: ParsedEmail | UnparseableEmail, save: bool
) -> IngestResult:
    """Route and record the outcome on ``row`` (written now with ``save``, else by the batch)."""

    def outcome(**fields: Any) -> None:
        set_outcome(row, **fields)
        if save:
            row.save(update_fields=OUTCOME_FIELDS)

    if isinstance(parsed, UnparseableEmail):
        outcome(status=RawStatus.QUARANTINED, outcome="quarantined", detail=str(parsed))
        return IngestResult(outcome=IntakeOutcome.QUARANTINED, detail=str(parsed), raw_id=row.id)
    uow = unit_of_work.current()
    try:
        # Alone, a message has its own savepoint. In a batch it has none (two round trips fewer): if it
        # fails, the whole batch is rolled back and done again one message at a time (``ingest_many``).
        with transaction.atomic() if uow is None else contextlib.nullcontext():
            result = _route(mailbox=mailbox, parsed=parsed, now=now)
            status = {
                "created": RawStatus.PROCESSED,
                "threaded": RawStatus.PROCESSED,
                "ignored": RawStatus.IGNORED,
                "held": RawStatus.HELD,
                "rejected": RawStatus.REJECTED,
            }[result.outcome]
            ticket_id = result.ticket_id or _ticket_id(mailbox.workspace_id, result.ticket)
            outcome(
                status=status,
                outcome=result.outcome,
                detail=result.detail,
                ticket_id=ticket_id,
                message_id=parsed.message_id or "",
                from_address=parsed.from_address or "",
                subject=parsed.subject,
            )
    except Exception as exc:  # a bug or bad data must not lose the message: keep it for an admin
        if uow is not None:
            raise BatchAborted(row.id) from exc
        log.exception("inbound mail %s quarantined", row.id)
        outcome(
            status=RawStatus.QUARANTINED,
            outcome="quarantined",
            detail=f"{type(exc).__name__}: {exc}",
            message_id=parsed.message_id or "",
            from_address=parsed.from_address or "",
            subject=parsed.subject,
        )
        return IngestResult(outcome=IntakeOutcome.QUARANTINED, detail=str(exc), raw_id=row.id)
    return IngestResult(
        outcome=result.outcome, ticket=result.ticket, detail=result.detail, raw_id=row.id, ticket_id=ticket_id
    )


def _reference(ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    ticket = Ticket.objects.select_related("workspace").filter(id=ticket_id).first()
    return ticket.reference if ticket else None


def _ticket_id(workspace_id: int, reference: str | None) -> int | None:
    if not reference:
        return None
    number = int(reference.rsplit("-", 1)[-1])
    return Ticket.objects.filter(workspace_id=workspace_id, number=number).values_list("id", flat=True).first()


def _route(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime) -> IngestResult:
    ws_id = mailbox.workspace_id
    sender = parsed.from_address or ""
    contact, seen, ours = _first_lookups(ws_id, parsed.message_id or "", sender)
    if seen:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail="duplicate message-id")
    if ours:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail="from our own address")
    if parsed.is_bounce:
        return _bounce(mailbox=mailbox, parsed=parsed, now=now)
    if parsed.automatic:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail=f"automatic: {parsed.automatic}")
    if not sender:
        return IngestResult(outcome=IntakeOutcome.HELD, detail="no sender address")
    ticket, how = _thread(mailbox=mailbox, parsed=parsed, contact=contact)
    if ticket is not None and (contact is None or contact.customer_id != ticket.customer_id):
        return _stranger_on_ticket(ticket=ticket, parsed=parsed, now=now, how=how)
    if contact is None:
        contact_or_result = _unknown_sender(mailbox=mailbox, parsed=parsed, now=now)
        if isinstance(contact_or_result, IngestResult):
            return contact_or_result
        contact = contact_or_result
    actor = actor_for_contact(contact=contact)
    uploads, skipped = _uploads(parsed)
    body, full_text = _fit(parsed.reply_text or parsed.text or EMPTY_BODY)
    if full_text is not None:
        uploads.append(full_text)
    if ticket is not None and not ticket.is_closed:
        reply = actions.add_reply(actor=actor, ticket=ticket, body=body, now=now, uploads=uploads)
        _index(ws_id, parsed, ticket, now)
        _note_skipped(ticket, skipped, now)
        return IngestResult(
            outcome=IntakeOutcome.THREADED,
            ticket=ticket.reference,
            detail=f"{how}; reply {reply.id}",
            ticket_id=ticket.id,
        )
    follows = ticket.reference if ticket is not None else None
    new = _register(
        mailbox=mailbox,
        actor=actor,
        contact=contact,
        parsed=parsed,
        body=body,
        uploads=uploads,
        now=now,
        follows=follows,
    )
    _index(ws_id, parsed, new, now)
    _note_skipped(new, skipped, now)
    known = _known(ws_id)
    if known is not None:  # the next message about it may take it as it is (``_ticket_of``)
        known.tickets[new.id] = new
        known.numbers[new.number] = new.id
    notify.announce_registration(ticket=new, actor=None, now=now)  # after _index: it threads
    return IngestResult(
        outcome=IntakeOutcome.CREATED,
        ticket=new.reference,
        detail=f"follows {follows}" if follows else "",
        ticket_id=new.id,
    )


def _first_lookups(ws_id: int, message_id: str, sender: str) -> tuple[Contact | None, bool, bool]:
    """The sender's contact, whether the Message-ID was already seen, whether the sender is one of our mailboxes.

    One statement when the sender is a contact (the two checks ride on it), two otherwise. The checks
    are written as SQL: as ORM ``Exists`` they cost more Python than the statements they save. In a
    batch, the answers come from what the batch loaded (``_Known``) and the index rows it made.
    """
    known = _known(ws_id)
    if known is not None:
        was_seen = bool(message_id) and (
            message_id in known.seen or any(m.message_id == message_id for m in unit_of_work.made(MessageIndex))
        )
        # Contacts as the batch began, and those its messages made (``_unknown_sender``).
        return known.contacts.get(sender), was_seen, sender.lower() in known.ours
    qn = connection.ops.quote_name
    seen_sql = (
        f"EXISTS (SELECT 1 FROM {qn(MessageIndex._meta.db_table)} "  # noqa: S608 (names from the models)
        f"WHERE {qn('workspace_id')} = %s AND {qn('message_id')} = %s)"
    )
    # As the ORM's address__iexact on both databases (UPPER on PostgreSQL, ASCII case folding on SQLite).
    ours_sql = f"EXISTS (SELECT 1 FROM {qn(Mailbox._meta.db_table)} WHERE UPPER({qn('address')}) = UPPER(%s))"  # noqa: S608
    # Values are bound parameters; the SQL text holds only quoted table and column names.
    seen = RawSQL(seen_sql, (ws_id, message_id), BooleanField()) if message_id else Value(False)  # noqa: S611
    ours = RawSQL(ours_sql, (sender,), BooleanField()) if sender else Value(False)  # noqa: S611
    if sender:
        contact = _contact_by_email(ws_id, sender, seen_message_id=seen, from_our_address=ours)
        if contact is not None:
            return contact, bool(getattr(contact, "seen_message_id")), bool(getattr(contact, "from_our_address"))  # noqa: B009
    elif not message_id:
        return None, False, False
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {seen_sql if message_id else '0'}, {ours_sql if sender else '0'}",
            [*((ws_id, message_id) if message_id else ()), *((sender,) if sender else ())],
        )
        row = cursor.fetchone()
    return None, bool(row and row[0]), bool(row and row[1])


def _contact_by_email(ws_id: int, email: str, **annotations: Any) -> Contact | None:
    query = Contact.objects.filter(workspace_id=ws_id, email=email).select_related("customer", "workspace")
    return query.annotate(**annotations).first()


SUBJECT_TAG = re.compile(r"\[(?:#|([A-Z][A-Z0-9]{0,9})-)0*(\d{1,12})\]")


def _thread(*, mailbox: Mailbox, parsed: ParsedEmail, contact: Contact | None) -> tuple[Ticket | None, str]:
    ws_id = mailbox.workspace_id
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    if ids:
        ticket_id = _indexed_ticket(ws_id, ids, newest=True)
        if ticket_id is not None:
            return _ticket_of(mailbox, id=ticket_id), "message-id"
    for number in _tagged_numbers(parsed.subject, mailbox.workspace.ticket_prefix):
        ticket = _ticket_of(mailbox, number=number)
        # A subject tag is only a hint anyone can type: honour it for the ticket's own customer only.
        if ticket is not None and contact is not None and contact.customer_id == ticket.customer_id:
            return ticket, "subject tag"
    for address in [*parsed.to, *parsed.cc]:
        user, _, domain = address.partition("@")
        base, plus, token = user.partition("+")
        if plus and f"{base}@{domain}" == mailbox.address.lower():
            digits = token.split("-", 1)[0].lstrip("t")
            if digits.isdigit() and hmac.compare_digest(token, plus_token(number=int(digits))):
                ticket = _ticket_of(mailbox, number=int(digits))
                if ticket is not None:
                    return ticket, "plus address"
    return None, ""


def _tagged_numbers(subject: str, prefix: str) -> list[int]:
    """The ticket numbers of the subject's tags (``[#12]``, ``[MS-000012]``) that may be ours, in order."""
    return [int(m.group(2)) for m in SUBJECT_TAG.finditer(subject) if m.group(1) in (None, prefix)]


def _indexed_ticket(ws_id: int, ids: list[str], *, newest: bool) -> int | None:
    """The ticket of the newest (else the first indexed) of ``ids``, including what this batch indexed.

    Ties on the time go to the row indexed last. In a batch, the rows indexed before it come from the
    batch's one lookup (``_Known``).
    """
    if not ids:
        return None
    known = _known(ws_id)
    found: tuple[dt.datetime, int] | None
    if known is not None and known.asked.issuperset(ids):
        hits = [known.indexed[i] for i in set(ids) if i in known.indexed]
        if newest:
            pick = max(hits, key=lambda h: (h[0], h[2]), default=None)
        else:
            pick = min(hits, key=lambda h: h[2], default=None)
        found = (pick[0], pick[1]) if pick else None
    else:
        query = MessageIndex.objects.filter(workspace_id=ws_id, message_id__in=ids)
        order = ("-created_at", "-id") if newest else ("id",)
        found = query.order_by(*order).values_list("created_at", "ticket_id").first()
    wanted = set(ids)
    mine = [(m.created_at, m.ticket_id) for m in unit_of_work.made(MessageIndex) if m.message_id in wanted]
    if not mine:
        return found[1] if found else None
    if not newest:
        return found[1] if found else mine[0][1]
    candidates = [*([found] if found else []), *mine]
    return max(reversed(candidates), key=lambda c: c[0])[1]  # ties: the latest made


def _ticket_of(mailbox: Mailbox, **lookup: int) -> Ticket | None:
    """A ticket of the mailbox's workspace, with its state; customer and requester load when used.

    Few joins on purpose: PostgreSQL spent ~3 ms planning the six-table join this used to be, more
    than the two key lookups it saved (pg_stat_statements, benchmarks/mail). In a batch, the first
    time a ticket is asked for it comes from the batch's one lookup (``_Known``): no message of the
    batch can have changed it yet, as every change goes through here first; likewise a ticket the
    batch registered, as the message that registered it left it. Asked for again, it is read afresh
    (after the batch's waiting writes to it, ``unit_of_work``).
    """
    uow = unit_of_work.current()
    known = _known(mailbox.workspace_id)
    ticket: Ticket | None = None
    if known is not None:
        ticket_id = lookup["id"] if "id" in lookup else known.numbers.get(lookup["number"])
        ticket = known.tickets.pop(ticket_id, None) if ticket_id is not None else None
    if ticket is None:
        query = Ticket.objects.filter(workspace_id=mailbox.workspace_id, **lookup)
        ticket = (query if uow is not None else query.select_related("state")).first()
    if ticket is None:
        return None
    ticket.workspace = mailbox.workspace
    if uow is not None:  # a batch reads each workflow state once
        state_id = ticket.state_id
        ticket.state = uow.read(("state", state_id), lambda: WorkflowState.objects.get(id=state_id))
    return ticket


def _index(ws_id: int, parsed: ParsedEmail, ticket: Ticket, now: dt.datetime) -> None:
    if not parsed.message_id:
        return
    # _route found no row for this id a moment ago: one INSERT … ON CONFLICT DO NOTHING (no SELECT, no
    # savepoint); a row another process inserted since is kept, as get_or_create would.
    unit_of_work.insert(
        MessageIndex(workspace_id=ws_id, message_id=parsed.message_id, ticket=ticket, outbound=False, created_at=now),
        ignore_conflicts=True,
    )


def _fit(text: str) -> tuple[str, Upload | None]:
    """A body within the ticket's limit; an over-long one is cut and kept whole as a text file."""
    limit = actions.BODY_MAX - 200
    if len(text) <= limit:
        return text, None
    cut = text[:limit] + "\n\n" + _("[Message cut: the full text is attached as mensaje-completo.txt]")
    return cut, Upload(filename="mensaje-completo.txt", data=text.encode("utf-8"))


def _uploads(parsed: ParsedEmail) -> tuple[list[Upload], list[str]]:
    """Attachments within the limits, and the names of those left out (with why)."""
    kept: list[Upload] = []
    skipped: list[str] = []
    for a in parsed.attachments:
        upload = Upload(filename=a.filename, data=a.data)
        try:
            validate_uploads([*kept, upload])
        except AttachmentRejected as exc:
            skipped.append(str(exc))
            continue
        kept.append(upload)
    return kept, skipped


def _note_skipped(ticket: Ticket, skipped: list[str], now: dt.datetime) -> None:
    if not skipped:
        return
    system = Actor(workspace=ticket.workspace, role="agent", name="Radicado")
    body = _("Some attachments of the e-mail were not kept:") + "\n" + "\n".join(f"- {s}" for s in skipped)
    actions.add_note(actor=system, ticket=ticket, body=body, now=now)


def _bounce(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime) -> IngestResult:
    ticket_id = _indexed_ticket(mailbox.workspace_id, parsed.bounced_message_ids, newest=False)
    ticket = _ticket_of(mailbox, id=ticket_id) if ticket_id is not None else None
    if ticket is None:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail="bounce for no known message")
    system = Actor(workspace=ticket.workspace, role="agent", name="Radicado")
    body = _("An e-mail about this ticket could not be delivered:") + "\n\n" + (parsed.text[:2000] or EMPTY_BODY)
    actions.add_note(actor=system, ticket=ticket, body=body, now=now)
    return IngestResult(
        outcome=IntakeOutcome.IGNORED, ticket=ticket.reference, detail="bounce noted", ticket_id=ticket.id
    )


def _stranger_on_ticket(*, ticket: Ticket, parsed: ParsedEmail, now: dt.datetime, how: str) -> IngestResult:
    """Someone outside the ticket's customer wrote into its thread: agents see it, the customer does not."""
    system = Actor(workspace=ticket.workspace, role="agent", name="Radicado")
    body = (
        _("Message from %(sender)s, who is not a contact of this customer:") % {"sender": parsed.from_address}
        + "\n\n"
        + (parsed.reply_text or EMPTY_BODY)
    )
    actions.add_note(actor=system, ticket=ticket, body=body, now=now)
    _index(ticket.workspace_id, parsed, ticket, now)
    return IngestResult(
        outcome=IntakeOutcome.THREADED,
        ticket=ticket.reference,
        detail=f"{how}; unknown sender as note",
        ticket_id=ticket.id,
    )


def _unknown_sender(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime) -> Contact | IngestResult:
    policy = mailbox.unknown_senders
    if policy == UnknownSenderPolicy.HOLD:
        return IngestResult(outcome=IntakeOutcome.HELD, detail="unknown sender held for review")
    if policy == UnknownSenderPolicy.REJECT:
        _reject_notice(mailbox=mailbox, parsed=parsed, now=now)
        return IngestResult(outcome=IntakeOutcome.REJECTED, detail="unknown sender rejected")
    customer = unit_of_work.memoised(  # read (or made) once per batch
        ("floating", mailbox.workspace_id, mailbox.floating_customer_code),
        lambda: _floating_customer(mailbox, now),
    )
    contact = create_contact(
        customer=customer, name=parsed.from_name or parsed.from_address or "", now=now, email=parsed.from_address or ""
    )
    known = _known(mailbox.workspace_id)
    if known is not None:  # the sender's next message in the batch finds it there (``_first_lookups``)
        known.contacts[contact.email] = contact
    return contact


def _floating_customer(mailbox: Mailbox, now: dt.datetime) -> Customer:
    """The customer that contacts without a contract belong to, made the first time it is needed."""
    code = mailbox.floating_customer_code
    customer = Customer.objects.filter(workspace_id=mailbox.workspace_id, code=code).first()
    if customer is None:
        customer = create_customer(workspace=mailbox.workspace, code=code, name=_("Individuals (no contract)"), now=now)
    customer.workspace = mailbox.workspace
    return customer


def _reject_notice(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime) -> None:
    sender = parsed.from_address or ""
    if not take_auto_reply(mailbox=mailbox, address=sender, now=now):
        return
    message_id = new_message_id(reference="aviso", domain=mailbox.address.rpartition("@")[2])
    raw = compose(
        from_name=mailbox.display_name,
        from_address=mailbox.address,
        to=[sender],
        subject=_("Your message was not registered"),
        message_id=message_id,
        now=now,
        body=_(
            "This address only registers requests from contacts of our customers. "
            "Please write from your registered address or contact your account manager."
        ),
        in_reply_to=parsed.message_id,
        references=[*parsed.references, *([parsed.message_id] if parsed.message_id else [])],
        automatic="auto-replied",
    )
    mail = queue_mail(
        workspace_id=mailbox.workspace_id,
        ticket_id=None,
        message_id=message_id,
        mail_from=mailbox.address,
        rcpt_to=[sender],
        raw=raw,
        automatic=True,
        now=now,
    )
    send_after_commit(send_outbound, mail)


def _register(
    *,
    mailbox: Mailbox,
    actor: Actor,
    contact: Contact,
    parsed: ParsedEmail,
    body: str,
    uploads: list[Upload],
    now: dt.datetime,
    follows: str | None,
) -> Ticket:
    ticket_type = unit_of_work.memoised(
        ("email_type", mailbox.workspace_id),
        lambda: TicketType.objects.filter(workspace_id=mailbox.workspace_id, in_portal=True).order_by("order").first(),
    )
    if ticket_type is None:
        raise actions.TicketError("the workspace has no request type for e-mail")
    description = body
    if follows:
        description = _("(Follows the closed request %(ref)s.)") % {"ref": follows} + "\n\n" + description
    return actions.create_ticket(
        actor=actor,
        requester=contact,
        ticket_type=ticket_type,
        subject=(parsed.subject or _("(no subject)"))[:250],
        description=description,
        channel=Channel.EMAIL,
        uploads=uploads,
        now=now,
        announce=False,
    )


REVIEW_STATUSES = (RawStatus.QUARANTINED, RawStatus.HELD, RawStatus.REJECTED)


def raw_messages_for_review(*, workspace_id: int, limit: int = 200) -> list[RawMessage]:
    """Inbound mail of the workspace that did not become work, newest first."""
    return list(
        RawMessage.objects.filter(workspace_id=workspace_id, status__in=REVIEW_STATUSES).order_by("-received_at")[
            :limit
        ]
    )


def reprocess_raw(*, workspace_id: int, raw_id: int, now: dt.datetime) -> IngestResult:
    """Process a kept message again (after a fix, or to accept a held sender); scoped to the workspace."""
    row = RawMessage.objects.filter(workspace_id=workspace_id, id=raw_id, status__in=REVIEW_STATUSES).first()
    mailbox = Mailbox.objects.filter(workspace_id=workspace_id).select_related("workspace").order_by("id").first()
    if row is None or mailbox is None:
        return IngestResult(outcome=IntakeOutcome.NOT_FOUND)
    return process_raw(mailbox=mailbox, row=row, now=now)
