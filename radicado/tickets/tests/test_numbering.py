"""Ticket numbers: per workspace, no gaps, no duplicates, even under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from conftest import NOW, build_cast
from radicado.customers.access import actor_for
from radicado.tickets import actions
from radicado.tickets.models import Channel, Ticket, TicketType


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_consecutive_unique_numbers(tmp_path: object) -> None:
    cast = build_cast()
    workers, per_worker = 4, 8
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def register(i: int) -> None:
        try:
            actor = actor_for(user=cast.users["bob"], workspace_slug="andes")
            incident = TicketType.objects.get(workspace=cast.ws_a, code="incidente")
            barrier.wait()
            for j in range(per_worker):
                actions.create_ticket(
                    actor=actor,
                    requester=cast.contacts["carol"],
                    ticket_type=incident,
                    subject=f"w{i}-{j}",
                    description="d",
                    channel=Channel.PHONE,
                    now=NOW,
                )
        except BaseException as exc:  # reported below, with the thread's context
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Ticket.objects.filter(workspace=cast.ws_a).values_list("number", flat=True))
    assert numbers == list(range(1, 3 + workers * per_worker + 1))
    assert list(Ticket.objects.filter(workspace=cast.ws_b).values_list("number", flat=True)) == [1]
