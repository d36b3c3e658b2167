"""Outbound messages read back as written, by the stdlib's strict parser and by our own."""

from __future__ import annotations

import datetime as dt
import random
from email import message_from_bytes
from email.errors import HeaderParseError
from email.policy import Compat32
from email.policy import default as default_policy

import pytest

from radicado.channels.email import compose as compose_module
from radicado.channels.email.compose import compose
from radicado.channels.email.parsing import parse_email

NOW = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.UTC)
BODY = (
    "Hola Ana María,\n\nRegistramos su solicitud. Le responderemos antes del martes 24 de noviembre de 2026 a "
    "las 10:30 a. m. (hora de Bogotá), según el ANS de su contrato de soporte Oro.\n"
    "From the team\n.\nGracias — Mesa de servicio\n"
)


def _compose(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "from_name": "Mesa de Servicio Ñandú, S.A.",
        "from_address": "soporte@andes.example.com",
        "to": ["ana@cliente.example.com"],
        "subject": "[AND-000123] Re: No puedo ingresar al portal de facturación electrónica desde ayer en la tarde",
        "body": BODY,
        "message_id": "radicado.AND-000123.0123456789abcdef@andes.example.com",
        "now": NOW,
        "in_reply_to": "cliente-1@cliente.example.com",
        "references": ["cliente-1@cliente.example.com", "radicado.AND-000123.aaaa@andes.example.com"],
        "automatic": "auto-replied",
    }
    fields.update(overrides)
    return compose(**fields)  # type: ignore[arg-type]


def test_every_header_and_the_body_read_back_exactly() -> None:
    raw = _compose()
    msg = message_from_bytes(raw, policy=default_policy)
    assert msg["From"].addresses[0].display_name == "Mesa de Servicio Ñandú, S.A."
    assert msg["From"].addresses[0].addr_spec == "soporte@andes.example.com"
    assert msg["To"] == "ana@cliente.example.com"
    assert msg["Subject"] == (
        "[AND-000123] Re: No puedo ingresar al portal de facturación electrónica desde ayer en la tarde"
    )
    assert msg["Message-ID"] == "<radicado.AND-000123.0123456789abcdef@andes.example.com>"
    assert msg["In-Reply-To"] == "<cliente-1@cliente.example.com>"
    assert msg["References"].split() == [
        "<cliente-1@cliente.example.com>",
        "<radicado.AND-000123.aaaa@andes.example.com>",
    ]
    assert (msg["Auto-Submitted"], msg["Precedence"], msg["X-Auto-Response-Suppress"]) == (
        "auto-replied",
        "auto_reply",
        "All",
    )
    assert msg["Date"].datetime == NOW
    assert msg.get_content() == BODY
    assert not msg.defects and not any(part.defects for part in msg.walk())


def test_the_message_is_seven_bit_with_short_lines_and_a_readable_ticket_tag() -> None:
    raw = _compose()
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\n")) <= 78
    assert b"Subject: [AND-000123] " in raw  # filters and people can see the tag without decoding


def test_our_own_parser_reads_it_as_a_customer_reply_would_quote_it() -> None:
    parsed = parse_email(_compose())
    assert parsed.subject.startswith("[AND-000123] Re: No puedo ingresar")
    assert parsed.from_address == "soporte@andes.example.com" and parsed.message_id.startswith("radicado.AND-000123")
    assert parsed.automatic  # our acknowledgements are automatic mail to any RFC 3834 reader, ourselves included
    assert "Ana María" in parsed.text


def test_line_breaks_in_header_text_cannot_add_headers() -> None:
    raw = _compose(subject="Hola\r\nBcc: intruso@example.com", from_name="Soporte\nX-Evil: 1", automatic=None)
    msg = message_from_bytes(raw, policy=default_policy)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Hola Bcc: intruso@example.com"
    assert msg["Auto-Submitted"] is None and msg["Precedence"] is None


def test_ascii_subjects_and_names_stay_plain() -> None:
    raw = _compose(subject="[AND-000001] Printer", from_name="Support", automatic="auto-generated")
    assert b"Subject: [AND-000001] Printer\n" in raw and b"From: Support <soporte@andes.example.com>\n" in raw
    assert b"Precedence: bulk\n" in raw


def test_the_quick_header_folding_writes_what_compat32_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose skips compat32's Header round trip for short one-line ASCII headers: byte-for-byte the same."""
    quick, slow = compose_module._QuickFold(), Compat32()
    values = [
        "1.0",
        "<a@b>",
        "x" * 66,  # "Subject: " + 66 = 75
        "x" * 69,  # 78: the limit
        "x" * 70,  # 79: folded (or not) by compat32 itself
        "word " * 20 + "end",
        "tab\there",
        " leading",
        "trailing ",
        "two  spaces",
        "=?utf-8?q?Mar=C3=ADa?= <m@example.com>",
        "María",
        "line\nbreak",
        "vertical\x0btab",
        "file\x1cseparator",
        "delete\x7f",
        "",
    ]
    rng = random.Random(5)
    alphabet = 'ab =?_<>@.,;:"()[]\t\x0b\x0c\x1c\x1d\x1e\x7f\r\n' + "x" * 10
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(2000)]
    for value in values:
        try:
            expected = slow.fold_binary("Subject", value)
        except HeaderParseError:
            expected = None
        try:
            got = quick.fold_binary("Subject", value)
        except HeaderParseError:
            got = None
        assert got == expected, repr(value)
    for overrides in [
        {},
        {"subject": "Short", "from_name": "Soporte", "automatic": None},
        {"subject": "[AND-000001] " + "palabra " * 12, "references": [f"r{n}@example.com" for n in range(30)]},
        {"to": ["a@example.com", "b@example.com"], "in_reply_to": None, "references": None},
    ]:
        fast = _compose(**overrides)
        monkeypatch.setattr(compose_module, "_QUICK_FOLD", Compat32())
        assert _compose(**overrides) == fast
        monkeypatch.undo()
