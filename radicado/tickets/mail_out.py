"""Mail the ticket's requester: agent replies and acknowledgements, threaded by our Message-IDs."""

from __future__ import annotations

import datetime as dt

from radicado.action import cached, insert
from radicado.channels.email.compose import compose, new_message_id
from radicado.channels.jobs import send_after_commit, send_outbound
from radicado.channels.models import AutoReply, Mailbox, MessageIndex, OutboundMail
from radicado.channels.outbox import queue_mail
from radicado.tickets.lookups import lookups
from radicado.tickets.models import Ticket


@cached
def mailbox_of(workspace_id: int) -> Mailbox | None:
    return Mailbox.objects.filter(workspace_id=workspace_id).order_by("id").first()


def thread_headers(ticket: Ticket) -> tuple[str | None, list[str]]:
    """In-Reply-To (the customer's latest message, else our latest) and References for the ticket."""
    ids = lookups().thread_ids(ticket)
    inbound = [m for m, out in ids if not out]
    latest = inbound[-1] if inbound else (ids[-1][0] if ids else None)
    return latest, [m for m, _ in ids]


def auto_reply_allowed(*, mailbox: Mailbox, address: str, now: dt.datetime) -> bool:
    """RFC 3834 courtesy: at most ``auto_replies_per_hour`` automatic answers per sender."""
    since = now - dt.timedelta(hours=1)
    recent = lookups().auto_replies_since(workspace_id=mailbox.workspace_id, address=address, since=since)
    return recent < mailbox.auto_replies_per_hour


def take_auto_reply(*, mailbox: Mailbox, address: str, now: dt.datetime) -> bool:
    """Whether an automatic answer to ``address`` may go now; if so it is counted (the mark is written)."""
    if not auto_reply_allowed(mailbox=mailbox, address=address, now=now):
        return False
    insert(AutoReply(workspace_id=mailbox.workspace_id, address=address, sent_at=now))
    return True


def queue_ticket_mail(
    *,
    ticket: Ticket,
    body: str,
    now: dt.datetime,
    automatic: str | None = None,
    to: str | None = None,
    subject: str | None = None,
    rate_limited: bool = False,
    event: str = "",
    idempotency_key: str | None = None,
    mailbox: Mailbox | None = None,
) -> OutboundMail | None:
    """Queue a message about the ticket to its requester (or ``to``); send after commit.

    The subject always carries ``[REF]`` so that answers thread. Returns None when the
    workspace has no mailbox, the recipient has no address, ``idempotency_key`` was
    already used, or a ``rate_limited`` automatic answer would exceed the sender's limit.
    """
    mailbox = mailbox or mailbox_of(ticket.workspace_id)
    recipient = (to or ticket.requester.email or "").lower()
    if mailbox is None or not recipient:
        return None
    if idempotency_key and lookups().outbound_key_used(ticket=ticket, key=idempotency_key):
        return None
    if rate_limited and not take_auto_reply(mailbox=mailbox, address=recipient, now=now):
        return None
    tag = f"[{ticket.reference}]"
    subject = " ".join((subject or ticket.subject).split())
    if tag not in subject:
        subject = f"{tag} {subject}"
    in_reply_to, references = thread_headers(ticket)
    domain = mailbox.address.rpartition("@")[2]
    message_id = new_message_id(reference=ticket.reference, domain=domain)
    raw = compose(
        from_name=mailbox.display_name,
        from_address=mailbox.address,
        to=[recipient],
        subject=subject[:900],
        body=body,
        message_id=message_id,
        now=now,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
    )
    insert(  # a fresh id cannot conflict; inbound rows go in this way too: one group, in order
        MessageIndex(
            workspace_id=ticket.workspace_id, message_id=message_id, ticket=ticket, outbound=True, created_at=now
        ),
        ignore_conflicts=True,
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
        event=event,
        idempotency_key=idempotency_key,
    )
    send_after_commit(send_outbound, mail)
    return mail
