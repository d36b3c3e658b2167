"""Tell people about a ticket event, as the workspace's notification rules say (T7).

Called by the action that makes the event, in its transaction: each enabled rule for
the event resolves its audience to recipients, renders its template in the recipient's
language, and queues one outbox row (e-mail or WhatsApp) per recipient with an
idempotency key. Sending happens after commit, in the job runner.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import formats, translation

from radicado.action import cached
from radicado.channels.models import Mailbox
from radicado.customers.models import Contact
from radicado.notifications.models import Audience, NotificationChannel, NotificationRule
from radicado.notifications.rendering import render
from radicado.tickets import mail_out, whatsapp_out
from radicado.tickets.lookups import lookups
from radicado.tickets.models import Category, Channel, Ticket
from radicado.workspaces.access import Actor
from radicado.workspaces.models import Membership, Role

log = logging.getLogger(__name__)

# What notify reads of a ticket besides its configuration rows (see with_configuration). Few joins on
# purpose: PostgreSQL plans a nine-table join in ~3 ms, longer than the three lookups it would save.
TICKET_RELATIONS = ("workspace", "requester__user", "customer")
CONFIGURATION_FIELDS = ("state", "priority", "type")


def with_configuration(ticket: Ticket, memo: dict[Any, Any]) -> Ticket:
    """Attach the ticket's state, priority and type, read once per ``memo`` (e.g. one ANS sweep)."""
    for field in CONFIGURATION_FIELDS:
        key = (field, getattr(ticket, f"{field}_id"))
        if key not in memo:
            memo[key] = getattr(ticket, field)  # one primary-key lookup
        else:
            setattr(ticket, field, memo[key])
    return ticket


# Events whose e-mail is an automatic message (RFC 3834); agent and customer replies are not.
PERSONAL_EVENTS = frozenset({"reply.agent", "reply.customer"})
# Names an ANS escalation step may use for its recipients (besides e-mail addresses).
ESCALATION_NAMES = {
    "requester": Audience.REQUESTER,
    "key_users": Audience.KEY_USERS,
    "assignee": Audience.ASSIGNEE,
    "team": Audience.TEAM,
    "supervisor": Audience.SUPERVISORS,
    "supervisors": Audience.SUPERVISORS,
}


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    phone: str
    language: str  # "es" or "en"
    user_id: int | None
    contact_id: int | None
    staff: bool


def _lang(value: str | None) -> str:
    return "en" if (value or "").startswith("en") else "es"


def _contact(c: Contact) -> Recipient:
    user = c.user
    return Recipient(
        name=c.name,
        email=c.email,
        phone=c.phone_e164,
        language=_lang(user.language if user else None),
        user_id=c.user_id,
        contact_id=c.id,
        staff=False,
    )


def _member(m: Membership) -> Recipient:
    return Recipient(
        name=m.user.name or m.user.email,
        email=m.user.email,
        phone="",
        language=_lang(m.user.language),
        user_id=m.user_id,
        contact_id=None,
        staff=True,
    )


def recipients_for(ticket: Ticket, audience: str, escalation: Sequence[str] = ()) -> list[Recipient]:
    """The people an audience names for this ticket (active ones, in a stable order)."""
    if audience == Audience.REQUESTER:
        return [_contact(ticket.requester)]
    if audience == Audience.KEY_USERS:
        contacts = Contact.objects.select_related("user").filter(
            customer_id=ticket.customer_id,
            user__memberships__workspace_id=ticket.workspace_id,
            user__memberships__role=Role.KEY_USER,
        )
        return [_contact(c) for c in contacts.order_by("id")]
    members = Membership.objects.select_related("user").filter(workspace_id=ticket.workspace_id, user__is_active=True)
    if audience == Audience.ASSIGNEE:
        return [_member(ticket.assignee)] if ticket.assignee_id and ticket.assignee else []
    if audience == Audience.TEAM:
        if not ticket.team_id:
            return []
        return [_member(m) for m in members.filter(teams__id=ticket.team_id).order_by("id")]
    if audience == Audience.SUPERVISORS:
        return [_member(m) for m in members.filter(role=Role.SUPERVISOR).order_by("id")]
    if audience == Audience.ESCALATION:
        found: list[Recipient] = []
        for name in escalation:
            if "@" in name:
                found.append(Recipient(name, name.lower(), "", "es", None, None, True))
            elif name in ESCALATION_NAMES:
                found.extend(recipients_for(ticket, ESCALATION_NAMES[name]))
        return found
    return []


def _url(ticket: Ticket, *, staff: bool) -> str:
    try:
        path = reverse(
            "console:ticket" if staff else "portal:request",
            kwargs={"ws": ticket.workspace.slug, "number": ticket.number},
        )
    except NoReverseMatch:  # pragma: no cover - URLs are configured in every deployment
        return ""
    return settings.PUBLIC_URL.rstrip("/") + path


def local_time(ticket: Ticket, when: dt.datetime | None) -> str:
    if when is None:
        return ""
    return str(formats.date_format(when.astimezone(ZoneInfo(ticket.workspace.timezone)), "DATETIME_FORMAT"))


def ticket_context(ticket: Ticket, *, staff: bool) -> dict[str, Any]:
    """The template context of a ticket, in the active language (plain strings only)."""
    return {
        "ticket": {
            "reference": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.state.label,
            "priority": ticket.priority.label,
            "type": ticket.type.label,
            "customer": ticket.customer.name,
            "level": ticket.get_level_display(),
            "url": _url(ticket, staff=staff),
        },
        "requester": {"name": ticket.requester.name, "email": ticket.requester.email},
        "workspace": {"name": ticket.workspace.name},
    }


def render_rule(rule: NotificationRule, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a rule in ``language``, falling back to Spanish where English is empty."""
    english = language == "en" and rule.body_en
    subject = rule.subject_en if english and rule.subject_en else rule.subject_es
    body = rule.body_en if english else rule.body_es
    return render(subject, context), render(body, context)


def _localized(ticket: Ticket, value: Any) -> Any:
    """Datetimes in the context become local text in the active language."""
    if isinstance(value, dt.datetime):
        return local_time(ticket, value)
    if isinstance(value, Mapping):
        return {k: _localized(ticket, v) for k, v in value.items()}
    return value


def _is_actor(r: Recipient, actor: Actor | None) -> bool:
    if actor is None:
        return False
    return (r.user_id is not None and actor.user is not None and r.user_id == actor.user.id) or (
        r.contact_id is not None and r.contact_id == actor.contact_id
    )


def deliverable_rules(
    *, workspace_id: int, event: str, memo: dict[Any, Any] | None = None
) -> tuple[list[NotificationRule], Mailbox | None]:
    """The enabled rules for ``event`` that can be delivered, and the mailbox e-mail goes from.

    E-mail rules of a workspace without a mailbox are dropped (nothing to resolve or render).
    ``memo`` (one ANS sweep, a few seconds) keeps the answer per workspace and event.
    """
    key = ("rules", workspace_id, event)
    if memo is None:
        return _deliverable_rules(workspace_id, event)
    if key not in memo:
        memo[key] = _deliverable_rules(workspace_id, event)
    return memo[key]  # type: ignore[no-any-return]


@cached
def _deliverable_rules(workspace_id: int, event: str) -> tuple[list[NotificationRule], Mailbox | None]:
    rules = list(NotificationRule.objects.filter(workspace_id=workspace_id, event=event, enabled=True))
    mailbox: Mailbox | None = None
    if any(r.channel == NotificationChannel.EMAIL for r in rules):
        mailbox = mail_out.mailbox_of(workspace_id)
        if mailbox is None:
            rules = [r for r in rules if r.channel != NotificationChannel.EMAIL]
    return sorted(rules, key=lambda r: r.id), mailbox


def notify(
    *,
    ticket: Ticket,
    event: str,
    actor: Actor | None,
    now: dt.datetime,
    key: str,
    context: Mapping[str, Any] | None = None,
    escalation: Sequence[str] = (),
    memo: dict[Any, Any] | None = None,
) -> int:
    """Queue the notifications the workspace's rules ask for; return how many were queued.

    ``key`` names this occurrence of the event: with the rule and the recipient it makes
    the idempotency key of each outbox row, so repeating a call queues nothing new. Whoever caused the event is not told about it.
    """
    rules, mailbox = deliverable_rules(workspace_id=ticket.workspace_id, event=event, memo=memo)
    if not rules:
        return 0
    automatic = None if event in PERSONAL_EVENTS else "auto-generated"
    rate_limited = event == "ticket.registered" and ticket.channel == Channel.EMAIL
    if rate_limited:
        automatic = "auto-replied"  # the answer to the customer's own message (RFC 3834)
    seen: set[tuple[str, str]] = set()
    queued = 0
    for rule in rules:
        for person in recipients_for(ticket, rule.audience, escalation):
            address = person.email.lower() if rule.channel == NotificationChannel.EMAIL else person.phone
            told_anyway = event == "ticket.registered"  # the requester who registers gets the receipt
            if not address or (rule.channel, address) in seen or (_is_actor(person, actor) and not told_anyway):
                continue
            seen.add((rule.channel, address))
            with translation.override(person.language):
                ctx = {**ticket_context(ticket, staff=person.staff), **_localized(ticket, context or {})}
                ctx["recipient"] = {"name": person.name}
                subject, body = render_rule(rule, person.language, ctx)
            idempotency_key = f"{key}:{rule.id}:{address}"[:200]
            if rule.channel == NotificationChannel.EMAIL:
                sent: object = mail_out.queue_ticket_mail(
                    mailbox=mailbox,
                    ticket=ticket,
                    body=body,
                    now=now,
                    to=address,
                    subject=subject,
                    automatic=automatic,
                    rate_limited=rate_limited,
                    event=event,
                    idempotency_key=idempotency_key,
                )
            else:
                sent = whatsapp_out.queue_followup(
                    ticket=ticket, body=body, now=now, number=address, event=event, idempotency_key=idempotency_key
                )
            queued += sent is not None
    return queued


def announce_registration(
    *, ticket: Ticket, actor: Actor | None, now: dt.datetime, due: dt.datetime | EllipsisType | None = ...
) -> int:
    """The registration notice, with the first-response due time when the ANS sets one."""
    if due is ...:  # the caller did not say (it did not start the clocks itself)
        due = lookups().first_response_due(ticket)
    return notify(
        ticket=ticket,
        event="ticket.registered",
        actor=actor,
        now=now,
        key=f"t{ticket.id}:registered",
        context={"due": due},
    )


STATUS_EVENTS = {
    Category.RESOLVED: "ticket.resolved",
    Category.CLOSED: "ticket.closed",
    Category.WAITING: "info.requested",
}


def status_changed(*, ticket: Ticket, actor: Actor | None, now: dt.datetime, key: str) -> int:
    """Resolved, closed and waiting-on-customer have their own events; other moves are "status.changed"."""
    event = STATUS_EVENTS.get(Category(ticket.category), "status.changed")
    return notify(ticket=ticket, event=event, actor=actor, now=now, key=key)
