"""Every message of the real-world corpus (and of CPython's e-mail tests) ends somewhere.

Each file becomes a ticket, a threaded reply, an ignored automatic message, or a
quarantined raw message: never a crash, never lost. The counts are reported in the
assertion message of the summary test (run with ``-rA`` to see them).
"""

from __future__ import annotations

import email
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, Cast
from radicado.channels.actions import create_mailbox
from radicado.channels.email.parsing import parse_email
from radicado.channels.models import RawMessage
from radicado.tickets.intake import ingest_email
from radicado.tickets.intake import routing as mail_in

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpora" / "email"
PYTHON_DATA = Path(email.__file__).parent.parent / "test" / "test_email" / "data"
OUTCOMES = {"created", "threaded", "ignored", "quarantined", "held", "rejected"}


def corpus_files() -> list[Path]:
    files = [p for p in sorted(CORPUS.rglob("*")) if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv")]
    files += sorted(PYTHON_DATA.glob("msg_*.txt")) if PYTHON_DATA.is_dir() else []
    return files


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared e-mail corpus not present")
def test_every_corpus_message_ends_as_ticket_reply_ignored_or_quarantined(cast: Cast) -> None:
    mailbox = create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="S", now=NOW)
    counts: Counter[str] = Counter()
    files = corpus_files()
    for path in files:
        result = ingest_email(mailbox=mailbox, raw=path.read_bytes(), source="file", now=NOW)
        assert result.outcome in OUTCOMES, (path.name, result)
        counts[result.outcome if result.detail != "duplicate" else "duplicate bytes"] += 1
    distinct = len({p.read_bytes() for p in files})
    assert RawMessage.objects.filter(workspace=cast.ws_a).count() == distinct  # every message kept
    assert RawMessage.objects.filter(workspace=cast.ws_a, status="received").count() == 0  # none left midway
    summary = f"{len(files)} files: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    assert counts["created"] >= len(files) // 3, summary
    assert counts["ignored"] >= 20, summary
    assert counts["quarantined"] <= len(files) // 20, summary


def test_mail_ingest_command_prints_one_json_line_per_file(cast: Cast, tmp_path: Path, settings: Any) -> None:
    ok = tmp_path / "ok.eml"
    ok.write_bytes(b"From: carol@example.com\nTo: s@x.example.com\nSubject: Hola\nMessage-ID: <k1@x>\n\nTexto\n")
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"\x00\x00\x00")
    create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="S", now=NOW)
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("mail", "ingest", "--workspace", "andes", str(ok), str(bad), str(tmp_path / "missing.eml"), stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["file"], line["outcome"]) for line in lines] == [
        (str(ok), "created"),
        (str(bad), "quarantined"),
        (str(tmp_path / "missing.eml"), "error"),
    ]
    assert lines[0]["ticket"].startswith("AND-")


def test_mail_ingest_command_keeps_file_order_across_batches(
    cast: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several batches (the helper process prepares all but the first): one line per file, in order."""
    from io import StringIO

    from django.core.management import call_command

    from radicado.web.management.commands import mail

    monkeypatch.setattr(mail, "INGEST_BATCH", 3)
    create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="S", now=NOW)
    files = []
    for n in range(8):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(
            f"From: carol@example.com\nTo: s@x.example.com\nSubject: Pedido {n}\nMessage-ID: <p{n}@x>\n\nTexto\n".encode()
        )
        files.append(str(path))
    files[4] = str(tmp_path / "missing.eml")
    files.append(files[0])  # the same bytes again, in the last batch
    parsed_here: list[bytes] = []
    monkeypatch.setattr(mail_in, "parse_email", lambda raw: parsed_here.append(raw) or parse_email(raw))
    out = StringIO()
    call_command("mail", "ingest", "--workspace", "andes", *files, stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["file"] for line in lines] == files
    assert len(parsed_here) == 3  # the first batch; the helper parsed the two others
    assert [line["outcome"] for line in lines] == ["created"] * 4 + ["error"] + ["created"] * 3 + ["ignored"]
    assert lines[8]["ticket"] == lines[0]["ticket"]
    subjects = RawMessage.objects.filter(workspace=cast.ws_a).order_by("id").values_list("subject", flat=True)
    assert list(subjects) == [f"Pedido {n}" for n in range(8) if n != 4]


def test_mail_command_refuses_an_unknown_workspace(db: Any) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="nope"):
        call_command("mail", "ingest", "--workspace", "nope", "x.eml")
