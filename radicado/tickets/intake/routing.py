"""Turn an inbound e-mail into a ticket, a threaded reply, or nothing — never lose it.

Order of business (ARCHITECTURE "Channels"): store the raw bytes first; parse; drop
duplicates (Message-ID) and our own mail; let automatic mail (RFC 3834) act on
nothing, except that a bounce is noted on its ticket; thread by our Message-IDs in
In-Reply-To/References, then by a ``[SOP-000123]`` subject tag the sender may use,
then by a signed plus-address; otherwise register a new ticket.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from radicado.action import action, cached, insert
from radicado.channels.email.compose import compose, new_message_id
from radicado.channels.email.parsing import ParsedEmail, UnparseableEmail, parse_email
from radicado.channels.jobs import send_after_commit, send_outbound
from radicado.channels.models import IntakeOutcome, Mailbox, MessageIndex, RawMessage, RawStatus, UnknownSenderPolicy
from radicado.channels.outbox import queue_mail
from radicado.channels.rawstore import OUTCOME_FIELDS, read_raw, set_outcome, store_raw
from radicado.customers.access import actor_for_contact
from radicado.customers.actions import create_contact
from radicado.customers.models import Contact
from radicado.tickets import actions, notify
from radicado.tickets.attachments import AttachmentRejected, Upload, validate_uploads
from radicado.tickets.intake.lookup import BatchLookup, MessageLookup
from radicado.tickets.mail_out import take_auto_reply
from radicado.tickets.models import Channel, Ticket, TicketType
from radicado.workspaces.access import Actor

log = logging.getLogger(__name__)
EMPTY_BODY = "(mensaje sin texto)"


@dataclass(frozen=True)
class IngestResult:
    outcome: IntakeOutcome
    ticket: str | None = None
    detail: str = ""
    raw_id: int | None = None
    ticket_id: int | None = None


def plus_token(*, number: int) -> str:
    """The signed token of a ticket for plus-addressing: ``t123-<8 hex>``."""
    mac = hmac.new(settings.MAIL_TOKEN_KEY.encode(), f"ticket:{number}".encode(), hashlib.sha256).hexdigest()
    return f"t{number}-{mac[:8]}"


def plus_address(mailbox: Mailbox, number: int) -> str:
    local, _, domain = mailbox.address.partition("@")
    return f"{local}+{plus_token(number=number)}@{domain}"


def ingest_email(*, mailbox: Mailbox, raw: bytes, source: str, now: dt.datetime) -> IngestResult:
    """Store, then process one inbound message; the same bytes twice are processed once."""
    row, new = store_raw(workspace_id=mailbox.workspace_id, raw=raw, source=source, now=now)
    if not new and row.status != RawStatus.RECEIVED:
        return IngestResult(
            outcome=IntakeOutcome.IGNORED,
            detail="duplicate",
            raw_id=row.id,
            ticket=reference(row.ticket_id),
            ticket_id=row.ticket_id,
        )
    return process_raw(mailbox=mailbox, row=row, now=now)


@action
def process_raw(*, mailbox: Mailbox, row: RawMessage, now: dt.datetime) -> IngestResult:
    """Route a stored message; anything unexpected quarantines it (reprocessable), never raises."""
    return process(mailbox=mailbox, row=row, now=now, parsed=parse(row, None), lookup=MessageLookup())


def parse(row: RawMessage, raw: bytes | None) -> ParsedEmail | UnparseableEmail:
    try:
        return parse_email(read_raw(row) if raw is None else raw)
    except UnparseableEmail as exc:
        return exc


class BatchAborted(Exception):
    """A message of a batch failed: the batch is rolled back and done again one message at a time."""


def process(
    *,
    mailbox: Mailbox,
    row: RawMessage,
    now: dt.datetime,
    parsed: ParsedEmail | UnparseableEmail,
    lookup: MessageLookup,
) -> IngestResult:
    """Route and record the outcome on ``row`` (written now for one message, by the batch in a batch)."""
    batch = isinstance(lookup, BatchLookup)
    save = not batch

    def outcome(**fields: Any) -> None:
        set_outcome(row, **fields)
        if save:
            row.save(update_fields=OUTCOME_FIELDS)

    if isinstance(parsed, UnparseableEmail):
        outcome(status=RawStatus.QUARANTINED, outcome=IntakeOutcome.QUARANTINED, detail=str(parsed))
        return IngestResult(outcome=IntakeOutcome.QUARANTINED, detail=str(parsed), raw_id=row.id)
    try:
        # Alone, a message has its own savepoint. In a batch it has none (two round trips fewer): if it
        # fails, the whole batch is rolled back and done again one message at a time (``ingest_many``).
        with contextlib.nullcontext() if batch else transaction.atomic():
            result = _route(mailbox=mailbox, parsed=parsed, now=now, lookup=lookup)
            status = {
                "created": RawStatus.PROCESSED,
                "threaded": RawStatus.PROCESSED,
                "ignored": RawStatus.IGNORED,
                "held": RawStatus.HELD,
                "rejected": RawStatus.REJECTED,
            }[result.outcome]
            ticket_id = result.ticket_id or _ticket_id(mailbox.workspace_id, result.ticket)
            outcome(
                status=status,
                outcome=result.outcome,
                detail=result.detail,
                ticket_id=ticket_id,
                message_id=parsed.message_id or "",
                from_address=parsed.from_address or "",
                subject=parsed.subject,
            )
    except Exception as exc:  # a bug or bad data must not lose the message: keep it for an admin
        if batch:
            raise BatchAborted(row.id) from exc
        log.exception("inbound mail %s quarantined", row.id)
        outcome(
            status=RawStatus.QUARANTINED,
            outcome=IntakeOutcome.QUARANTINED,
            detail=f"{type(exc).__name__}: {exc}",
            message_id=parsed.message_id or "",
            from_address=parsed.from_address or "",
            subject=parsed.subject,
        )
        return IngestResult(outcome=IntakeOutcome.QUARANTINED, detail=str(exc), raw_id=row.id)
    return IngestResult(
        outcome=result.outcome, ticket=result.ticket, detail=result.detail, raw_id=row.id, ticket_id=ticket_id
    )


def reference(ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    ticket = Ticket.objects.select_related("workspace").filter(id=ticket_id).first()
    return ticket.reference if ticket else None


def _ticket_id(workspace_id: int, reference: str | None) -> int | None:
    if not reference:
        return None
    number = int(reference.rsplit("-", 1)[-1])
    return Ticket.objects.filter(workspace_id=workspace_id, number=number).values_list("id", flat=True).first()


def _route(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime, lookup: MessageLookup) -> IngestResult:
    ws_id = mailbox.workspace_id
    sender = parsed.from_address or ""
    contact, seen, ours = lookup.first(ws_id, parsed.message_id or "", sender)
    if seen:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail="duplicate message-id")
    if ours:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail="from our own address")
    if parsed.is_bounce:
        return _bounce(mailbox=mailbox, parsed=parsed, now=now, lookup=lookup)
    if parsed.automatic:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail=f"automatic: {parsed.automatic}")
    if not sender:
        return IngestResult(outcome=IntakeOutcome.HELD, detail="no sender address")
    ticket, how = _thread(mailbox=mailbox, parsed=parsed, contact=contact, lookup=lookup)
    if ticket is not None and (contact is None or contact.customer_id != ticket.customer_id):
        return _stranger_on_ticket(ticket=ticket, parsed=parsed, now=now, how=how)
    if contact is None:
        contact_or_result = _unknown_sender(mailbox=mailbox, parsed=parsed, now=now, lookup=lookup)
        if isinstance(contact_or_result, IngestResult):
            return contact_or_result
        contact = contact_or_result
    actor = actor_for_contact(contact=contact)
    uploads, skipped = _uploads(parsed)
    body, full_text = _fit(parsed.reply_text or parsed.text or EMPTY_BODY)
    if full_text is not None:
        uploads.append(full_text)
    if ticket is not None and not ticket.is_closed:
        reply = actions.add_reply(actor=actor, ticket=ticket, body=body, now=now, uploads=uploads)
        _index(ws_id, parsed, ticket, now)
        _note_skipped(ticket, skipped, now)
        return IngestResult(
            outcome=IntakeOutcome.THREADED,
            ticket=ticket.reference,
            detail=f"{how}; reply {reply.id}",
            ticket_id=ticket.id,
        )
    follows = ticket.reference if ticket is not None else None
    new = _register(
        mailbox=mailbox,
        actor=actor,
        contact=contact,
        parsed=parsed,
        body=body,
        uploads=uploads,
        now=now,
        follows=follows,
    )
    _index(ws_id, parsed, new, now)
    _note_skipped(new, skipped, now)
    lookup.registered(new)  # the next message about it may take it as it is
    notify.announce_registration(ticket=new, actor=None, now=now)  # after _index: it threads
    return IngestResult(
        outcome=IntakeOutcome.CREATED,
        ticket=new.reference,
        detail=f"follows {follows}" if follows else "",
        ticket_id=new.id,
    )


SUBJECT_TAG = re.compile(r"\[(?:#|([A-Z][A-Z0-9]{0,9})-)0*(\d{1,12})\]")


def _thread(
    *, mailbox: Mailbox, parsed: ParsedEmail, contact: Contact | None, lookup: MessageLookup
) -> tuple[Ticket | None, str]:
    ws_id = mailbox.workspace_id
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    if ids:
        ticket_id = lookup.indexed_ticket(ws_id, ids, newest=True)
        if ticket_id is not None:
            return lookup.ticket(mailbox, id=ticket_id), "message-id"
    for number in tagged_numbers(parsed.subject, mailbox.workspace.ticket_prefix):
        ticket = lookup.ticket(mailbox, number=number)
        # A subject tag is only a hint anyone can type: honour it for the ticket's own customer only.
        if ticket is not None and contact is not None and contact.customer_id == ticket.customer_id:
            return ticket, "subject tag"
    for address in [*parsed.to, *parsed.cc]:
        user, _, domain = address.partition("@")
        base, plus, token = user.partition("+")
        if plus and f"{base}@{domain}" == mailbox.address.lower():
            digits = token.split("-", 1)[0].lstrip("t")
            if digits.isdigit() and hmac.compare_digest(token, plus_token(number=int(digits))):
                ticket = lookup.ticket(mailbox, number=int(digits))
                if ticket is not None:
                    return ticket, "plus address"
    return None, ""


def tagged_numbers(subject: str, prefix: str) -> list[int]:
    """The ticket numbers of the subject's tags (``[#12]``, ``[MS-000012]``) that may be ours, in order."""
    return [int(m.group(2)) for m in SUBJECT_TAG.finditer(subject) if m.group(1) in (None, prefix)]


def _index(ws_id: int, parsed: ParsedEmail, ticket: Ticket, now: dt.datetime) -> None:
    if not parsed.message_id:
        return
    # _route found no row for this id a moment ago: one INSERT … ON CONFLICT DO NOTHING (no SELECT, no
    # savepoint); a row another process inserted since is kept, as get_or_create would.
    insert(
        MessageIndex(workspace_id=ws_id, message_id=parsed.message_id, ticket=ticket, outbound=False, created_at=now),
        ignore_conflicts=True,
    )


def _fit(text: str) -> tuple[str, Upload | None]:
    """A body within the ticket's limit; an over-long one is cut and kept whole as a text file."""
    limit = actions.BODY_MAX - 200
    if len(text) <= limit:
        return text, None
    cut = text[:limit] + "\n\n" + _("[Message cut: the full text is attached as mensaje-completo.txt]")
    return cut, Upload(filename="mensaje-completo.txt", data=text.encode("utf-8"))


def _uploads(parsed: ParsedEmail) -> tuple[list[Upload], list[str]]:
    """Attachments within the limits, and the names of those left out (with why)."""
    kept: list[Upload] = []
    skipped: list[str] = []
    for a in parsed.attachments:
        upload = Upload(filename=a.filename, data=a.data)
        try:
            validate_uploads([*kept, upload])
        except AttachmentRejected as exc:
            skipped.append(str(exc))
            continue
        kept.append(upload)
    return kept, skipped


def _note_skipped(ticket: Ticket, skipped: list[str], now: dt.datetime) -> None:
    if not skipped:
        return
    system = Actor(workspace=ticket.workspace, role="agent", name="Radicado")
    body = _("Some attachments of the e-mail were not kept:") + "\n" + "\n".join(f"- {s}" for s in skipped)
    actions.add_note(actor=system, ticket=ticket, body=body, now=now)


def _bounce(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime, lookup: MessageLookup) -> IngestResult:
    ticket_id = lookup.indexed_ticket(mailbox.workspace_id, parsed.bounced_message_ids, newest=False)
    ticket = lookup.ticket(mailbox, id=ticket_id) if ticket_id is not None else None
    if ticket is None:
        return IngestResult(outcome=IntakeOutcome.IGNORED, detail="bounce for no known message")
    system = Actor(workspace=ticket.workspace, role="agent", name="Radicado")
    body = _("An e-mail about this ticket could not be delivered:") + "\n\n" + (parsed.text[:2000] or EMPTY_BODY)
    actions.add_note(actor=system, ticket=ticket, body=body, now=now)
    return IngestResult(
        outcome=IntakeOutcome.IGNORED, ticket=ticket.reference, detail="bounce noted", ticket_id=ticket.id
    )


def _stranger_on_ticket(*, ticket: Ticket, parsed: ParsedEmail, now: dt.datetime, how: str) -> IngestResult:
    """Someone outside the ticket's customer wrote into its thread: agents see it, the customer does not."""
    system = Actor(workspace=ticket.workspace, role="agent", name="Radicado")
    body = (
        _("Message from %(sender)s, who is not a contact of this customer:") % {"sender": parsed.from_address}
        + "\n\n"
        + (parsed.reply_text or EMPTY_BODY)
    )
    actions.add_note(actor=system, ticket=ticket, body=body, now=now)
    _index(ticket.workspace_id, parsed, ticket, now)
    return IngestResult(
        outcome=IntakeOutcome.THREADED,
        ticket=ticket.reference,
        detail=f"{how}; unknown sender as note",
        ticket_id=ticket.id,
    )


def _unknown_sender(
    *, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime, lookup: MessageLookup
) -> Contact | IngestResult:
    policy = mailbox.unknown_senders
    if policy == UnknownSenderPolicy.HOLD:
        return IngestResult(outcome=IntakeOutcome.HELD, detail="unknown sender held for review")
    if policy == UnknownSenderPolicy.REJECT:
        _reject_notice(mailbox=mailbox, parsed=parsed, now=now)
        return IngestResult(outcome=IntakeOutcome.REJECTED, detail="unknown sender rejected")
    customer = lookup.floating_customer(mailbox, now)
    contact = create_contact(
        customer=customer, name=parsed.from_name or parsed.from_address or "", now=now, email=parsed.from_address or ""
    )
    lookup.new_contact(contact)  # the sender's next message in a batch finds it
    return contact


def _reject_notice(*, mailbox: Mailbox, parsed: ParsedEmail, now: dt.datetime) -> None:
    sender = parsed.from_address or ""
    if not take_auto_reply(mailbox=mailbox, address=sender, now=now):
        return
    message_id = new_message_id(reference="aviso", domain=mailbox.address.rpartition("@")[2])
    raw = compose(
        from_name=mailbox.display_name,
        from_address=mailbox.address,
        to=[sender],
        subject=_("Your message was not registered"),
        message_id=message_id,
        now=now,
        body=_(
            "This address only registers requests from contacts of our customers. "
            "Please write from your registered address or contact your account manager."
        ),
        in_reply_to=parsed.message_id,
        references=[*parsed.references, *([parsed.message_id] if parsed.message_id else [])],
        automatic="auto-replied",
    )
    mail = queue_mail(
        workspace_id=mailbox.workspace_id,
        ticket_id=None,
        message_id=message_id,
        mail_from=mailbox.address,
        rcpt_to=[sender],
        raw=raw,
        automatic=True,
        now=now,
    )
    send_after_commit(send_outbound, mail)


@cached
def _email_type(workspace_id: int) -> TicketType | None:
    return TicketType.objects.filter(workspace_id=workspace_id, in_portal=True).order_by("order").first()


def _register(
    *,
    mailbox: Mailbox,
    actor: Actor,
    contact: Contact,
    parsed: ParsedEmail,
    body: str,
    uploads: list[Upload],
    now: dt.datetime,
    follows: str | None,
) -> Ticket:
    ticket_type = _email_type(mailbox.workspace_id)
    if ticket_type is None:
        raise actions.TicketError("the workspace has no request type for e-mail")
    description = body
    if follows:
        description = _("(Follows the closed request %(ref)s.)") % {"ref": follows} + "\n\n" + description
    return actions.create_ticket(
        actor=actor,
        requester=contact,
        ticket_type=ticket_type,
        subject=(parsed.subject or _("(no subject)"))[:250],
        description=description,
        channel=Channel.EMAIL,
        uploads=uploads,
        now=now,
        announce=False,
    )
