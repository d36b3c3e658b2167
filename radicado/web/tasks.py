"""The periodic schedule (Huey discovers this module): each entry calls one job.

Every sweep is safe to run in several workers at once: rows are claimed with
conditional updates, so nothing fires or sends twice.
"""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from radicado.action import guarded_call
from radicado.channels import jobs as channel_jobs
from radicado.tickets import automations
from radicado.tickets.sla import sweep_clocks
from radicado.tickets.whatsapp_in import purge_refused_webhooks


@db_periodic_task(crontab(minute="*"))
@guarded_call
def sla_sweep() -> int:
    """Fire due ANS warnings, breaches and escalation levels."""
    return sweep_clocks(now=timezone.now())


@db_periodic_task(crontab(minute="*"))
@guarded_call
def outbound_mail_sweep() -> int:
    """Send mail whose immediate send was lost, and retries that are due."""
    return channel_jobs.send_pending()


@db_periodic_task(crontab(minute="*"))
@guarded_call
def whatsapp_sweep() -> int:
    """Send WhatsApp messages whose immediate send was lost, and retries that are due."""
    return channel_jobs.send_pending_whatsapp()


@db_periodic_task(crontab(minute="*"))
@guarded_call
def workflow_automations() -> int:
    """Automatic moves that are due (auto-close after silence, T5 / I8)."""
    return automations.run_due(now=timezone.now())


@db_periodic_task(crontab(minute="*/2"))
@guarded_call
def poll_mailboxes() -> None:
    """Read every mailbox that has IMAP settings."""
    from django.core.management import call_command

    call_command("mail", "poll")


@db_periodic_task(crontab(minute="17", hour="3"))
@guarded_call
def webhook_retention() -> int:
    """Delete the summaries of refused webhook requests once their retention has passed."""
    return purge_refused_webhooks(now=timezone.now())
