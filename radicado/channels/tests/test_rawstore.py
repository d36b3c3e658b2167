"""The raw store: bytes on disk (fsync'ed, never torn) before their row is committed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, use_tmp_storage
from radicado.channels import rawstore
from radicado.channels.email import prepare
from radicado.channels.models import RawMessage
from radicado.workspaces.actions import create_workspace

RAW = b"From: ana@example.com\r\nSubject: hola\r\n\r\ncuerpo\r\n"


@pytest.fixture
def ws_id(db: Any, settings: Any, tmp_path: Path) -> int:
    use_tmp_storage(settings, tmp_path)
    return create_workspace(slug="w", name="W", ticket_prefix="W", timezone="America/Bogota", now=NOW).id


def test_the_file_and_its_new_folders_are_flushed_before_the_row_exists(
    ws_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append((os.readlink(f"/proc/self/fd/{fd}"), RawMessage.objects.count()))
        real_fsync(fd)

    monkeypatch.setattr(prepare.os, "fsync", fsync)
    row, new = rawstore.store_raw(workspace_id=ws_id, raw=RAW, source="imap", now=NOW)
    assert new and rawstore.read_raw(row) == RAW
    path = tmp_path / "files" / row.file
    # The file (under its temporary name), the folder that got its entry, and the folders made for it.
    assert {p for p, _ in flushed} >= {str(path.parent), str(path.parent.parent), str(path.parent.parent.parent)}
    assert any(p.endswith(".tmp") for p, _ in flushed)
    assert all(rows == 0 for _, rows in flushed)  # all before the row
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_torn_file_from_an_interrupted_attempt_is_written_again(ws_id: int, tmp_path: Path) -> None:
    row, _ = rawstore.store_raw(workspace_id=ws_id, raw=RAW, source="imap", now=NOW)
    path = tmp_path / "files" / row.file
    row.delete()
    path.write_bytes(RAW[:10])  # a power cut left the file short, and no row
    again, new = rawstore.store_raw(workspace_id=ws_id, raw=RAW, source="imap", now=NOW)
    assert new and again.file == row.file and path.read_bytes() == RAW


def test_a_whole_file_from_an_interrupted_attempt_is_kept(ws_id: int, tmp_path: Path) -> None:
    row, _ = rawstore.store_raw(workspace_id=ws_id, raw=RAW, source="imap", now=NOW)
    path = tmp_path / "files" / row.file
    row.delete()
    inode = path.stat().st_ino
    again, new = rawstore.store_raw(workspace_id=ws_id, raw=RAW, source="imap", now=NOW)
    assert new and again.file == row.file and path.stat().st_ino == inode and path.read_bytes() == RAW
