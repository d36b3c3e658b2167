"""Parsing inbound e-mail into a plain, typed value: :func:`parse_email` and :func:`strip_quoted`.

Pure standard library plus ``nh3``; no Django and no other radicado app, so the inbound action, the IMAP poller,
the LMTP receiver, benchmarks and tests can all use it.

Decisions (see also the docstrings of :mod:`.charsets`, :mod:`.htmltext`, :mod:`.quoting`, :mod:`.automatic`):

- The MIME structure is parsed with ``email`` and a compat32-based policy that hands back raw header values;
  headers are then decoded here (charset fallbacks, RFC 2047, RFC 2231). ``email.policy.default`` parses every
  header into objects on each access: it is about seven times slower on a typical 14 KB message (1.9 ms against
  0.28 ms) and raises lazily on hostile headers. Its header registry is still the fallback for address headers
  that ``email.utils.getaddresses`` cannot read.
- ``text`` is the text/plain alternative when there is one with content, else the HTML converted to text. Inline
  text parts of a multipart/mixed (Apple Mail splits the body around inline images) are joined by blank lines.
- A forwarded message (message/rfc822) is kept whole as an attachment ("mensaje-reenviado.eml" unless it is
  named) and its text is appended to ``text`` under a "---------- Mensaje reenviado ----------" block, so an agent
  reads it without opening the file and ``strip_quoted`` treats it like an inline forward. Its own attachments
  stay inside the .eml. In a delivery report the attached message is the returned original: its Message-ID goes
  to ``bounced_message_ids`` and its text is not appended.
- A message that cannot be walked at all (a bug or a pathological structure) still yields a ParsedEmail whose
  text is the raw body decoded with the charset fallbacks, with a defect saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from .automatic import automatic_reason, is_daemon_sender, is_failure_subject
from .charsets import clean_text, collapse_whitespace, decode_bytes, decode_header_bytes, decode_words
from .htmltext import sanitize_html
from .mime import POLICY, MimeWalker, message_ids
from .quoting import strip_quoted

__all__ = ["ParsedAttachment", "ParsedEmail", "UnparseableEmail", "parse_email", "strip_quoted"]


class UnparseableEmail(ValueError):
    """The input is not an e-mail message at all: empty, binary, or without a single e-mail header field."""


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    """A file carried by a message: an attachment, an inline image, or an attached (forwarded) message."""

    filename: str
    """Safe base name (no directories), decoded from RFC 2047/2231; never empty (e.g. "adjunto.bin")."""
    content_type: str
    """Lower-case MIME type, e.g. "image/png"."""
    data: bytes
    """The decoded content (transfer encoding undone)."""
    content_id: str | None
    """Content-ID without "<>", the target of ``cid:`` references in the HTML body."""
    inline: bool
    """Shown inside the body (disposition inline, or a Content-ID without a disposition)."""


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """Everything the inbound channel needs from one message; all text is ``str`` safe to store as UTF-8."""

    message_id: str | None
    """Message-ID without "<>" and whitespace; None when absent or garbage."""
    in_reply_to: list[str]
    """In-Reply-To ids without "<>", in order."""
    references: list[str]
    """References ids without "<>", in order, without repeats."""
    subject: str
    """Decoded (RFC 2047, raw 8-bit), whitespace collapsed to single spaces; "" when absent."""
    from_address: str | None
    """Lower-case addr-spec of the first From mailbox (of Sender when From has none); None when unusable."""
    from_name: str
    """Decoded display name of that mailbox; "" when none."""
    to: list[str]
    """Lower-case addresses from every To field, in order, without repeats."""
    cc: list[str]
    """Lower-case addresses from every Cc field, in order, without repeats."""
    reply_to: str | None
    """Lower-case first Reply-To address, or None."""
    return_path: str | None
    """Lower-case Return-Path address; "" for the null path "<>" (a bounce or auto-reply); None when absent."""
    date: datetime | None
    """Date as an aware datetime ("-0000" read as UTC); None when absent or unreadable."""
    text: str
    """Readable body: the text/plain alternative, else HTML converted to text, plus forwarded messages' text."""
    reply_text: str
    """``text`` through :func:`strip_quoted`: without quoted history and signature; never "" when text is not."""
    html: str | None
    """The HTML body sanitised for display (see :mod:`.htmltext`); None when the message has no HTML part."""
    attachments: list[ParsedAttachment]
    """Every attachment, inline image and attached message, in MIME order."""
    automatic: str | None
    """Why no person wrote this (one of ``automatic.AUTOMATIC_REASONS``), or None: never auto-reply to it."""
    is_bounce: bool
    """A delivery failure report (a DSN with a failed action, or an obvious bounce from a mail system)."""
    bounced_message_ids: list[str]
    """For a bounce: the Message-IDs (without "<>") of the returned original message(s)."""
    defects: list[str]
    """Human-readable notes on what was broken and how it was repaired (for admins; English)."""
    bounced_recipients: list[str] = field(default_factory=list)
    """Addresses a delivery report says failed (Final-Recipient of "Action: failed"), lower-cased."""


# Field names that only e-mail carries: at least one must be present for the input to count as a message.
_MAIL_FIELDS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "sender",
        "reply-to",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "delivered-to",
        "in-reply-to",
        "references",
        "x-original-to",
        "resent-from",
        "resent-to",
        "dkim-signature",
        "envelope-to",
    }
)
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_OBSOLETE_FROM = re.compile(rb"From[ \t]*:")
_OBSOLETE_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")
_BOUNCE_BODY_ID = re.compile(r"^\s*Message-ID:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_DELAY_SUBJECT = re.compile(r"delay|retras|demora|warning|advertencia|aviso", re.IGNORECASE)


class _Headers(Mapping[str, list[str]]):
    """Header fields by lower-case name; values unfolded and decoded from raw bytes on first access."""

    def __init__(self, message: Message) -> None:
        self._message = message
        self._raw: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._raw.setdefault(name.strip().lower(), []).append(str(value))
        self._decoded: dict[str, list[str]] = {}
        self._charset: str | None = None

    def __getitem__(self, name: str) -> list[str]:
        if name not in self._decoded:
            decoded = []
            for value in self._raw[name]:
                if not value.isascii() and self._charset is None:
                    self._charset = _body_charset(self._message)
                text = decode_header_bytes(value, self._charset or None)
                decoded.append(_FOLDING.sub("", text).replace("\r", "").replace("\n", " ").strip())
            self._decoded[name] = decoded
        return self._decoded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None


def _body_charset(message: Message) -> str:
    """Return the first charset declared in the message (8-bit headers are usually in it), or ""."""
    for index, part in enumerate(message.walk()):
        if index > 10:
            break
        charset = _content_charset(part)
        if charset:
            return charset
    return ""


def _content_charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # a malformed parameter is no declaration
        return None


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one raw RFC 5322 message into a :class:`ParsedEmail`; raises only :class:`UnparseableEmail`.

    Leading whitespace and an mbox "From " line are ignored. Malformed messages are repaired as far as possible
    and every repair is listed in ``defects``; only input that is not e-mail at all (empty, binary, no header
    field of e-mail) raises :class:`UnparseableEmail`.
    """
    data = _message_bytes(raw)
    try:
        message = BytesParser(policy=POLICY).parsebytes(data)
        headers = _Headers(message)
    except Exception as exc:  # the parser is lenient; anything it raises means "not mail"
        raise UnparseableEmail(f"the e-mail parser failed: {type(exc).__name__}") from exc
    if not _MAIL_FIELDS.intersection(headers):
        raise UnparseableEmail("no e-mail header field (From, To, Subject, Date, Message-ID...) found")
    try:
        return _build(message, headers, data)
    except Exception as exc:  # the contract is "never raise for a message"; keep the body
        try:
            return _build_raw(headers, data, f"MIME structure unreadable ({type(exc).__name__}); raw body shown")
        except Exception as again:  # a bug in the header code itself
            raise UnparseableEmail(f"internal parser error: {type(again).__name__}") from again


def _message_bytes(raw: bytes) -> bytes:
    if isinstance(raw, bytearray | memoryview):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise UnparseableEmail(f"expected bytes, got {type(raw).__name__}")
    data = raw.lstrip(b" \t\r\n")
    if data.startswith(b"From ") and not _OBSOLETE_FROM.match(data):  # mbox envelope line, not "From  :"
        data = data.partition(b"\n")[2].lstrip(b"\r\n")
    if not data:
        raise UnparseableEmail("empty message")
    head_end = min((i for i in (data.find(b"\n\n"), data.find(b"\n\r\n")) if i >= 0), default=len(data))
    if data.count(b"\x00", 0, head_end) * 10 > head_end:  # a stray NUL is damage; many mean binary data
        raise UnparseableEmail("binary data in the header block")
    if not _HEADER_LINE.match(data):
        raise UnparseableEmail("the first line is not a header field")
    head = data[:head_end]
    if _OBSOLETE_NAME.search(head):
        # RFC 5322 section 4.5 allows "Subject  :"; the parser would take "From  :" for an mbox line and stop
        # reading headers at the first such field.
        data = _OBSOLETE_NAME.sub(rb"\1:", head) + data[head_end:]
    return data


def _build(message: Message, headers: _Headers, data: bytes) -> ParsedEmail:
    fields = _header_fields(headers)
    daemon = is_daemon_sender(fields.from_address, fields.from_name)
    walker = MimeWalker(returned_messages=daemon or message.get_content_type() == "multipart/report")
    walker.walk(message)
    shared = walker.shared
    text = walker.text()
    is_report = bool(shared.report_types or shared.dsn_actions)
    if shared.forwarded and not (is_report or daemon):
        text = "\n\n".join(chunk for chunk in (text, *shared.forwarded) if chunk.strip())
    if shared.dsn_actions:
        is_bounce = any(action.startswith("failed") for action in shared.dsn_actions)
    elif "delivery-status" in shared.report_types or "global-delivery-status" in shared.report_types:
        is_bounce = not _DELAY_SUBJECT.search(fields.subject)  # a report whose status part is unreadable
    elif daemon and not is_report:
        returned = bool(shared.returned_ids) or any(a.content_type in _RETURNED_TYPES for a in shared.attachments)
        is_bounce = is_failure_subject(fields.subject) or (returned and not _DELAY_SUBJECT.search(fields.subject))
    else:
        is_bounce = False
    bounced_ids: list[str] = []
    if is_bounce:
        candidates = shared.returned_ids or [m.group(1) for m in _BOUNCE_BODY_ID.finditer(text)]
        bounced_ids = [i for i in dict.fromkeys(candidates) if i != fields.message_id]
    html = sanitize_html("\n".join(walker.html_parts)).strip() if walker.html_parts else None
    return fields.finish(
        text=text,
        html=html,
        attachments=[
            ParsedAttachment(a.filename, a.content_type, a.data, a.content_id, a.inline) for a in shared.attachments
        ],
        automatic=automatic_reason(headers, is_report=is_report, daemon_sender=daemon, return_path=fields.return_path),
        is_bounce=is_bounce,
        bounced_message_ids=bounced_ids,
        bounced_recipients=list(dict.fromkeys(shared.failed_recipients)) if is_bounce else [],
        defects=fields.defects + shared.defects,
    )


_RETURNED_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"})


def _build_raw(headers: _Headers, data: bytes, defect: str) -> ParsedEmail:
    fields = _header_fields(headers)
    _, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    text, problem = decode_bytes(body, None)
    return fields.finish(
        text=text,
        html=None,
        attachments=[],
        automatic=automatic_reason(headers, is_report=False, daemon_sender=False, return_path=fields.return_path),
        is_bounce=False,
        bounced_message_ids=[],
        bounced_recipients=[],
        defects=[*fields.defects, defect, *([problem] if problem else [])],
    )


@dataclass
class _HeaderFields:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_address: str | None
    from_name: str
    to: list[str]
    cc: list[str]
    reply_to: str | None
    return_path: str | None
    date: datetime | None
    defects: list[str]

    def finish(
        self,
        *,
        text: str,
        html: str | None,
        attachments: list[ParsedAttachment],
        automatic: str | None,
        is_bounce: bool,
        bounced_message_ids: list[str],
        bounced_recipients: list[str],
        defects: list[str],
    ) -> ParsedEmail:
        return ParsedEmail(
            message_id=self.message_id,
            in_reply_to=self.in_reply_to,
            references=self.references,
            subject=self.subject,
            from_address=self.from_address,
            from_name=self.from_name,
            to=self.to,
            cc=self.cc,
            reply_to=self.reply_to,
            return_path=self.return_path,
            date=self.date,
            text=text,
            reply_text=strip_quoted(text),
            html=html,
            attachments=attachments,
            automatic=automatic,
            is_bounce=is_bounce,
            bounced_message_ids=bounced_message_ids,
            defects=defects,
            bounced_recipients=bounced_recipients,
        )


def _header_fields(headers: _Headers) -> _HeaderFields:
    defects: list[str] = []
    senders = _mailboxes(headers.get("from", []), "from")
    if not senders:
        senders = _mailboxes(headers.get("sender", []), "sender")
        if senders and "from" in headers:
            defects.append("From has no usable address; Sender used")
    reply_to = _mailboxes(headers.get("reply-to", []), "reply-to")
    ids = message_ids(headers.first("message-id") or "")
    return _HeaderFields(
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(" ".join(headers.get("in-reply-to", []))),
        references=message_ids(" ".join(headers.get("references", []))),
        subject=collapse_whitespace(decode_words(headers.first("subject") or "")),
        from_address=senders[0][1] if senders else None,
        from_name=senders[0][0] if senders else "",
        to=_unique(address for _, address in _mailboxes(headers.get("to", []), "to")),
        cc=_unique(address for _, address in _mailboxes(headers.get("cc", []), "cc")),
        reply_to=reply_to[0][1] if reply_to else None,
        return_path=_return_path(headers.first("return-path")),
        date=_date(headers.first("date"), defects),
        defects=defects,
    )


def _unique(addresses: Iterator[str] | list[str]) -> list[str]:
    return list(dict.fromkeys(addresses))


def _mailboxes(values: list[str], name: str) -> list[tuple[str, str]]:
    """Return (display name, lower-case address) pairs with a usable address, in order."""
    if not values:
        return []
    try:
        pairs = getaddresses([_ENCODED_RUN.sub(_quoted_words, value) for value in values])
    except Exception:  # fall through to the stricter parsers below
        pairs = []
    found = [(_display_name(n), a.strip().lower()) for n, a in pairs if _ADDRESS.fullmatch(a.strip())]
    if found or not any("@" in value for value in values):
        return found
    try:
        # policy.default's RFC 5322 parser copes with encoded words and commas that getaddresses splits on.
        header = email_policy.default.header_factory(name, " , ".join(values))
        addresses = getattr(header, "addresses", ())
        found = [
            (_display_name(a.display_name), a.addr_spec.lower())
            for a in addresses
            if _ADDRESS.fullmatch(a.addr_spec or "")
        ]
    except Exception:  # the header registry has raised assorted errors on hostile input over the years
        found = []
    if found:
        return found
    return [("", match.group(0).lower().strip(".")) for match in _ADDRESS.finditer(" ".join(values))]


# A run of encoded words in a display name. Non-compliant senders leave "," or "<" inside them, which
# getaddresses would take for address separators, so each run is decoded into a quoted string first.
_ENCODED_RUN = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=(?:[ \t]+=\?[^?\s]+\?[bBqQ]\?[^?]*\?=)*")


def _quoted_words(match: re.Match[str]) -> str:
    decoded = decode_words(match.group(0))
    if match.start() > 0 and match.string[match.start() - 1] == '"':  # already inside a quoted string
        return decoded.replace('"', "'").replace("\\", "/")
    return '"' + decoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _display_name(name: str) -> str:
    return collapse_whitespace(decode_words(name)).strip("\"' ")


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    if stripped in ("", "<>", "< >"):
        return ""
    match = _ADDRESS.search(stripped)
    return clean_text(match.group(0).lower()) if match else None


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # parsedate_to_datetime raises several types on junk
        defects.append(f"unreadable Date header {value[:60]!r}")
        return None
    if parsed.tzinfo is None:  # "-0000": UTC with no claim about the sender's zone (RFC 5322 section 3.3)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
