"""Store inbound messages before anything else reads them: content-addressed, deduplicated."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from pathlib import Path

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
    name = _save_durably(f"mail/{workspace_id}/{digest[:2]}/{digest}.eml", raw)
    try:
        with transaction.atomic():
            row = RawMessage.objects.create(
                workspace_id=workspace_id, sha256=digest, size=len(raw), file=name, source=source, received_at=now
            )
    except IntegrityError:  # the same bytes arrived twice at once
        return RawMessage.objects.get(workspace_id=workspace_id, sha256=digest), False
    return row, True


def _save_durably(name: str, raw: bytes) -> str:
    """Put the bytes under ``name`` and on the disk before the row that points at them is committed.

    A committed row must never point at a file that a power cut emptied or lost. On a local disk the
    file is written under a temporary name, fsync'ed and renamed into place (whole or absent, never
    torn), and each directory that gained an entry (the file's, and any folder made for it) is fsync'ed.
    A file already there with the right size (content-addressed, e.g. left by an attempt that stopped
    before its row) is fsync'ed and kept. Remote storages keep their own promises.
    """
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(raw))
        return name
    if path.is_file() and path.stat().st_size == len(raw):
        _fsync(path)
        return name
    made, folder = [], path.parent
    while not folder.exists():
        made.append(folder)
        folder = folder.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        mode = getattr(default_storage, "file_permissions_mode", None)
        if mode is not None:
            tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    for folder in {path.parent, *(d.parent for d in made)}:
        _fsync(folder)
    return name


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
