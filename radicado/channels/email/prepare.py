"""The part of taking in mail that needs no database: digest, durable file, parse (ADR 0011).

Pure (no Django): ``prepare_batch`` runs in a helper process while the intake process routes the
batch before (``Preparer``), so a stream of batches uses the machine's second core. The intake
process then only looks up and inserts the raw rows: the files are already whole on the disk.

``write_durably`` is also what the raw store uses to put files on a local disk, in either process.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .parsing import ParsedEmail, UnparseableEmail, parse_email

__all__ = ["Prepared", "Preparer", "prepare_batch", "raw_name", "write_durably"]

log = logging.getLogger(__name__)

RESULT_TIMEOUT_S = 120.0  # a batch (at most 32 MB) that takes longer than this to prepare means a stuck helper


def raw_name(workspace_id: int, digest: str) -> str:
    """Where the raw store keeps a message, relative to the storage root: content-addressed."""
    return f"mail/{workspace_id}/{digest[:2]}/{digest}.eml"


@dataclass(frozen=True, slots=True)
class Prepared:
    """One message of a batch: its digest and what parsing made of it. Its file is on the disk."""

    digest: str
    parsed: ParsedEmail | UnparseableEmail


def prepare_batch(*, root: str, workspace_id: int, raws: Sequence[bytes], mode: int | None) -> list[Prepared]:
    """Write the batch's files under ``root`` (durably, see ``write_durably``), then parse each message."""
    digests = [hashlib.sha256(raw).hexdigest() for raw in raws]
    unique = dict(zip(digests, raws, strict=True))
    write_durably([(Path(root) / raw_name(workspace_id, d), raw) for d, raw in unique.items()], mode=mode)
    out: list[Prepared] = []
    for digest, raw in zip(digests, raws, strict=True):
        try:
            parsed: ParsedEmail | UnparseableEmail = parse_email(raw)
        except UnparseableEmail as exc:
            parsed = exc
        out.append(Prepared(digest=digest, parsed=parsed))
    return out


def write_durably(files: Sequence[tuple[Path, bytes]], *, mode: int | None) -> None:
    """Put each file on the disk, whole or absent, before a row that points at it is committed.

    A committed row must never point at a file that a power cut emptied or lost. Each file is
    written under a temporary name, fsync'ed and renamed into place (never torn), and each folder
    that gained an entry (the file's, and any folder made for it) is fsync'ed. A file already there
    with the right size (content-addressed, e.g. left by an attempt that stopped before its row) is
    fsync'ed and kept. The fsyncs of a batch are issued together: the disk flushes them as a group.
    """
    pending: list[tuple[Path, Path]] = []  # (temporary file, final path)
    synced: list[Path] = []  # files already in place, and folders that gained an entry
    try:
        for path, raw in files:
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


class Preparer:
    """A helper process that prepares the next batches while the caller routes the current one.

    ``submit`` hands a batch over and returns at once; ``result`` gives its ``Prepared`` list, or
    None if the helper could not do it (it died, or it could not start): the caller then does the
    work itself, as without a helper. The process is spawned (not forked: the caller may hold
    database connections and threads) on the first ``submit`` and stopped by ``close``.
    """

    def __init__(self, *, root: str, workspace_id: int, mode: int | None) -> None:
        self.root, self.workspace_id, self.mode = root, workspace_id, mode
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def submit(self, raws: Sequence[bytes]) -> Future[list[Prepared]] | None:
        if self._broken:
            return None
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            return self._pool.submit(
                prepare_batch, root=self.root, workspace_id=self.workspace_id, raws=list(raws), mode=self.mode
            )
        except Exception:  # broken pool, no process allowed here (a daemonic worker), out of resources
            log.warning("the mail preparing helper is unavailable; batches are prepared in-process", exc_info=True)
            self._broken = True
            return None

    def result(self, future: Future[list[Prepared]] | None) -> list[Prepared] | None:
        if future is None:
            return None
        try:
            return future.result(timeout=RESULT_TIMEOUT_S)
        except TimeoutError:  # alive but stuck (a disk that does not answer): not worth waiting for
            log.warning("the mail preparing helper is stuck; it is stopped and batches are prepared in-process")
            self._abandon()
            return None
        except Exception as exc:  # whatever it was, the caller can still do the work itself
            log.warning("the mail preparing helper failed; the batch is prepared in-process", exc_info=True)
            self._broken = isinstance(exc, BrokenProcessPool | OSError)
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _abandon(self) -> None:
        self._broken = True
        if self._pool is not None:
            # No public way to stop a pool's running worker before Python 3.14 (terminate_workers).
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.kill()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Preparer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
