"""Store inbound messages before anything else reads them: content-addressed, deduplicated."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from radicado.channels.models import RawMessage, RawStatus


def store_raw(*, workspace_id: int, raw: bytes, source: str, now: dt.datetime) -> tuple[RawMessage, bool]:
    """Write the bytes (once per content) and their row; return it and whether it is new.

    Commits on its own, before any parsing: whatever happens next, the message is kept.
    """
    digest = hashlib.sha256(raw).hexdigest()
    existing = RawMessage.objects.filter(workspace_id=workspace_id, sha256=digest).first()
    if existing is not None:
        return existing, False
    name = f"mail/{workspace_id}/{digest[:2]}/{digest}.eml"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(raw))
    try:
        with transaction.atomic():
            row = RawMessage.objects.create(
                workspace_id=workspace_id, sha256=digest, size=len(raw), file=name, source=source, received_at=now
            )
    except IntegrityError:  # the same bytes arrived twice at once
        return RawMessage.objects.get(workspace_id=workspace_id, sha256=digest), False
    return row, True


def read_raw(row: RawMessage) -> bytes:
    with default_storage.open(row.file, "rb") as fh:
        data: bytes = fh.read()
    return data


def mark(
    row: RawMessage,
    *,
    status: RawStatus,
    outcome: str,
    detail: str = "",
    ticket_id: int | None = None,
    message_id: str = "",
    from_address: str = "",
    subject: str = "",
) -> None:
    """Record what became of a raw message."""
    row.status, row.outcome, row.detail, row.ticket_id = status, outcome, detail[:5000], ticket_id
    row.message_id, row.from_address, row.subject = message_id[:500], from_address[:320], subject[:500]
    row.attempts += 1
    row.save(
        update_fields=["status", "outcome", "detail", "ticket", "message_id", "from_address", "subject", "attempts"]
    )
