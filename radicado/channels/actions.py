"""Writes to channel configuration, and an admin's retry of an outgoing message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from radicado.action import action
from radicado.channels.jobs import send_after_commit, send_outbound, send_whatsapp
from radicado.channels.models import Mailbox, OutboundMail, OutboundStatus, UnknownSenderPolicy, WhatsAppMessage
from radicado.channels.queries import EMAIL, RETRYABLE, WHATSAPP
from radicado.errors import UserError
from radicado.workspaces.actions import audit
from radicado.workspaces.models import User, Workspace


@action
def create_mailbox(
    *,
    workspace: Workspace,
    address: str,
    display_name: str,
    now: dt.datetime,
    unknown_senders: UnknownSenderPolicy = UnknownSenderPolicy.CREATE,
    actor: User | None = None,
) -> Mailbox:
    """A support address for the workspace (IMAP settings can be added later)."""
    mailbox = Mailbox.objects.create(
        workspace=workspace, address=address.strip().lower(), display_name=display_name, unknown_senders=unknown_senders
    )
    audit(workspace=workspace, actor=actor, action="mailbox.created", target=mailbox.address, now=now)
    return mailbox


@action
def claim_polling(*, mailbox_id: int, now: dt.datetime, lease: dt.timedelta) -> dt.datetime | None:
    """Take the mailbox for one ``mail poll`` run until ``now + lease``; None when another run holds it.

    Two runs reading one inbox at once (one outlasting the schedule, a ``--loop`` beside Huey) would
    fetch the same unseen messages; a message without a Message-ID could then become two tickets. A
    run that dies holding a mailbox delays it by the rest of its lease.
    """
    until = now + lease
    free = Q(polled_until__isnull=True) | Q(polled_until__lte=now)
    taken = Mailbox.objects.filter(free, id=mailbox_id).update(polled_until=until)
    return until if taken == 1 else None


@action
def renew_polling(*, mailbox_id: int, held: dt.datetime, now: dt.datetime, lease: dt.timedelta) -> dt.datetime | None:
    """Extend a lease this run holds (``held``, as claimed or last renewed); None if it was lost meanwhile."""
    until = now + lease
    kept = Mailbox.objects.filter(id=mailbox_id, polled_until=held, polled_until__gt=now).update(polled_until=until)
    return until if kept == 1 else None


@action
def release_polling(*, mailbox_id: int, held: dt.datetime) -> None:
    """Give the mailbox back (only if this run still holds it)."""
    Mailbox.objects.filter(id=mailbox_id, polled_until=held).update(polled_until=None)


class OutboundNotFound(LookupError):
    """No outgoing message with that channel and id in the workspace (interfaces answer 404)."""


class NotRetryable(UserError):
    """The message already went out (sent, delivered or read): there is nothing to retry."""


@action
def retry_outbound(*, workspace: Workspace, actor: User | None, channel: str, row_id: int, now: dt.datetime) -> None:
    """Put a failed or pending outgoing message back in the queue, due now, with its attempts reset.

    The send job is enqueued after commit (the periodic sweep picks the row up anyway) and the
    retry is audited. Scoped to ``workspace``: another workspace's id is ``OutboundNotFound``.
    Retrying a pending row that a sender holds at this very moment can send it twice, the same
    window as a crash between the relay's acceptance and the row being marked sent.
    """
    rows: QuerySet[Any]
    if channel == EMAIL:
        job = send_outbound
        rows = OutboundMail.objects.filter(workspace_id=workspace.id, id=row_id)
    elif channel == WHATSAPP:
        job = send_whatsapp
        rows = WhatsAppMessage.objects.filter(workspace_id=workspace.id, id=row_id, inbound=False)
    else:
        raise OutboundNotFound(channel)
    before = rows.values("status", "attempts", "last_error").first()
    if before is None:
        raise OutboundNotFound(f"{channel}:{row_id}")
    if before["status"] not in RETRYABLE:
        raise NotRetryable(before["status"])
    changed = rows.filter(status=before["status"], attempts=before["attempts"]).update(
        status=OutboundStatus.PENDING, attempts=0, next_attempt_at=now
    )
    if changed != 1:  # a sender moved it meanwhile: the admin sees the new state and decides again
        raise NotRetryable(before["status"])
    audit(
        workspace=workspace,
        actor=actor,
        action="outbox.retried",
        target=f"{channel}:{row_id}",
        now=now,
        data={"status": before["status"], "attempts": before["attempts"], "last_error": before["last_error"][:500]},
    )
    send_after_commit(job, row_id)
