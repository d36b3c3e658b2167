"""Store inbound messages before anything else reads them: content-addressed, deduplicated."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

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


def store_many(
    *, workspace_id: int, messages: Sequence[tuple[bytes, dt.datetime]], source: str
) -> list[tuple[RawMessage, bool]]:
    """``store_raw`` for a batch: one lookup, the files flushed together, one INSERT, one commit.

    Returns (row, new) per message, in order; the same bytes twice in the batch give the same row,
    new only the first time.
    """
    digests = [hashlib.sha256(raw).hexdigest() for raw, _ in messages]
    existing = {r.sha256: r for r in RawMessage.objects.filter(workspace_id=workspace_id, sha256__in=set(digests))}
    fresh: dict[str, RawMessage] = {}
    files: list[tuple[str, bytes]] = []
    for (raw, now), digest in zip(messages, digests, strict=True):
        if digest in existing or digest in fresh:
            continue
        name = f"mail/{workspace_id}/{digest[:2]}/{digest}.eml"
        files.append((name, raw))
        fresh[digest] = RawMessage(
            workspace_id=workspace_id, sha256=digest, size=len(raw), file=name, source=source, received_at=now
        )
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
    """Put the bytes under ``name`` and on the disk before the row that points at them is committed.

    A committed row must never point at a file that a power cut emptied or lost. On a local disk the
    file is written under a temporary name, fsync'ed and renamed into place (whole or absent, never
    torn), and each directory that gained an entry (the file's, and any folder made for it) is fsync'ed.
    A file already there with the right size (content-addressed, e.g. left by an attempt that stopped
    before its row) is fsync'ed and kept. Remote storages keep their own promises.
    """
    return _save_all_durably([(name, raw)])[0]


def _save_all_durably(files: Sequence[tuple[str, bytes]]) -> list[str]:
    """``_save_durably`` for many files, their fsyncs issued together (the disk flushes them as a group)."""
    names: list[str] = []
    pending: list[tuple[Path, Path]] = []  # (temporary file, final path)
    synced: list[Path] = []  # files already in place, and folders that gained an entry
    try:
        for name, raw in files:
            try:
                path = Path(default_storage.path(name))
            except NotImplementedError:
                if not default_storage.exists(name):
                    name = default_storage.save(name, ContentFile(raw))
                names.append(name)
                continue
            names.append(name)
            if path.is_file() and path.stat().st_size == len(raw):
                synced.append(path)
                continue
            folder = path.parent
            while not folder.exists():
                synced.append(folder.parent)
                folder = folder.parent
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
            pending.append((tmp, path))
            with tmp.open("wb") as fh:
                fh.write(raw)
            mode = getattr(default_storage, "file_permissions_mode", None)
            if mode is not None:
                tmp.chmod(mode)
        _fsync_all([tmp for tmp, _ in pending])
        for tmp, path in pending:
            tmp.replace(path)
            synced.append(path.parent)
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    _fsync_all(list(dict.fromkeys(synced)))
    return names


def _fsync_all(paths: Sequence[Path]) -> None:
    if len(paths) <= 1:
        for path in paths:
            _fsync(path)
        return
    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:  # fsync releases the GIL
        list(pool.map(_fsync, paths))


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
