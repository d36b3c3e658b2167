"""Checks every ticket action shares: who may act, on what, with which text; and the timeline entry."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from radicado.tickets import terms
from radicado.tickets.actions.errors import NotPermitted, TicketClosed, TicketError
from radicado.tickets.events import record_event
from radicado.tickets.models import (
    TERMINAL_CATEGORIES,
    EventKind,
    Note,
    Reply,
    Ticket,
    TicketEvent,
)
from radicado.workspaces.access import Actor

SUBJECT_MAX = 250
BODY_MAX = 100_000


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise NotPermitted(_("Only support staff can do this."))


def _same_workspace(actor: Actor, *objs: object) -> None:
    for obj in objs:
        if obj is not None and getattr(obj, "workspace_id", None) != actor.workspace.id:
            raise NotPermitted(_("That item belongs to another workspace."))


def _staff_edit(actor: Actor, ticket: Ticket, *objs: object) -> None:
    """The guard of every field change: staff only, same workspace, ticket not closed."""
    _require_staff(actor)
    _same_workspace(actor, ticket, *objs)
    _ensure_open(ticket)


def _clean_text(value: str, *, field: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise TicketError(_("%(field)s cannot be empty.") % {"field": field})
    if len(value) > max_length:
        raise TicketError(
            _("%(field)s is too long (at most %(max)d characters).") % {"field": field, "max": max_length}
        )
    return value


def _record(
    *,
    ticket: Ticket,
    actor: Actor | None,
    kind: EventKind,
    now: dt.datetime,
    from_value: str = "",
    to_value: str = "",
    reply: Reply | None = None,
    note: Note | None = None,
    data: dict[str, object] | None = None,
) -> TicketEvent:
    return record_event(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        actor=actor,
        kind=kind,
        now=now,
        from_value=from_value,
        to_value=to_value,
        reply=reply,
        note=note,
        data=data,
    )


def _ensure_terms(ticket: Ticket) -> None:
    try:
        terms.ensure_terms_accepted(ticket)
    except terms.TermsError as exc:
        raise TicketError(str(exc)) from exc


def _ensure_open(ticket: Ticket) -> None:
    if ticket.category in TERMINAL_CATEGORIES:
        raise TicketClosed(
            _("Request %(ref)s is closed. Please register a new request about it.") % {"ref": ticket.reference}
        )
