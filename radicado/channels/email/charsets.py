"""Turning the bytes of real-world mail into clean ``str``: charsets, RFC 2047 encoded words, header bytes.

Pure standard library; no Django. Every function here is total: bad input degrades to replacement characters and a
defect note, never to an exception, and never to a string holding lone surrogates or NUL characters (PostgreSQL
rejects NUL in text columns, and surrogates cannot be encoded as UTF-8).
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re

__all__ = [
    "clean_text",
    "collapse_whitespace",
    "decode_bytes",
    "decode_header_bytes",
    "decode_words",
    "lookup_charset",
]

# Labels that mail clients send but Python does not know, or knows under a narrower meaning. The targets follow
# the WHATWG Encoding Standard, which is what browsers (and so the senders' users) actually see: ISO-8859-1
# labels mean windows-1252, GB2312/GBK mean GB18030, EUC-KR/KS C 5601 mean windows-949.
_ALIASES = {
    "ansi_x3.4-1968": "ascii",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-windows-949": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "big5": "big5hkscs",
    "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "cp-850": "cp850",
}

# Labels that mean "no idea": go straight to the fallback chain without a misleading "unknown charset" note.
_UNKNOWN_LABELS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "none", "charset"})

# Python text codecs that are not charsets; a hostile label must not select them ("unicode_escape" can produce
# lone surrogates from plain ASCII, "idna"/"punycode" are for host names).
_NOT_CHARSETS = frozenset({"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined", "mbcs", "oem"})

# Multi-byte East Asian codecs: when strict decoding fails, the text is usually right except for a few bad
# sequences, so decoding with the declared codec and replacement beats guessing a Western charset.
_MULTIBYTE = frozenset(
    {
        "gb18030",
        "big5hkscs",
        "big5",
        "cp932",
        "cp949",
        "cp950",
        "euc_jp",
        "euc_jis_2004",
        "euc_kr",
        "shift_jis",
        "shift_jis_2004",
        "iso2022_jp",
        "iso2022_jp_ext",
        "iso2022_jp_2",
        "iso2022_kr",
        "hz",
        "johab",
    }
)

# Single-byte charsets whose label is often put on UTF-8 bytes by misconfigured senders.
_SINGLE_BYTE_SUSPECTS = frozenset({"cp1252", "iso8859-15", "iso8859-2", "cp1250", "cp1251", "koi8-r", "mac-roman"})

# At most this share of replacement characters is accepted from a lenient decode with a multi-byte codec.
_MAX_REPLACEMENT_SHARE = 0.05

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@functools.lru_cache(maxsize=512)
def lookup_charset(label: str | None) -> str | None:
    """Return the Python codec name for a MIME charset label, or None when the label is absent or unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if not name or name in _UNKNOWN_LABELS:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name.replace("-", "_") in _NOT_CHARSETS:
        return None
    try:
        b"".decode(info.name)  # rejects bytes-to-bytes codecs such as "base64" or "rot13"
    except LookupError:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode ``data`` declared as ``charset``; return ``(text, defect)`` where ``defect`` explains any repair.

    Order: the declared charset (strictly), then UTF-8, then UTF-8 with replacement when the bytes are mostly
    valid UTF-8, then windows-1252, then Latin-1 with replacement, which cannot fail. A multi-byte East Asian declaration that almost fits wins over the Western guesses, and 8-bit
    text declared in a single-byte charset that is valid UTF-8 is taken as UTF-8 (mislabelled UTF-8 is common,
    while Western text that happens to be valid UTF-8 is vanishingly rare). The result is passed through
    :func:`clean_text`.
    """
    if not data:
        return "", None
    codec = lookup_charset(charset)
    label = (charset or "").strip().lower()
    note: str | None = None
    if codec is not None:
        if codec in _SINGLE_BYTE_SUSPECTS and not data.isascii():
            try:
                return clean_text(data.decode("utf-8")), f"declared {label[:40]} but the bytes are utf-8"
            except UnicodeDecodeError:
                pass
        try:
            return clean_text(data.decode(codec)), None
        except UnicodeDecodeError:
            pass
        if codec == "cp1252":
            # A Latin-1 label with one of the five bytes windows-1252 leaves undefined: Latin-1 proper is right.
            return clean_text(data.decode("latin-1")), None
        note = f"bytes are not valid {label[:40]}"
    elif label and label not in _UNKNOWN_LABELS:
        note = f"unknown charset {label[:40]!r}"
    elif not data.isascii():
        note = "8-bit text without a charset"
    if codec != "utf-8":
        try:
            return clean_text(data.decode("utf-8")), f"{note}; decoded as utf-8" if note else None
        except UnicodeDecodeError:
            pass
    if codec in _MULTIBYTE:
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(1, int(len(text) * _MAX_REPLACEMENT_SHARE)):
            return clean_text(text), f"{note}; kept {label} with replacement characters"
    if _mostly_utf8(data):
        # UTF-8 with a few broken sequences (a truncated name, one stray byte): replacing those keeps the rest.
        text = data.decode("utf-8", errors="replace")
        return clean_text(text), f"{note or 'invalid utf-8'}; decoded as utf-8 with replacement characters"
    try:
        return clean_text(data.decode("cp1252")), f"{note or 'invalid utf-8'}; decoded as windows-1252"
    except UnicodeDecodeError:
        pass
    return clean_text(data.decode("latin-1", errors="replace")), f"{note or 'undecodable bytes'}; decoded as latin-1"


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SAMPLE_BYTES = 65536


def _mostly_utf8(data: bytes) -> bool:
    """Return whether valid multi-byte UTF-8 characters outnumber broken sequences at least two to one."""
    text = data[:_SAMPLE_BYTES].decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = len(_NON_ASCII.findall(text)) - broken
    return valid > 0 and valid >= 2 * broken


def clean_text(text: str) -> str:
    """Return ``text`` without NUL characters and with lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # errors="replace" turns each surrogate into "?"; U+FFFD says more clearly that something was lost.
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def collapse_whitespace(text: str) -> str:
    """Return ``text`` on one line: runs of whitespace become one space, control characters are dropped."""
    return _WHITESPACE.sub(" ", _HEADER_CONTROL.sub(" ", text)).strip()


def decode_header_bytes(value: str, fallback_charset: str | None = None) -> str:
    """Return a raw header value (as stored by the parser, 8-bit bytes as surrogate escapes) as clean text.

    Raw 8-bit header bytes are allowed as UTF-8 by RFC 6532; older clients send their local charset, usually the
    one they declare for the body, which the caller passes as ``fallback_charset``; failing that, the
    :func:`decode_bytes` fallbacks apply.
    """
    if value.isascii():
        return value
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return clean_text(value)  # already decoded text (not from the byte parser)
    try:
        return clean_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return decode_bytes(raw, fallback_charset)[0]


# charset may carry an RFC 2231 language suffix ("utf-8*es"); the text may (against the RFC) contain spaces.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")


def decode_words(text: str) -> str:
    """Return ``text`` with RFC 2047 encoded words decoded.

    Whitespace between adjacent encoded words is dropped (RFC 2047 section 6.2), and adjacent words in the same
    charset are decoded together so a multi-byte character split across two words survives. A malformed word is
    kept literally.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    position = 0

    def flush() -> None:
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_charset)[0])
            pending.clear()

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        charset, encoding, payload = match.group(1), match.group(2).lower(), match.group(3)
        decoded = _decode_word_payload(encoding, payload)
        if decoded is None:
            flush()
            out.append(gap + match.group(0))
            position = match.end()
            continue
        if gap and (not pending or gap.strip()):
            flush()
            out.append(gap)
        elif pending and charset.lower() != pending_charset:
            flush()
        pending.append(decoded)
        pending_charset = charset.lower()
        position = match.end()
    flush()
    out.append(text[position:])
    return clean_text("".join(out))


def _decode_word_payload(encoding: str, payload: str) -> bytes | None:
    try:
        raw = payload.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if encoding == "b":
            raw = raw.replace(b" ", b"")
            return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None
