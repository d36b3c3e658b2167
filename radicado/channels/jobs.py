"""Jobs of the channels: plain functions taking ids; they read the clock, the domain does not."""

from __future__ import annotations

from django.utils import timezone
from huey.contrib.djhuey import db_task

from radicado.channels import whatsapp_outbox
from radicado.channels.outbox import send_due


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
