"""What routing reads, answered for one message (``MessageLookup``) or for a batch (``BatchLookup``).

Routing (``routing.py``) is written once, against ``MessageLookup``'s methods. Alone, a message
asks the database. In a batch, ``BatchLookup`` answers from what the batch loaded in a few
statements when it began and from the rows its messages made since (the unit of work, ADR 0010
and 0012), and it is also the ticket code's ``lookups()`` while the batch runs (ADR 0014).
Both must give the same answers: ``test_mail_batch`` routes the same streams both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Q, Value
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from radicado.channels.email.parsing import ParsedEmail, UnparseableEmail
from radicado.channels.models import AutoReply, Mailbox, MessageIndex, OutboundMail
from radicado.customers.actions import create_customer
from radicado.customers.models import Contact, Customer
from radicado.sla.models import Clock, TargetKind
from radicado.tickets.lookups import Lookups, move_counter, take_numbers
from radicado.tickets.models import Ticket, WorkflowState
from radicado.unit_of_work import UnitOfWork

_INDEX_FIELDS = ("message_id", "created_at", "ticket_id", "id")


class MessageLookup(Lookups):
    """One message: every answer from the database."""

    def first(self, ws_id: int, message_id: str, sender: str) -> tuple[Contact | None, bool, bool]:
        """The sender's contact, whether the Message-ID was already seen, whether the sender is one of our mailboxes.

        One statement when the sender is a contact (the two checks ride on it), two otherwise. The checks
        are written as SQL: as ORM ``Exists`` they cost more Python than the statements they save.
        """
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
            query = Contact.objects.filter(workspace_id=ws_id, email=sender).select_related("customer", "workspace")
            contact = query.annotate(seen_message_id=seen, from_our_address=ours).first()
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

    def indexed_ticket(self, ws_id: int, ids: list[str], *, newest: bool) -> int | None:
        """The ticket of the newest (else the first indexed) of ``ids``; ties on the time go to the row indexed last."""
        if not ids:
            return None
        query = MessageIndex.objects.filter(workspace_id=ws_id, message_id__in=ids)
        order = ("-created_at", "-id") if newest else ("id",)
        found = query.order_by(*order).values_list("ticket_id", flat=True).first()
        return None if found is None else int(found)

    def ticket(self, mailbox: Mailbox, **lookup: int) -> Ticket | None:
        """A ticket of the mailbox's workspace, with its state; customer and requester load when used.

        Few joins on purpose: PostgreSQL spent ~3 ms planning the six-table join this used to be, more
        than the two key lookups it saved (pg_stat_statements, benchmarks/mail).
        """
        ticket = Ticket.objects.filter(workspace_id=mailbox.workspace_id, **lookup).select_related("state").first()
        if ticket is not None:
            ticket.workspace = mailbox.workspace
        return ticket

    def registered(self, ticket: Ticket) -> None:
        """Routing registered ``ticket`` (a batch keeps it for its next messages)."""

    def new_contact(self, contact: Contact) -> None:
        """Routing made a contact of an unknown sender (a batch keeps it for its next messages)."""

    def floating_customer(self, mailbox: Mailbox, now: dt.datetime) -> Customer:
        """The customer that contacts without a contract belong to, made the first time it is needed."""
        code = mailbox.floating_customer_code
        customer = Customer.objects.filter(workspace_id=mailbox.workspace_id, code=code).first()
        if customer is None:
            customer = create_customer(
                workspace=mailbox.workspace, code=code, name=_("Individuals (no contract)"), now=now
            )
        customer.workspace = mailbox.workspace
        return customer


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
    tickets: dict[int, Ticket]  # id -> ticket as the batch began or made it; handed out once (``ticket``)
    numbers: dict[int, int]  # ticket number -> id, for the same tickets


class BatchLookup(MessageLookup):
    """A batch of one mailbox's messages in one unit of work: most answers from memory."""

    NUMBER_BLOCK = 16

    def __init__(self, uow: UnitOfWork, mailbox: Mailbox) -> None:
        self.uow = uow
        self.mailbox = mailbox
        self.known: _Known | None = None
        self._numbers: list[int] | None = None  # [next number to hand out, last number reserved]
        self._floating: Customer | None = None
        self._auto_replies: tuple[dt.datetime, dict[str, list[dt.datetime]]] | None = None

    # --- the batch's beginning ------------------------------------------------------------

    def load(self, messages: Iterable[ParsedEmail | UnparseableEmail], *, tagged: set[int], since: dt.datetime) -> None:
        """Take the numbering lock first (one lock order for all batches), then read what the messages need."""
        self._number_block()
        ws_id = self.mailbox.workspace_id
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
        self.known = _Known(
            senders=senders,
            contacts=contacts,
            seen=ids & indexed.keys(),
            ours=ours,
            indexed=indexed,
            asked=ids | answered,
            tickets=tickets,
            numbers={t.number: t.id for t in tickets.values()},
        )
        sent: dict[str, list[dt.datetime]] = {a: [] for a in senders}
        query_sent = AutoReply.objects.filter(workspace_id=ws_id, address__in=list(sent), sent_at__gte=since)
        for address, at in query_sent.values_list("address", "sent_at"):
            sent[address].append(at)
        self._auto_replies = (since, sent)

    # --- routing ---------------------------------------------------------------------------

    def first(self, ws_id: int, message_id: str, sender: str) -> tuple[Contact | None, bool, bool]:
        known = self.known
        assert known is not None
        was_seen = bool(message_id) and (
            message_id in known.seen or any(m.message_id == message_id for m in self.uow.made(MessageIndex))
        )
        # Contacts as the batch began, and those its messages made (``new_contact``).
        return known.contacts.get(sender), was_seen, sender.lower() in known.ours

    def indexed_ticket(self, ws_id: int, ids: list[str], *, newest: bool) -> int | None:
        if not ids:
            return None
        known = self.known
        assert known is not None
        found: tuple[dt.datetime, int] | None
        if known.asked.issuperset(ids):
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
        mine = [(m.created_at, m.ticket_id) for m in self.uow.made(MessageIndex) if m.message_id in wanted]
        if not mine:
            return found[1] if found else None
        if not newest:
            return found[1] if found else mine[0][1]
        candidates = [*([found] if found else []), *mine]
        return int(max(reversed(candidates), key=lambda c: c[0])[1])  # ties: the latest made

    def ticket(self, mailbox: Mailbox, **lookup: int) -> Ticket | None:
        """The first time a ticket is asked for it comes from the batch's one lookup: no message of the
        batch can have changed it yet, as every change goes through here first; likewise a ticket the
        batch registered, as the message that registered it left it. Asked for again, it is read afresh
        (after the batch's waiting writes to it)."""
        known = self.known
        assert known is not None
        ticket_id = lookup["id"] if "id" in lookup else known.numbers.get(lookup["number"])
        ticket = known.tickets.pop(ticket_id, None) if ticket_id is not None else None
        if ticket is None:
            ticket = Ticket.objects.filter(workspace_id=mailbox.workspace_id, **lookup).first()
        if ticket is None:
            return None
        ticket.workspace = mailbox.workspace
        state_id = ticket.state_id  # each workflow state read once
        ticket.state = self.uow.read(("state", state_id), lambda: WorkflowState.objects.get(id=state_id))
        return ticket

    def registered(self, ticket: Ticket) -> None:
        assert self.known is not None
        self.known.tickets[ticket.id] = ticket
        self.known.numbers[ticket.number] = ticket.id

    def new_contact(self, contact: Contact) -> None:
        assert self.known is not None
        self.known.contacts[contact.email] = contact

    def floating_customer(self, mailbox: Mailbox, now: dt.datetime) -> Customer:
        if self._floating is None:
            self._floating = super().floating_customer(mailbox, now)
        return self._floating

    # --- what ticket code asks (``radicado.tickets.lookups``) -----------------------------

    def thread_ids(self, ticket: Ticket) -> list[tuple[str, bool]]:
        if self.uow.is_new(ticket):  # made in this batch: so are all its index rows
            return [(m.message_id, m.outbound) for m in self.uow.made(MessageIndex) if m.ticket_id == ticket.id]
        return super().thread_ids(ticket)

    def auto_replies_since(self, *, workspace_id: int, address: str, since: dt.datetime) -> int:
        loaded = self._auto_replies
        if loaded is None or workspace_id != self.mailbox.workspace_id or address not in loaded[1] or loaded[0] > since:
            return super().auto_replies_since(workspace_id=workspace_id, address=address, since=since)
        recent = sum(1 for at in loaded[1][address] if at >= since)
        return recent + sum(
            1
            for a in self.uow.made(AutoReply)  # the preload does not have them, written or not
            if a.workspace_id == workspace_id and a.address == address and a.sent_at >= since
        )

    def outbound_key_used(self, *, ticket: Ticket, key: str) -> bool:
        if self.uow.is_new(ticket):  # nothing outside this batch can be about the ticket yet
            return any(m.idempotency_key == key for m in self.uow.made(OutboundMail))
        return super().outbound_key_used(ticket=ticket, key=key)

    def first_response_due(self, ticket: Ticket) -> dt.datetime | None:
        # While the ticket's clocks still wait to be written, they are as they were made; once written,
        # later changes go through fresh copies, so the database has the answer.
        waiting = [c for c in self.uow.pending(Clock) if c.ticket_id == ticket.id]
        if waiting and self.uow.is_new(ticket):
            return next((c.due_at for c in waiting if c.kind == TargetKind.FIRST_RESPONSE), None)
        return super().first_response_due(ticket)

    def next_ticket_number(self, workspace_id: int) -> int:
        """Numbers in blocks: the batch holds the counter's lock anyway, and gives back what it did not use."""
        if workspace_id != self.mailbox.workspace_id:
            return super().next_ticket_number(workspace_id)
        block = self._number_block()
        block[0] += 1
        return block[0] - 1

    def _number_block(self) -> list[int]:
        block = self._numbers
        ws_id = self.mailbox.workspace_id
        if block is None:
            block = self._numbers = [1, 0]
            self.uow.before_commit(lambda: self._give_back(block))
        if block[0] > block[1]:
            size = max(self.NUMBER_BLOCK, self.uow.expected)  # a batch takes at most one number per message
            block[1] = take_numbers(ws_id, size)
            block[0] = block[1] - size + 1
        return block

    def _give_back(self, block: list[int]) -> None:
        unused = block[1] - block[0] + 1
        if unused > 0:
            move_counter(self.mailbox.workspace_id, -unused)
