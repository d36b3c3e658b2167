"""The unit of work's deferred rows (ADR 0010, 0012): ids given early, writes held back, never missed by a query.

These run on SQLite and, with the suite's PostgreSQL pass, on PostgreSQL: id reservation is per database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import NOW, Cast
from radicado import unit_of_work
from radicado.tickets import actions
from radicado.tickets.models import Note, Reply, Ticket

LATER = NOW + dt.timedelta(hours=1)


def _reply(ticket: Ticket, body: str) -> Reply:
    return Reply(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        author_name="Carol",
        by_customer=True,
        body=body,
        created_at=NOW,
    )


def test_rows_get_their_ids_at_once_and_any_query_of_their_table_sees_them(cast: Cast) -> None:
    ticket = cast.tickets["A-2"]
    before = Reply.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic(), unit_of_work.unit_of_work() as uow:
        uow.expected = 3
        with CaptureQueriesContext(connection) as taken:
            replies = [unit_of_work.insert_with_id(_reply(ticket, f"r{n}")) for n in range(2)]
        assert len(taken) == 1  # one statement reserved the ids; nothing is written yet
        ids = [r.id for r in replies]
        assert before < ids[0] < ids[1]
        assert unit_of_work.pending(Reply) == replies
        # A query of another table leaves them waiting ...
        assert Ticket.objects.filter(id=ticket.id).exists()
        assert unit_of_work.pending(Reply) == replies
        # ... one that names their table (here through a join) writes them first.
        found = list(Reply.objects.filter(ticket__number=ticket.number).order_by("id").values_list("id", "body"))
        assert found[-2:] == [(ids[0], "r0"), (ids[1], "r1")]
        assert unit_of_work.pending(Reply) == []
    # The id reserved and not used is skipped: a reply saved the usual way comes after it.
    later = actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Después", now=LATER)
    assert later.id > ids[1] + 1


def test_a_ticket_made_in_the_unit_of_work_is_written_before_it_is_changed(cast: Cast) -> None:
    with transaction.atomic(), unit_of_work.unit_of_work():
        contact = cast.contacts["erin"]
        with CaptureQueriesContext(connection) as taken:
            ticket = actions.create_ticket(
                actor=cast.actor("erin"),
                requester=contact,
                ticket_type=cast.tickets["A-3"].type,
                subject="Red caída",
                description="No hay red.",
                channel="portal",
                now=NOW,
                announce=False,
            )
        assert not any("INSERT" in q["sql"] and '"tickets_ticket"' in q["sql"] for q in taken.captured_queries)
        assert ticket.id is not None and unit_of_work.pending(Ticket) == [ticket]
        reply = actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Vamos.", now=LATER)
        # The agent's reply moved the ticket (an UPDATE of its row): the INSERT went first.
        assert Ticket.objects.get(id=ticket.id).state.code == "en_curso"
        assert unit_of_work.pending(Ticket) == []
    assert Reply.objects.get(id=reply.id).ticket_id == ticket.id


def test_updates_are_held_back_merged_and_written_before_a_read(cast: Cast) -> None:
    ticket = cast.tickets["A-1"]
    Ticket.objects.filter(id=ticket.id).update(auto_action_at=LATER)
    with transaction.atomic(), unit_of_work.unit_of_work():
        with CaptureQueriesContext(connection) as taken:
            unit_of_work.update(ticket, updated_at=NOW)
            unit_of_work.update(ticket, updated_at=LATER, auto_action_at=None)
        assert len(taken) == 0
        assert (ticket.updated_at, ticket.auto_action_at) == (LATER, None)  # the instance at once
        row = Ticket.objects.filter(id=ticket.id).values("updated_at", "auto_action_at").get()
        assert row == {"updated_at": LATER, "auto_action_at": None}  # the row before any read of it
    outside = unit_of_work.update(ticket, updated_at=NOW)  # no unit of work: written now
    assert outside.updated_at == NOW == Ticket.objects.get(id=ticket.id).updated_at


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own sequence table")
def test_ids_of_a_table_that_never_had_a_row(db: Any) -> None:
    """SQLite keeps no sequence entry for a table until its first row: reserving makes it."""
    assert not Note.objects.exists()
    with connection.cursor() as cursor:  # as on a fresh database (undone with the test's transaction)
        cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", ["tickets_note"])
    with transaction.atomic():
        first = unit_of_work._take_ids(Note, 2)
        second = unit_of_work._take_ids(Note, 1)
    assert first == [1, 2] and second == [3]


def test_a_write_asked_for_inside_a_savepoint_is_refused_and_the_unit_of_work_cannot_commit(cast: Cast) -> None:
    """Code that opens a savepoint and goes on after an exception (best effort) would lose, with its
    rollback, rows the unit of work counts as written: the write is refused, and the unit of work raises
    when it ends, so its transaction rolls back and the work is done again without one."""
    ticket = cast.tickets["A-2"]
    replies = Reply.objects.count()

    def work() -> None:
        with transaction.atomic(), unit_of_work.unit_of_work():
            unit_of_work.insert_with_id(_reply(ticket, "r"))
            try:
                with transaction.atomic():  # best effort
                    Reply.objects.count()
            except unit_of_work.SavepointWrite:
                pass

    with pytest.raises(unit_of_work.SavepointWrite):
        work()
    assert Reply.objects.count() == replies
