"""The conversation on a ticket: public replies and internal notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.translation import gettext as _

from radicado.action import action, insert, update
from radicado.sla import clocks as sla_clocks
from radicado.tickets import notify
from radicado.tickets.actions.guards import (
    BODY_MAX,
    _clean_text,
    _ensure_open,
    _ensure_terms,
    _record,
    _require_staff,
    _same_workspace,
)
from radicado.tickets.actions.states import _auto_move
from radicado.tickets.attachments import Upload, store_uploads, validate_uploads
from radicado.tickets.models import (
    EventKind,
    Note,
    Reply,
    Ticket,
)
from radicado.workspaces.access import Actor


@action
def add_reply(*, actor: Actor, ticket: Ticket, body: str, now: dt.datetime, uploads: Sequence[Upload] = ()) -> Reply:
    """Add a public reply by a customer or an agent; raise TicketClosed on a closed ticket."""
    _same_workspace(actor, ticket)
    _ensure_open(ticket)
    if not actor.is_customer:
        _ensure_terms(ticket)
    body = _clean_text(body, field=_("Message"), max_length=BODY_MAX)
    validate_uploads(uploads)
    reply = insert(
        Reply(
            workspace_id=ticket.workspace_id,
            ticket=ticket,
            author=actor.user,
            author_name=actor.display_name,
            by_customer=actor.is_customer,
            body=body,
            created_at=now,
        )
    )
    store_uploads(ticket=ticket, uploads=uploads, uploaded_by=actor.user, now=now, reply=reply)
    event = _record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.REPLIED,
        now=now,
        reply=reply,
        data={"by_customer": actor.is_customer},
    )
    if actor.is_customer:
        # An automatic move waits for the customer's silence; a reply cancels it.
        update(ticket, updated_at=now, auto_action_at=None)
    else:
        update(ticket, updated_at=now)
    if not actor.is_customer:
        sla_clocks.on_agent_reply(ticket_id=ticket.id, now=now)
    notify.notify(
        ticket=ticket,
        event="reply.customer" if actor.is_customer else "reply.agent",
        actor=actor,
        now=now,
        key=f"ev{event.id}",
        context={"reply": {"author": actor.display_name, "body": body}},
    )
    _auto_move(ticket=ticket, actor=actor, now=now)
    return reply


@action
def add_note(*, actor: Actor, ticket: Ticket, body: str, now: dt.datetime, uploads: Sequence[Upload] = ()) -> Note:
    """Add an internal note (staff only; never shown to the customer)."""
    _require_staff(actor)
    _same_workspace(actor, ticket)
    body = _clean_text(body, field=_("Note"), max_length=BODY_MAX)
    validate_uploads(uploads)
    note = insert(
        Note(
            workspace_id=ticket.workspace_id,
            ticket=ticket,
            author=actor.user,
            author_name=actor.display_name,
            body=body,
            created_at=now,
        )
    )
    store_uploads(ticket=ticket, uploads=uploads, uploaded_by=actor.user, now=now, note=note)
    _record(ticket=ticket, actor=actor, kind=EventKind.NOTED, now=now, note=note)
    return note
