"""Jobs of the channels: plain functions taking ids; they read the clock, the domain does not."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.models import Model
from django.utils import timezone
from huey.contrib.djhuey import db_task

from radicado.action import guarded_call, on_commit_grouped
from radicado.channels import whatsapp_outbox
from radicado.channels.outbox import send_due

log = logging.getLogger(__name__)


def send_after_commit(job: Callable[[int | list[int]], object], row: Model | int) -> None:
    """Enqueue ``job(row.id)`` once the current transaction commits, and never fail the caller.

    In a batch of the intake wall, the rows of one job are sent by a single ``job([ids])`` (one
    enqueue per batch).

    The row is the promise and it is already committed: if the nudge cannot be queued (the queue
    is locked, the disk is full), the periodic sweep sends the row, and the caller must not see
    an error for work that is done (an e-mail intake would otherwise quarantine a message whose
    request exists, and reprocessing it would register the request twice).
    """

    on_commit_grouped(("send", job), row, lambda rows: _nudge(job, _ids(rows)))


def _ids(rows: list[Model | int]) -> int | list[int]:
    ids = [row if isinstance(row, int) else int(row.pk) for row in rows]
    return ids[0] if len(ids) == 1 else ids


def _nudge(job: Callable[[int | list[int]], object], ids: int | list[int]) -> None:
    try:
        job(ids)
    except Exception:  # logged, not raised: the sweep delivers the rows
        log.exception("could not enqueue %s for %s; the periodic sweep will send it", job, ids)


@db_task(retries=0)
@guarded_call
def send_outbound(mail_ids: int | list[int]) -> None:
    """Send queued messages now (enqueued after commit; the sweep catches lost ones)."""
    send_due(now=timezone.now(), ids=mail_ids if isinstance(mail_ids, list) else [mail_ids])


def send_pending() -> int:
    """The safety sweep: anything whose immediate send was lost or is due for a retry."""
    return send_due(now=timezone.now())


@db_task(retries=0)
@guarded_call
def send_whatsapp(message_ids: int | list[int]) -> None:
    """Send queued WhatsApp messages now (after commit; the sweep retries)."""
    whatsapp_outbox.send_due(now=timezone.now(), ids=message_ids if isinstance(message_ids, list) else [message_ids])


def send_pending_whatsapp() -> int:
    return whatsapp_outbox.send_due(now=timezone.now())
