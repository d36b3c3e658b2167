"""Reads (and one counter) that ticket code asks for, and that a batch of the intake wall answers faster.

Domain code calls ``lookups()`` and gets the same answers wherever it runs: outside a batch, this
module's ``Lookups`` asks the database; inside one, the intake wall (``radicado.tickets.intake``)
puts in place an implementation that answers from what the batch loaded once and made since
(ADR 0014). Nothing here knows about batches: a new read goes here with its plain database
answer first, and only if a batch would ask it once per message does the wall get a faster one.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar

from django.db import connection

from radicado.channels.models import AutoReply, MessageIndex, OutboundMail
from radicado.sla.models import Clock, TargetKind
from radicado.tickets.models import Ticket, TicketSequence


class Lookups:
    """The plain answers, from the database."""

    def thread_ids(self, ticket: Ticket) -> list[tuple[str, bool]]:
        """The ticket's Message-IDs, oldest first: (message id, outbound)."""
        return list(
            MessageIndex.objects.filter(ticket=ticket)
            .order_by("created_at", "id")
            .values_list("message_id", "outbound")
        )

    def auto_replies_since(self, *, workspace_id: int, address: str, since: dt.datetime) -> int:
        """How many automatic answers went to ``address`` since ``since``."""
        return AutoReply.objects.filter(workspace_id=workspace_id, address=address, sent_at__gte=since).count()

    def outbound_key_used(self, *, ticket: Ticket, key: str) -> bool:
        """Whether a message with this idempotency key was already queued."""
        return OutboundMail.objects.filter(idempotency_key=key).exists()

    def first_response_due(self, ticket: Ticket) -> dt.datetime | None:
        """When the ticket's first response is due (its ANS clock), if it has one."""
        return (
            Clock.objects.filter(ticket_id=ticket.id, kind=TargetKind.FIRST_RESPONSE)
            .order_by("id")
            .values_list("due_at", flat=True)
            .first()
        )

    def next_ticket_number(self, workspace_id: int) -> int:
        """The workspace's next ticket number, without gaps (ADR 0003): one at a time."""
        return take_numbers(workspace_id, 1)


_default = Lookups()
_current: ContextVar[Lookups] = ContextVar("radicado_ticket_lookups", default=_default)


def lookups() -> Lookups:
    return _current.get()


def install(implementation: Lookups) -> object:
    """For the intake wall: answer with ``implementation`` until ``uninstall(token)``."""
    return _current.set(implementation)


def uninstall(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def take_numbers(workspace_id: int, count: int) -> int:
    """Raise the counter by ``count`` and return its new value (the last number taken).

    Must run inside the transaction that inserts the tickets: the row lock taken by the UPDATE
    serialises concurrent callers until commit, and a rollback gives the numbers back.
    """
    number = move_counter(workspace_id, count)
    if number is None:  # the workspace's first ticket: make its row, then take from it
        TicketSequence.objects.get_or_create(workspace_id=workspace_id)
        number = move_counter(workspace_id, count)
        assert number is not None
    return number


def move_counter(workspace_id: int, step: int) -> int | None:
    """Move the counter by ``step`` and read it in one statement (UPDATE … RETURNING); None without a row."""
    qn = connection.ops.quote_name
    table, last, key = qn(TicketSequence._meta.db_table), qn("last_number"), qn("workspace_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {last} = {last} + %s WHERE {key} = %s RETURNING {last}",  # noqa: S608 (names from the model)
            [step, workspace_id],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])
