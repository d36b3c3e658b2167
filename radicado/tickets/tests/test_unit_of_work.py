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
            replies = [unit_of_work.insert(_reply(ticket, f"r{n}")) for n in range(2)]
        assert len(taken) == 1  # one statement reserved the ids; nothing is written yet
        ids = [r.id for r in replies]
        assert before < ids[0] < ids[1]
        assert uow.pending(Reply) == replies
        # A query of another table leaves them waiting ...
        assert Ticket.objects.filter(id=ticket.id).exists()
        assert uow.pending(Reply) == replies
        # ... one that names their table (here through a join) writes them first.
        found = list(Reply.objects.filter(ticket__number=ticket.number).order_by("id").values_list("id", "body"))
        assert found[-2:] == [(ids[0], "r0"), (ids[1], "r1")]
        assert uow.pending(Reply) == []
    # The id reserved and not used is skipped: a reply saved the usual way comes after it.
    later = actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Después", now=LATER)
    assert later.id > ids[1] + 1


def test_a_ticket_made_in_the_unit_of_work_is_written_before_it_is_changed(cast: Cast) -> None:
    with transaction.atomic(), unit_of_work.unit_of_work() as uow:
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
        assert ticket.id is not None and uow.pending(Ticket) == [ticket]
        reply = actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Vamos.", now=LATER)
        # The agent's reply moved the ticket (an UPDATE of its row): the INSERT went first.
        assert Ticket.objects.get(id=ticket.id).state.code == "en_curso"
        assert uow.pending(Ticket) == []
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


def test_a_savepoint_inside_the_unit_of_work_keeps_what_came_before_and_rolls_back_only_itself(cast: Cast) -> None:
    """Code that opens a savepoint and goes on after an exception (best effort) inside a batch: rows made
    before the savepoint are written before it opens; rows made inside it go straight to the database, so
    its rollback takes them away and nothing else (ADR 0014; before, the whole batch had to be redone)."""
    ticket = cast.tickets["A-2"]
    before = Reply.objects.count()
    with transaction.atomic(), unit_of_work.unit_of_work() as uow:
        kept = unit_of_work.insert(_reply(ticket, "antes"))
        try:
            with transaction.atomic():  # best effort
                unit_of_work.insert(_reply(ticket, "dentro"))
                assert Reply.objects.filter(body="dentro").exists()
                raise RuntimeError("the best effort failed")
        except RuntimeError:
            pass
        after = unit_of_work.insert(_reply(ticket, "después"))
        assert uow.broken is None
    bodies = set(Reply.objects.filter(ticket=ticket).values_list("body", flat=True))
    assert {"antes", "después"} <= bodies and "dentro" not in bodies
    assert Reply.objects.count() == before + 2
    assert Reply.objects.get(id=kept.id).body == "antes" and Reply.objects.get(id=after.id).body == "después"
