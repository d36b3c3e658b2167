"""Jobs of the channels: plain functions taking ids; they read the clock, the domain does not."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from huey.contrib.djhuey import db_task

from radicado.channels import whatsapp_outbox
from radicado.channels.outbox import send_due

log = logging.getLogger(__name__)


def send_after_commit(job: Callable[[int], object], row: Model | int) -> None:
    """Enqueue ``job(row.id)`` once the current transaction commits, and never fail the caller.

    ``row`` may be a row a unit of work has yet to write: its id is read at commit.

    The row is the promise and it is already committed: if the nudge cannot be queued (the queue
    is locked, the disk is full), the periodic sweep sends the row, and the caller must not see
    an error for work that is done (an e-mail intake would otherwise quarantine a message whose
    request exists, and reprocessing it would register the request twice).
    """

    def nudge() -> None:
        row_id = row if isinstance(row, int) else row.pk
        try:
            job(row_id)
        except Exception:  # logged, not raised: the sweep delivers the row
            log.exception("could not enqueue %s for row %s; the periodic sweep will send it", job, row_id)

    transaction.on_commit(nudge)


@db_task(retries=0)
def send_outbound(mail_id: int) -> None:
    """Send one queued message now (enqueued after commit; the sweep catches lost ones)."""
    send_due(now=timezone.now(), ids=[mail_id])


def send_pending() -> int:
    """The safety sweep: anything whose immediate send was lost or is due for a retry."""
    return send_due(now=timezone.now())


@db_task(retries=0)
def send_whatsapp(message_id: int) -> None:
    """Send one queued WhatsApp message (after commit; the sweep retries)."""
    whatsapp_outbox.send_due(now=timezone.now(), ids=[message_id])


def send_pending_whatsapp() -> int:
    return whatsapp_outbox.send_due(now=timezone.now())
