"""Store inbound messages before anything else reads them: content-addressed, deduplicated."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from radicado.action import action
from radicado.channels.email.prepare import raw_name, write_durably
from radicado.channels.models import RawMessage, RawStatus


@action
def store_raw(*, workspace_id: int, raw: bytes, source: str, now: dt.datetime) -> tuple[RawMessage, bool]:
    """Write the bytes (once per content) and their row; return it and whether it is new.

    Commits on its own, before any parsing: whatever happens next, the message is kept.
    """
    digest = hashlib.sha256(raw).hexdigest()
    existing = RawMessage.objects.filter(workspace_id=workspace_id, sha256=digest).first()
    if existing is not None:
        return existing, False
    name = _save_durably(raw_name(workspace_id, digest), raw)
    try:
        with transaction.atomic():
            row = RawMessage.objects.create(
                workspace_id=workspace_id, sha256=digest, size=len(raw), file=name, source=source, received_at=now
            )
    except IntegrityError:  # the same bytes arrived twice at once
        return RawMessage.objects.get(workspace_id=workspace_id, sha256=digest), False
    return row, True


@action
def store_many(
    *,
    workspace_id: int,
    messages: Sequence[tuple[bytes, dt.datetime]],
    source: str,
    written: Sequence[str] | None = None,
) -> list[tuple[RawMessage, bool]]:
    """``store_raw`` for a batch: one lookup, the files flushed together, one INSERT, one commit.

    Returns (row, new) per message, in order; the same bytes twice in the batch give the same row,
    new only the first time. ``written``: the messages' digests, their files already made durable
    under ``raw_name`` in ``local_root()`` (by ``prepare.prepare_batch``, in a helper process).
    """
    digests = [hashlib.sha256(raw).hexdigest() for raw, _ in messages] if written is None else list(written)
    existing = {r.sha256: r for r in RawMessage.objects.filter(workspace_id=workspace_id, sha256__in=set(digests))}
    fresh: dict[str, RawMessage] = {}
    files: list[tuple[str, bytes]] = []
    for (raw, now), digest in zip(messages, digests, strict=True):
        if digest in existing or digest in fresh:
            continue
        name = raw_name(workspace_id, digest)
        if written is None:
            files.append((name, raw))
        fresh[digest] = RawMessage(
            workspace_id=workspace_id, sha256=digest, size=len(raw), file=name, source=source, received_at=now
        )
    if written is None:
        for row, name in zip(fresh.values(), _save_all_durably(files), strict=True):
            row.file = name
    try:
        with transaction.atomic():
            RawMessage.objects.bulk_create(list(fresh.values()))
    except IntegrityError:  # some of the same bytes arrived at once through another door: one by one
        return [store_raw(workspace_id=workspace_id, raw=raw, source=source, now=now) for raw, now in messages]
    out: list[tuple[RawMessage, bool]] = []
    handed: set[str] = set()
    for digest in digests:
        if digest in existing:
            out.append((existing[digest], False))
        else:
            out.append((fresh[digest], digest not in handed))
            handed.add(digest)
    return out


def _save_durably(name: str, raw: bytes) -> str:
    """Put the bytes under ``name`` and on the disk before the row that points at them is committed."""
    return _save_all_durably([(name, raw)])[0]


def _save_all_durably(files: Sequence[tuple[str, bytes]]) -> list[str]:
    """``_save_durably`` for many files, flushed together; on a local disk, ``prepare.write_durably``.

    Remote storages keep their own promises.
    """
    names: list[str] = []
    local: list[tuple[Path, bytes]] = []
    for name, raw in files:
        try:
            local.append((Path(default_storage.path(name)), raw))
        except NotImplementedError:
            if not default_storage.exists(name):
                name = default_storage.save(name, ContentFile(raw))
        names.append(name)
    write_durably(local, mode=file_mode())
    return names


def local_root() -> str | None:
    """The folder of the raw store on a local disk (where a helper process can write), if it is one."""
    try:
        return default_storage.path("")
    except NotImplementedError:
        return None


def file_mode() -> int | None:
    mode: int | None = getattr(default_storage, "file_permissions_mode", None)
    return mode


def read_raw(row: RawMessage) -> bytes:
    with default_storage.open(row.file, "rb") as fh:
        data: bytes = fh.read()
    return data


OUTCOME_FIELDS = ["status", "outcome", "detail", "ticket", "message_id", "from_address", "subject", "attempts"]


def save_outcomes(rows: Sequence[RawMessage]) -> None:
    """Write the outcomes ``set_outcome`` recorded on many rows: one statement, executed once per row.

    Django's ``bulk_update`` builds a CASE per field and row, which costs more Python than the rows.
    """
    if not rows:
        return
    qn = connection.ops.quote_name
    column = {f.name: f.column for f in RawMessage._meta.concrete_fields if f.column}  # ticket -> ticket_id
    columns = [column[f] for f in OUTCOME_FIELDS]
    sql = (
        f"UPDATE {qn(RawMessage._meta.db_table)} SET "  # noqa: S608 (names from the model, values bound)
        + ", ".join(f"{qn(c)} = %s" for c in columns)
        + f" WHERE {qn('id')} = %s"
    )
    values = [
        [str(r.status), r.outcome, r.detail, r.ticket_id, r.message_id, r.from_address, r.subject, r.attempts, r.id]
        for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def set_outcome(
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
    """Record on ``row`` what became of it; save ``OUTCOME_FIELDS`` (one message) or ``save_outcomes`` (a batch)."""
    row.status, row.outcome, row.detail, row.ticket_id = status, outcome, detail[:5000], ticket_id
    row.message_id, row.from_address, row.subject = message_id[:500], from_address[:320], subject[:500]
    row.attempts += 1
