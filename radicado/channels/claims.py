"""Claim outbox rows one at a time, so that several senders never send the same row at once.

A row is pending with a ``next_attempt_at``; claiming it moves that instant a lease ahead with a
conditional UPDATE on the value read. Only the sender whose UPDATE matched (rowcount 1) sends.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import F, Model, QuerySet

from radicado.action import action

LEASE = dt.timedelta(minutes=5)
_lease: ContextVar[dt.timedelta] = ContextVar("outbox_lease", default=LEASE)


@contextmanager
def lease(duration: dt.timedelta) -> Iterator[None]:
    """Claim rows for ``duration`` instead of ``LEASE`` inside this block.

    A sender that dies holding a row (a crash, ``kill -9``) delays that row by its lease;
    ``radicado mail send --lease SECONDS`` and the crash tests use a short one. The lease must
    outlast one send (connect, SMTP dialogue, marking it sent), or a second sender may take
    the row while the first is still sending it.
    """
    token = _lease.set(duration)
    try:
        yield
    finally:
        _lease.reset(token)


def claim_due(qs: QuerySet[Any], *, now: dt.datetime, limit: int) -> Iterator[Model]:
    """Yield the due rows of ``qs`` (pending, ``next_attempt_at <= now``) that this caller claimed."""
    model = qs.model
    started = time.monotonic()
    for row_id, seen in (
        qs.filter(next_attempt_at__lte=now).order_by("next_attempt_at").values_list("id", "next_attempt_at")[:limit]
    ):
        # The lease runs from this claim, not from the batch's start: a slow batch (relay
        # timeouts) must not hand later rows out with a lease that has already run out.
        held_until = now + _lease.get() + dt.timedelta(seconds=time.monotonic() - started)
        claimed = _claim(model, row_id, seen, held_until)
        if claimed == 1:
            yield model.objects.get(id=row_id)


@action
def _claim(model: type[Model], row_id: int, seen: dt.datetime, held_until: dt.datetime) -> int:
    """Move a pending row's next attempt a lease ahead if it is still as it was read (1 = claimed)."""
    return int(
        model._default_manager.filter(id=row_id, status="pending", next_attempt_at=seen).update(
            next_attempt_at=held_until, attempts=F("attempts") + 1
        )
    )


def backoff(attempts: int, *, cap_minutes: int = 240) -> dt.timedelta:
    """Exponential backoff: 2, 4, 8 … minutes, at most ``cap_minutes``."""
    return dt.timedelta(minutes=min(2**attempts, cap_minutes))
