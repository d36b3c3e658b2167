"""Reads of the channels for interfaces: the outbox of a workspace (e-mail and WhatsApp in one list).

Every read is scoped by ``workspace_id``; nothing here loads a row of another workspace.
A page is two queries (one per table), whatever the size of the outbox: each table is read
newest first from a keyset cursor, through its ``(workspace, …, created_at, id)`` index, and the
two slices are merged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from radicado.channels.models import OutboundMail, OutboundStatus, WhatsAppMessage, WhatsAppStatus

EMAIL = "email"
WHATSAPP = "whatsapp"
CHANNELS = {EMAIL: _("E-mail"), WHATSAPP: _("WhatsApp")}
# Status filter → stored statuses per channel (a WhatsApp message delivered or read was sent).
STATUS_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    OutboundStatus.PENDING: {EMAIL: (OutboundStatus.PENDING,), WHATSAPP: (WhatsAppStatus.PENDING,)},
    OutboundStatus.SENT: {
        EMAIL: (OutboundStatus.SENT,),
        WHATSAPP: (WhatsAppStatus.SENT, WhatsAppStatus.DELIVERED, WhatsAppStatus.READ),
    },
    OutboundStatus.FAILED: {EMAIL: (OutboundStatus.FAILED,), WHATSAPP: (WhatsAppStatus.FAILED,)},
}
STATUS_LABELS = {status.value: status.label for status in (*OutboundStatus, *WhatsAppStatus)}
RETRYABLE = frozenset({OutboundStatus.PENDING, OutboundStatus.FAILED})
# Ties on created_at are broken by channel (this rank, descending) and then id (descending).
_RANK = {EMAIL: 0, WHATSAPP: 1}


@dataclass(frozen=True)
class OutboxRow:
    channel: str
    id: int
    recipient: str
    event: str
    ticket_number: int | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @property
    def channel_label(self) -> str:
        return str(CHANNELS[self.channel])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE

    @property
    def cursor(self) -> str:
        return f"{self.created_at.isoformat()}|{self.channel}|{self.id}"

    def _key(self) -> tuple[dt.datetime, int, int]:
        return (self.created_at, _RANK[self.channel], self.id)


@dataclass(frozen=True)
class OutboxPage:
    rows: list[OutboxRow]
    next_cursor: str  # empty on the last page


def _parse_cursor(cursor: str) -> tuple[dt.datetime, str, int] | None:
    try:
        at, channel, row_id = cursor.split("|")
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        return None
    if channel not in _RANK or not row_id.isdigit() or when.tzinfo is None:
        return None
    return when, channel, int(row_id)


def _older_than(channel: str, cursor: tuple[dt.datetime, str, int] | None) -> Q:
    """Rows of ``channel`` that come after ``cursor`` in the order (created_at, channel, id) descending."""
    if cursor is None:
        return Q()
    at, cursor_channel, cursor_id = cursor
    if _RANK[channel] < _RANK[cursor_channel]:
        return Q(created_at__lte=at)
    if _RANK[channel] > _RANK[cursor_channel]:
        return Q(created_at__lt=at)
    return Q(created_at__lt=at) | Q(created_at=at, id__lt=cursor_id)


def _mail_rows(workspace_id: int, statuses: tuple[str, ...] | None, where: Q, limit: int) -> list[OutboxRow]:
    qs = OutboundMail.objects.filter(where, workspace_id=workspace_id)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    fields = (
        "id", "rcpt_to", "event", "ticket__number", "status", "attempts",
        "next_attempt_at", "last_error", "created_at", "sent_at",
    )  # fmt: skip
    return [
        OutboxRow(
            channel=EMAIL,
            id=r["id"],
            recipient=", ".join(str(a) for a in r["rcpt_to"]) if isinstance(r["rcpt_to"], list) else str(r["rcpt_to"]),
            event=r["event"],
            ticket_number=r["ticket__number"],
            status=r["status"],
            attempts=r["attempts"],
            next_attempt_at=r["next_attempt_at"] if r["status"] == OutboundStatus.PENDING else None,
            last_error=r["last_error"],
            created_at=r["created_at"],
            sent_at=r["sent_at"],
        )
        for r in _values(qs, fields, limit)
    ]


def _whatsapp_rows(workspace_id: int, statuses: tuple[str, ...] | None, where: Q, limit: int) -> list[OutboxRow]:
    qs = WhatsAppMessage.objects.filter(where, workspace_id=workspace_id, inbound=False)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    fields = (
        "id", "number", "event", "ticket__number", "status", "attempts",
        "next_attempt_at", "last_error", "created_at", "status_at",
    )  # fmt: skip
    return [
        OutboxRow(
            channel=WHATSAPP,
            id=r["id"],
            recipient=r["number"],
            event=r["event"],
            ticket_number=r["ticket__number"],
            status=r["status"],
            attempts=r["attempts"],
            next_attempt_at=r["next_attempt_at"] if r["status"] == WhatsAppStatus.PENDING else None,
            last_error=r["last_error"],
            created_at=r["created_at"],
            sent_at=r["status_at"] if r["status"] not in RETRYABLE else None,
        )
        for r in _values(qs, fields, limit)
    ]


def _values(qs: Any, fields: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    return list(qs.order_by("-created_at", "-id").values(*fields)[:limit])


def outbox_page(
    *, workspace_id: int, status: str = "", channel: str = "", cursor: str = "", limit: int = 50
) -> OutboxPage:
    """One page of the workspace's outgoing e-mail and WhatsApp messages, newest first.

    ``status`` is pending, sent or failed (anything else: all); ``channel`` is email or whatsapp
    (anything else: both); ``cursor`` is a row's ``cursor`` (the page starts after it).
    """
    after = _parse_cursor(cursor)
    group = STATUS_GROUPS.get(status)
    wanted = (channel,) if channel in CHANNELS else (EMAIL, WHATSAPP)
    rows: list[OutboxRow] = []
    if EMAIL in wanted:
        rows += _mail_rows(workspace_id, group[EMAIL] if group else None, _older_than(EMAIL, after), limit + 1)
    if WHATSAPP in wanted:
        rows += _whatsapp_rows(
            workspace_id, group[WHATSAPP] if group else None, _older_than(WHATSAPP, after), limit + 1
        )
    rows.sort(key=OutboxRow._key, reverse=True)
    page = rows[:limit]
    return OutboxPage(rows=page, next_cursor=page[-1].cursor if len(rows) > limit else "")
