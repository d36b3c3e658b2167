"""The parser against real-world mail: the shared third-party corpus and CPython's own e-mail test messages.

Files are read where they lie and never copied into this repository (the shared corpus carries other projects'
licences and real people's addresses). A missing folder skips its tests.

Counts at the time of writing (``parse_email`` on every file):

- shared corpus, 216 files: 216 parsed, 0 unparseable; automatic 31 (delivery-report 21, precedence 7, list 3);
  bounces 14, 10 of them with the original Message-ID; with attachments 80; with HTML 49; with defects noted 35.
- CPython ``test_email/data/msg_*.txt``, 48 files: 47 parsed, 1 unparseable (``msg_19.txt``, a digest body
  without any header); automatic 7 (delivery-report 5, precedence 2); bounces 5, 2 with the original
  Message-ID; with attachments 22; with HTML 8; with defects noted 9.

The summary tests print the current counts in their assertion messages; run with ``-rA`` to see them.
"""

from __future__ import annotations

import email
import functools
from collections import Counter
from pathlib import Path

import pytest

from radicado.channels.email.automatic import AUTOMATIC_REASONS
from radicado.channels.email.parsing import ParsedEmail, UnparseableEmail, parse_email

REPO_ROOT = Path(__file__).resolve().parents[4]
SHARED_CORPUS = REPO_ROOT / ".." / "shared" / "corpora" / "email"
PYTHON_CORPUS = Path(email.__file__).parent.parent / "test" / "test_email" / "data"
_NOT_MESSAGES = frozenset({"README.md", "MANIFEST.tsv"})


def _shared_files() -> list[Path]:
    if not SHARED_CORPUS.is_dir():
        return []
    return sorted(p for p in SHARED_CORPUS.rglob("*") if p.is_file() and p.name not in _NOT_MESSAGES)


def _python_files() -> list[Path]:
    if not PYTHON_CORPUS.is_dir():
        return []
    return sorted(PYTHON_CORPUS.glob("msg_*.txt"))


SHARED_FILES = _shared_files()
PYTHON_FILES = _python_files()


@functools.cache
def outcome(path: Path) -> ParsedEmail | UnparseableEmail:
    """Parse one file once per test session; UnparseableEmail is returned, anything else propagates."""
    try:
        return parse_email(path.read_bytes())
    except UnparseableEmail as exc:
        return exc


def check_invariants(parsed: ParsedEmail) -> None:
    """The contract every consumer relies on, whatever the input looked like."""
    texts = [parsed.text, parsed.reply_text, parsed.subject, parsed.from_name, parsed.html or "", *parsed.defects]
    for value in texts:
        assert isinstance(value, str)
        value.encode("utf-8")  # no lone surrogates
        assert "\x00" not in value
    assert "\n" not in parsed.subject
    assert bool(parsed.reply_text.strip()) == bool(parsed.text.strip())
    for ident in [parsed.message_id or "x", *parsed.in_reply_to, *parsed.references, *parsed.bounced_message_ids]:
        assert ident and "<" not in ident and ">" not in ident and not any(ch.isspace() for ch in ident)
    for address in [parsed.from_address or "a@b", *parsed.to, *parsed.cc, parsed.reply_to or "a@b"]:
        assert "@" in address and address == address.lower()
    assert parsed.return_path is None or parsed.return_path == "" or "@" in parsed.return_path
    assert parsed.date is None or parsed.date.tzinfo is not None
    assert parsed.automatic is None or parsed.automatic in AUTOMATIC_REASONS
    assert not parsed.is_bounce or parsed.automatic is not None
    assert parsed.is_bounce or not parsed.bounced_message_ids
    for attachment in parsed.attachments:
        assert attachment.filename and attachment.filename not in (".", "..")
        assert "/" not in attachment.filename and "\\" not in attachment.filename
        assert isinstance(attachment.data, bytes)
        assert attachment.content_id is None or ("<" not in attachment.content_id and attachment.content_id)
    if parsed.html is not None:
        lowered = parsed.html.lower()
        assert "<script" not in lowered and "javascript:" not in lowered and " onerror=" not in lowered


def summarise(paths: list[Path]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        result = outcome(path)
        if isinstance(result, UnparseableEmail):
            counts["unparseable"] += 1
            continue
        counts["parsed"] += 1
        counts["automatic"] += result.automatic is not None
        if result.automatic:
            counts[f"automatic:{result.automatic}"] += 1
        counts["bounces"] += result.is_bounce
        counts["bounces with original id"] += bool(result.bounced_message_ids)
        counts["with attachments"] += bool(result.attachments)
        counts["html"] += result.html is not None
        counts["with defects"] += bool(result.defects)
    return counts


def describe(counts: Counter[str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(counts.items()))


@pytest.mark.parametrize("path", SHARED_FILES, ids=[str(p.relative_to(SHARED_CORPUS)) for p in SHARED_FILES])
def test_shared_corpus_message_parses_or_is_unparseable(path: Path) -> None:
    result = outcome(path)
    if isinstance(result, ParsedEmail):
        check_invariants(result)


@pytest.mark.parametrize("path", PYTHON_FILES, ids=[p.name for p in PYTHON_FILES])
def test_python_corpus_message_parses_or_is_unparseable(path: Path) -> None:
    result = outcome(path)
    if isinstance(result, ParsedEmail):
        check_invariants(result)


def test_shared_corpus_summary() -> None:
    if not SHARED_FILES:
        pytest.skip(f"no shared e-mail corpus at {SHARED_CORPUS}")
    counts = summarise(SHARED_FILES)
    summary = describe(counts)
    print(f"shared corpus: {summary}")  # noqa: T201 - shown with -rA; the numbers are the point of this test
    assert counts["parsed"] >= 0.95 * len(SHARED_FILES), summary
    assert counts["bounces"] >= 10, summary
    assert counts["bounces with original id"] >= 8, summary
    assert counts["automatic"] >= 25, summary
    assert counts["automatic:delivery-report"] >= 15, summary
    assert counts["automatic:precedence"] + counts["automatic:list"] >= 5, summary
    assert counts["with attachments"] >= 50, summary
    assert counts["html"] >= 20, summary


def test_python_corpus_summary() -> None:
    if not PYTHON_FILES:
        pytest.skip(f"no CPython e-mail test data at {PYTHON_CORPUS}")
    counts = summarise(PYTHON_FILES)
    summary = describe(counts)
    print(f"CPython test_email data: {summary}")  # noqa: T201 - shown with -rA
    assert counts["parsed"] >= 0.95 * len(PYTHON_FILES), summary
    assert counts["bounces"] >= 1, summary
    assert counts["automatic"] >= 1, summary
