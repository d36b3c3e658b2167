"""Habeas data (Ley 1581 de 2012): export everything about a person, and anonymise them.

A *person* is identified in one workspace by an e-mail: the workspace's contacts with that address and,
if one of them signs in (or the address belongs to a member of the workspace), their user. Nothing of
another workspace is read or written. See docs/subsystems/habeas-data.md.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from radicado.action import action, update
from radicado.customers.models import Consent, Contact
from radicado.errors import UserError
from radicado.tickets.models import (
    Attachment,
    Note,
    Reply,
    Survey,
    TermsAcceptance,
    Ticket,
    TicketEvent,
)
from radicado.workspaces.actions import audit
from radicado.workspaces.models import AuditEntry, Membership, User, Workspace


class PersonNotFound(UserError):
    """No contact or member of this workspace has that e-mail."""

    status = 404


@dataclass(frozen=True)
class Person:
    workspace: Workspace
    email: str
    contacts: list[Contact]
    user: User | None


def find_person(*, workspace: Workspace, email: str) -> Person:
    """The workspace's contacts with this e-mail and their user (or the member with it); else PersonNotFound."""
    email = email.strip().lower()
    if not email:
        raise PersonNotFound(_("Write an e-mail address."))
    contacts = list(
        Contact.objects.filter(workspace_id=workspace.id, email__iexact=email)
        .select_related("customer", "user")
        .order_by("id")
    )
    user = next((c.user for c in contacts if c.user is not None), None)
    if user is None:
        membership = (
            Membership.objects.filter(workspace_id=workspace.id, user__email=email).select_related("user").first()
        )
        user = membership.user if membership else None
    if not contacts and user is None:
        raise PersonNotFound(_("No contact or member of this workspace has that e-mail."))
    return Person(workspace=workspace, email=email, contacts=contacts, user=user)


def _tickets(person: Person) -> list[Ticket]:
    return list(
        Ticket.objects.filter(workspace_id=person.workspace.id, requester__in=person.contacts)
        .select_related("state", "customer", "requester")
        .order_by("number")
    )


def _replies(person: Person, tickets: list[Ticket]) -> list[Reply]:
    """The person's own replies: written by their user, or by the customer without a user on their tickets."""
    mine = Q(author_id=person.user.pk) if person.user is not None else Q(pk__in=[])
    unsigned = Q(ticket__in=tickets, by_customer=True, author__isnull=True)
    return list(
        Reply.objects.filter(Q(workspace_id=person.workspace.id) & (mine | unsigned))
        .select_related("ticket")
        .order_by("created_at", "id")
    )


def _attachments(person: Person, tickets: list[Ticket], replies: list[Reply]) -> list[Attachment]:
    """Files the person sent: on their replies, on their tickets' opening, or uploaded by their user.

    Internal notes' files are the support team's, never part of the export.
    """
    opening = Q(ticket__in=tickets, reply__isnull=True, note__isnull=True)
    uploaded = Q(uploaded_by_id=person.user.pk) if person.user is not None else Q(pk__in=[])
    return list(
        Attachment.objects.filter(workspace_id=person.workspace.id, note__isnull=True)
        .filter(opening | Q(reply__in=replies) | uploaded)
        .select_related("ticket")
        .order_by("id")
    )


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@action
def export_person(*, workspace: Workspace, email: str, actor: User | None, now: dt.datetime) -> bytes:
    """A zip with ``datos.json`` (profile, consents, tickets, replies, attachments' metadata) and the files.

    Audited as ``person.exported`` (who took a copy of whose data, and when).
    """
    person = find_person(workspace=workspace, email=email)
    tickets = _tickets(person)
    replies = _replies(person, tickets)
    attachments = _attachments(person, tickets, replies)
    consents = Consent.objects.filter(workspace_id=workspace.id, contact__in=person.contacts).order_by("given_at")
    user = person.user
    data: dict[str, Any] = {
        "ley": "Ley 1581 de 2012",
        "workspace": workspace.slug,
        "email": person.email,
        "generated_at": now.isoformat(),
        "contacts": [
            {
                "id": c.id,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "customer": c.customer.name,
                "created_at": _time(c.created_at),
            }
            for c in person.contacts
        ],
        "user": None
        if user is None
        else {
            "email": user.email,
            "name": user.name,
            "phone": user.phone,
            "language": user.language,
            "is_active": user.is_active,
            "date_joined": _time(user.date_joined),
            "last_login": _time(user.last_login),
        },
        "consents": [
            {
                "contact_id": c.contact_id,
                "given_at": _time(c.given_at),
                "notice_version": c.notice_version,
                "channel": c.channel,
                "recorded_at": _time(c.recorded_at),
            }
            for c in consents
        ],
        "tickets": [
            {
                "reference": t.reference,
                "subject": t.subject,
                "description": t.description,
                "status": t.state.code,
                "channel": t.channel,
                "customer": t.customer.name,
                "requester": t.requester.name,
                "created_at": _time(t.created_at),
                "closed_at": _time(t.closed_at),
            }
            for t in tickets
        ],
        "replies": [
            {"ticket": r.ticket.reference, "author": r.author_name, "body": r.body, "created_at": _time(r.created_at)}
            for r in replies
        ],
        "attachments": [],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for a in attachments:
            name = f"adjuntos/{a.id}-{a.filename}"
            data["attachments"].append(
                {
                    "ticket": a.ticket.reference,
                    "reply_id": a.reply_id,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "created_at": _time(a.created_at),
                    "file": name,
                }
            )
            with a.file.open("rb") as handle:
                archive.writestr(name, handle.read())
        archive.writestr("datos.json", json.dumps(data, ensure_ascii=False, indent=2))
    audit(
        workspace=workspace,
        actor=actor,
        action="person.exported",
        target=person.email,
        now=now,
        data={"tickets": len(tickets), "replies": len(replies), "attachments": len(attachments)},
    )
    return buffer.getvalue()


# --- anonymisation ----------------------------------------------------------------------------------


def _terms(person: Person) -> list[str]:
    """What identifies the person in free text: names, e-mails, phones (as typed, E.164, national)."""
    found: set[str] = {person.email}
    for c in person.contacts:
        found.update({c.name, c.email, c.phone, c.phone_e164})
        if c.phone_e164.startswith("+57"):
            found.add(c.phone_e164[3:])
    if person.user is not None:
        found.update({person.user.name, person.user.email, person.user.phone})
    return sorted((t.strip() for t in found if t and len(t.strip()) >= 3), key=len, reverse=True)


class _Scrubber:
    def __init__(self, terms: Iterable[str], name: str, email: str) -> None:
        self.replacements = [
            (re.compile(r"(?<!\w)" + re.escape(t) + r"(?!\w)", re.IGNORECASE), email if "@" in t else name)
            for t in terms
        ]

    def text(self, value: str, limit: int | None = None) -> str:
        for pattern, replacement in self.replacements:
            value = pattern.sub(replacement, value)
        return value[:limit] if limit else value

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value


@action
def anonymise_person(*, workspace: Workspace, email: str, actor: User | None, now: dt.datetime) -> str:
    """Replace the person's name, e-mail and phone everywhere in this workspace; keep tickets and history.

    The contacts become "Persona anonimizada 7f3a" <anon-7f3a@invalid>; their user is disabled (and
    anonymised unless they are a member of another workspace, where only this membership ends); every
    occurrence of the name, e-mail or phone in their tickets, replies, notes, timeline, terms acceptances,
    surveys and the audit is replaced. Returns the pseudonym. Audited as ``person.anonymised``.
    """
    person = find_person(workspace=workspace, email=email)
    tag = secrets.token_hex(3)
    name, address = f"Persona anonimizada {tag}", f"anon-{tag}@invalid"
    scrub = _Scrubber(_terms(person), name, address)
    tickets = _tickets(person)
    for contact in person.contacts:
        update(contact, name=name, email=address, phone="", phone_e164="")
    user = person.user
    if user is not None:
        elsewhere = Membership.objects.filter(user=user).exclude(workspace_id=workspace.id).exists()
        Membership.objects.filter(user=user, workspace_id=workspace.id).update(is_active=False)
        if not elsewhere:
            user.set_unusable_password()
            update(user, name=name, email=address, phone="", is_active=False, password=user.password)
    for t in tickets:
        update(t, subject=scrub.text(t.subject, 250), description=scrub.text(t.description))
    ticket_ids = [t.id for t in tickets]
    by_user = Q(author_id=user.pk) if user is not None else Q(pk__in=[])
    for reply in Reply.objects.filter(Q(ticket_id__in=ticket_ids) | (Q(workspace_id=workspace.id) & by_user)):
        author = name if (user is not None and reply.author_id == user.pk) else scrub.text(reply.author_name, 200)
        update(reply, author_name=author, body=scrub.text(reply.body))
    for note in Note.objects.filter(ticket_id__in=ticket_ids):
        update(note, author_name=scrub.text(note.author_name, 200), body=scrub.text(note.body))
    for survey in Survey.objects.filter(ticket_id__in=ticket_ids):
        update(survey, comment=scrub.text(survey.comment))
    for acceptance in TermsAcceptance.objects.filter(
        Q(workspace_id=workspace.id) & (Q(contact__in=person.contacts) | (Q(user=user) if user else Q(pk__in=[])))
    ):
        update(acceptance, name=name)
    # The timeline stays (its rows are history and TicketEvent refuses save()); only the words that name the
    # person change, with a queryset update: the one sanctioned edit of an event (habeas data).
    events = TicketEvent.objects.filter(
        Q(ticket_id__in=ticket_ids) | (Q(workspace_id=workspace.id, actor=user) if user else Q(pk__in=[]))
    )
    for event in events:
        TicketEvent.objects.filter(id=event.id).update(
            actor_name=name if (user is not None and event.actor_id == user.pk) else scrub.text(event.actor_name, 200),
            from_value=scrub.text(event.from_value, 200),
            to_value=scrub.text(event.to_value, 200),
            data=scrub.json(event.data),
        )
    for entry in AuditEntry.objects.filter(workspace_id=workspace.id):
        target, data = scrub.text(entry.target, 200), scrub.json(entry.data)
        if target != entry.target or data != entry.data:
            AuditEntry.objects.filter(id=entry.id).update(target=target, data=data)
    audit(
        workspace=workspace,
        actor=actor,
        action="person.anonymised",
        target=address,
        now=now,
        data={
            "contacts": [c.id for c in person.contacts],
            "user_disabled": user is not None,
            "tickets": [t.reference for t in tickets],
        },
    )
    return name
