"""Mail the ticket's requester: agent replies and acknowledgements, threaded by our Message-IDs."""

from __future__ import annotations

import datetime as dt
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from radicado.channels.email.compose import compose, new_message_id
from radicado.channels.jobs import send_outbound
from radicado.channels.models import AutoReply, Mailbox, MessageIndex, OutboundMail
from radicado.channels.outbox import queue_mail
from radicado.tickets.models import Ticket


def mailbox_of(workspace_id: int) -> Mailbox | None:
    return Mailbox.objects.filter(workspace_id=workspace_id).order_by("id").first()


def thread_headers(ticket: Ticket) -> tuple[str | None, list[str]]:
    """In-Reply-To (the customer's latest message, else our latest) and References for the ticket."""
    ids = list(
        MessageIndex.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("message_id", "outbound")
    )
    inbound = [m for m, out in ids if not out]
    latest = inbound[-1] if inbound else (ids[-1][0] if ids else None)
    return latest, [m for m, _ in ids]


def auto_reply_allowed(*, mailbox: Mailbox, address: str, now: dt.datetime) -> bool:
    """RFC 3834 courtesy: at most ``auto_replies_per_hour`` automatic answers per sender."""
    recent = AutoReply.objects.filter(
        workspace_id=mailbox.workspace_id, address=address, sent_at__gte=now - dt.timedelta(hours=1)
    ).count()
    return recent < mailbox.auto_replies_per_hour


def queue_ticket_mail(
    *, ticket: Ticket, body: str, now: dt.datetime, automatic: str | None = None, to: str | None = None
) -> OutboundMail | None:
    """Queue a message about the ticket to its requester (or ``to``); send after commit.

    Returns None when the workspace has no mailbox, the recipient has no address, or an
    automatic message would exceed the sender's rate limit.
    """
    mailbox = mailbox_of(ticket.workspace_id)
    recipient = (to or ticket.requester.email or "").lower()
    if mailbox is None or not recipient:
        return None
    if automatic:
        if not auto_reply_allowed(mailbox=mailbox, address=recipient, now=now):
            return None
        AutoReply.objects.create(workspace_id=ticket.workspace_id, address=recipient, sent_at=now)
    in_reply_to, references = thread_headers(ticket)
    domain = mailbox.address.rpartition("@")[2]
    message_id = new_message_id(reference=ticket.reference, domain=domain)
    raw = compose(
        from_name=mailbox.display_name,
        from_address=mailbox.address,
        to=[recipient],
        subject=f"[{ticket.reference}] {ticket.subject}",
        body=body,
        message_id=message_id,
        now=now,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
    )
    MessageIndex.objects.create(
        workspace_id=ticket.workspace_id, message_id=message_id, ticket=ticket, outbound=True, created_at=now
    )
    mail = queue_mail(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        message_id=message_id,
        mail_from=mailbox.address,
        rcpt_to=[recipient],
        raw=raw,
        automatic=bool(automatic),
        now=now,
    )
    transaction.on_commit(partial(send_outbound, mail.id))
    return mail


def acknowledgement_text(ticket: Ticket, *, due: dt.datetime | None) -> str:
    lines = [
        _("We registered your request %(ref)s: “%(subject)s”.") % {"ref": ticket.reference, "subject": ticket.subject}
    ]
    if due is not None:
        when = formats.date_format(due.astimezone(ZoneInfo(ticket.workspace.timezone)), "DATETIME_FORMAT")
        lines.append(_("We will answer at the latest on %(due)s.") % {"due": when})
    lines.append(
        _("To add information, reply to this message and keep %(ref)s in the subject.") % {"ref": ticket.reference}
    )
    return "\n\n".join(lines)
