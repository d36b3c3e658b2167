"""Append one entry to a ticket's timeline (the audit): the only place TicketEvents are written."""

from __future__ import annotations

import datetime as dt

from radicado.action import insert
from radicado.tickets.models import PUBLIC_EVENT_KINDS, EventKind, Note, Reply, TicketEvent
from radicado.workspaces.access import Actor


def record_event(
    *,
    workspace_id: int,
    ticket_id: int,
    actor: Actor | None,
    kind: EventKind,
    now: dt.datetime,
    from_value: str = "",
    to_value: str = "",
    reply: Reply | None = None,
    note: Note | None = None,
    data: dict[str, object] | None = None,
) -> TicketEvent:
    """Write the event; ``actor`` None means Radicado itself (sweeps, automations)."""
    return insert(
        TicketEvent(
            workspace_id=workspace_id,
            ticket_id=ticket_id,
            actor=actor.user if actor else None,
            actor_name=actor.display_name if actor else "Radicado",
            kind=kind,
            from_value=from_value,
            to_value=to_value,
            is_public=kind in PUBLIC_EVENT_KINDS,
            reply=reply,
            note=note,
            data=data or {},
            created_at=now,
        )
    )
