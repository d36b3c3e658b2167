"""Walking the MIME tree of a parsed message: body text and HTML, attachments, delivery-status parts.

Pure standard library; no Django. Used by :mod:`radicado.channels.email.parsing`; the walker records what it had
to repair in ``defects`` and never raises for a malformed part.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser, Parser
from email.policy import Compat32
from email.utils import collapse_rfc2231_value

from .charsets import clean_text, collapse_whitespace, decode_bytes, decode_header_bytes, decode_words
from .htmltext import html_to_text
from .quoting import decode_flowed

__all__ = ["POLICY", "Attachment", "MimeWalker", "message_ids", "safe_filename"]


class _RawHeaderPolicy(Compat32):
    """compat32, but header values come back exactly as they were in the message (8-bit bytes as surrogates).

    compat32 would wrap 8-bit values in ``email.header.Header`` objects that decode them as ASCII with
    replacement; keeping the raw value lets this package decode them with its own charset fallbacks.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


POLICY = _RawHeaderPolicy()

MAX_DEPTH = 20
"""Deeper MIME nesting is not walked: the part is kept as an opaque attachment (guards against recursion bombs)."""

_MAX_FORWARD_DEPTH = 3
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_BASE64_INVALID = re.compile(rb"[^A-Za-z0-9+/=\s]")
_BASE64_ALPHABET = re.compile(rb"[A-Za-z0-9+/=\r\n]+")
_UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+-]{1,40})", re.IGNORECASE)
_GUESSED_BOUNDARY = re.compile(r"^--(\S{1,200}?)[ \t\r]*$", re.MULTILINE)
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(10)} | {f"lpt{n}" for n in range(10)}
)
_MAX_FILENAME_BYTES = 200

_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADERS_TYPES = frozenset({"text/rfc822-headers", "message/global-headers", "message/rfc822-headers"})

_EXTENSIONS = {
    "application/json": "json",
    "application/msword": "doc",
    "application/pdf": "pdf",
    "application/pgp-signature": "asc",
    "application/pkcs7-signature": "p7s",
    "application/x-pkcs7-signature": "p7s",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/xml": "xml",
    "application/zip": "zip",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "image/bmp": "bmp",
    "image/gif": "gif",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
    "image/svg+xml": "svg",
    "image/tiff": "tif",
    "image/webp": "webp",
    "message/delivery-status": "txt",
    "message/global-delivery-status": "txt",
    "message/global-headers": "txt",
    "message/rfc822-headers": "txt",
    "message/disposition-notification": "txt",
    "message/feedback-report": "txt",
    "message/global": "eml",
    "message/news": "eml",
    "message/rfc822": "eml",
    "text/calendar": "ics",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "text/rfc822-headers": "txt",
    "text/vcard": "vcf",
    "text/x-vcard": "vcf",
    "text/xml": "xml",
    "video/mp4": "mp4",
}
_STEMS = {
    "message/rfc822": "mensaje-reenviado",
    "message/global": "mensaje-reenviado",
    "message/news": "mensaje-reenviado",
    "message/delivery-status": "estado-entrega",
    "message/global-delivery-status": "estado-entrega",
    "text/rfc822-headers": "encabezados",
    "message/global-headers": "encabezados",
    "message/rfc822-headers": "encabezados",
    "message/disposition-notification": "acuse-de-recibo",
    "message/feedback-report": "informe-de-abuso",
    "text/calendar": "invitacion",
    "application/pgp-signature": "firma",
    "application/pkcs7-signature": "smime",
    "application/x-pkcs7-signature": "smime",
    "image": "imagen",
}

_DEFECT_TEXT = {
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter",
    "StartBoundaryNotFoundDefect": "multipart boundary not found in the body",
    "CloseBoundaryNotFoundDefect": "closing multipart boundary missing (truncated message?)",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation line",
    "MisplacedEnvelopeHeaderDefect": "misplaced envelope 'From ' line among the headers",
    "MissingHeaderBodySeparatorDefect": "a header line without a colon; the rest was read as body",
    "MultipartInvariantViolationDefect": "multipart content type on a part that is not multipart",
    "InvalidMultipartContentTransferEncodingDefect": "multipart part with a transfer encoding other than 7bit/8bit/binary",
}


def message_ids(value: str) -> list[str]:
    """Return the message ids in a Message-ID / In-Reply-To / References value: without "<>", in order, unique.

    Folding whitespace inside an id is removed. When no bracketed id is present (a common client bug), bare
    tokens holding an "@" are accepted. Ids that are empty, longer than 998 characters or hold control
    characters are dropped.
    """
    found = [match.group(1) for match in _ANGLE_ID.finditer(value)]
    if not found:
        found = [token for token in re.split(r"[\s,]+", value) if "@" in token]
    ids: list[str] = []
    for candidate in found:
        ident = "".join(candidate.split()).strip("<>")
        if ident and len(ident) <= 998 and ident.isprintable() and ident not in ids:
            ids.append(clean_text(ident))
    return ids


def safe_filename(name: str | None, content_type: str) -> str:
    """Return a file name safe to store and offer for download, derived from ``name`` or from the content type.

    Directory parts and characters that are unsafe on common file systems are removed, Windows device names are
    prefixed with "_", and the name is shortened to 200 UTF-8 bytes keeping the extension. A missing or empty name
    becomes a generic Spanish name by type ("imagen.png", "mensaje-reenviado.eml", "adjunto.bin"...).
    """
    cleaned = ""
    if name:
        cleaned = name.replace("\\", "/").rsplit("/", 1)[-1]
        cleaned = collapse_whitespace(_UNSAFE_FILENAME.sub("_", cleaned)).strip(" .")
    if not cleaned.strip("_"):
        return _generated_name(content_type)
    if _EXTENSIONS.get(content_type) == "eml" and not cleaned.lower().endswith(".eml"):
        cleaned += ".eml"  # so that a download opens in a mail program
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    if stem.lower() in _WINDOWS_RESERVED:
        cleaned = f"_{cleaned}"
    if len(cleaned.encode("utf-8")) > _MAX_FILENAME_BYTES:
        suffix = f".{extension[:20]}" if dot else ""
        budget = _MAX_FILENAME_BYTES - len(suffix.encode("utf-8"))
        cleaned = cleaned.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(" .") + suffix
    return cleaned


def _generated_name(content_type: str) -> str:
    maintype = content_type.partition("/")[0]
    stem = _STEMS.get(content_type) or _STEMS.get(maintype) or "adjunto"
    return f"{stem}.{_EXTENSIONS.get(content_type, 'bin')}"


@dataclass
class Attachment:
    """A leaf part kept as a file (the walker's mutable twin of ``ParsedAttachment``)."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None
    inline: bool


@dataclass
class _Shared:
    """What every branch of one walk adds to: attachments, repairs, bounce evidence, forwarded texts."""

    returned_messages: bool
    defects: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    report_types: list[str] = field(default_factory=list)
    returned_ids: list[str] = field(default_factory=list)
    dsn_actions: list[str] = field(default_factory=list)
    failed_recipients: list[str] = field(default_factory=list)
    # Parsed parameters by (id(part), header): compat32 re-parses a header on every get_param call.
    params: dict[tuple[int, str], dict[str, str]] = field(default_factory=dict)


class MimeWalker:
    """Collects the readable body of a message: text segments (plain, or HTML to convert) and HTML sources.

    ``returned_messages`` says the message is a delivery report: then attached messages are the returned
    originals (their Message-IDs are collected) rather than forwards (whose text is appended to the body).
    """

    def __init__(self, *, returned_messages: bool, forward_depth: int = 0, shared: _Shared | None = None) -> None:
        self.shared = shared or _Shared(returned_messages=returned_messages)
        self.forward_depth = forward_depth
        self.segments: list[tuple[bool, str]] = []  # (is_html, content)
        self.html_parts: list[str] = []

    def fork(self) -> MimeWalker:
        """Return a walker for one branch of a multipart/alternative, sharing everything but the body."""
        return MimeWalker(
            returned_messages=self.shared.returned_messages, forward_depth=self.forward_depth, shared=self.shared
        )

    def param(self, part: Message, name: str, header: str = "content-type") -> str | None:
        """Return a decoded parameter of ``header`` (RFC 2231 and 8-bit values handled), or None."""
        key = (id(part), header)
        params = self.shared.params.get(key)
        if params is None:
            fallback = self.param(part, "charset") if header != "content-type" else None
            params = self.shared.params[key] = _read_params(part, header, fallback)
        return params.get(name)

    def filename(self, part: Message) -> str | None:
        """Return the part's decoded file name (Content-Disposition filename, else Content-Type name), or None."""
        name = self.param(part, "filename", "content-disposition") or self.param(part, "name")
        return decode_words(name) if name else None

    def defect(self, note: str) -> None:
        if note not in self.shared.defects and len(self.shared.defects) < 50:
            self.shared.defects.append(note)

    def walk(self, part: Message, depth: int = 0) -> None:
        """Add ``part`` and its descendants to the body, the attachments and the bounce evidence."""
        content_type = _content_type(part)
        for problem in part.defects:
            name = type(problem).__name__
            self.defect(f"{content_type}: {_DEFECT_TEXT.get(name, name)}")
        if depth > MAX_DEPTH:
            self.defect(f"{content_type}: MIME nesting deeper than {MAX_DEPTH} levels kept as an attachment")
            self._attach(part, content_type, _raw_payload(part))
            return
        if content_type in _MESSAGE_TYPES:
            self._message(part, content_type)
        elif content_type in _STATUS_TYPES:
            self._delivery_status(part, content_type)
        elif content_type in _HEADERS_TYPES:
            self._returned_headers(part, content_type)
        elif content_type.startswith("message/"):
            # message/partial, message/external-body...: nothing to read, but nothing to lose either.
            self._attach(part, content_type, _raw_payload(part), disposition="attachment")
        elif part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if content_type == "multipart/report":
                report_type = (self.param(part, "report-type") or "").lower()
                self.shared.report_types.append(report_type)
                if report_type in ("delivery-status", "global-delivery-status"):
                    self.shared.returned_messages = True
            if content_type == "multipart/alternative":
                self._alternative(children, depth)
            else:
                for child in children:
                    self.walk(child, depth + 1)
        elif content_type.startswith("multipart/"):
            self._broken_multipart(part, content_type, depth)
        else:
            self._leaf(part, content_type)

    def _alternative(self, children: list[Message], depth: int) -> None:
        branches = []
        for child in children:
            branch = self.fork()
            branch.walk(child, depth + 1)
            branches.append(branch)
        readable = [branch for branch in branches if any(content.strip() for _, content in branch.segments)]
        plain = [branch for branch in readable if any(not is_html for is_html, _ in branch.segments)]
        if plain:
            self.segments.extend(plain[0].segments)
        elif readable:
            self.segments.extend(readable[-1].segments)
        with_html = [branch for branch in branches if branch.html_parts]
        if with_html:
            self.html_parts.extend(with_html[-1].html_parts)

    def _leaf(self, part: Message, content_type: str) -> None:
        disposition = _disposition(part)
        filename = self.filename(part)
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = self._text(part, content_type)
            if content_type == "text/html":
                self.segments.append((True, text))
                self.html_parts.append(text)
            else:
                self.segments.append((False, text))
            return
        data = self._payload(part, content_type)
        self._attach(part, content_type, data, disposition=disposition, filename=filename)

    def _returned_headers(self, part: Message, content_type: str) -> None:
        """Keep the header block of a returned message (in a bounce) and collect its Message-ID."""
        payload = getattr(part, "_payload", None)
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            headers = payload[0]  # the parser read a message/* body as a message already
            data = _raw_payload(part)
        else:
            data = self._payload(part, content_type)
            headers = BytesHeaderParser(policy=POLICY).parsebytes(data)
        self.shared.returned_ids.extend(message_ids(decode_header_bytes(str(headers.get("message-id", "")))))
        self._attach(part, content_type, data, disposition=_disposition(part), filename=self.filename(part))

    def _text(self, part: Message, content_type: str) -> str:
        data = self._payload(part, content_type)
        charset = self.param(part, "charset")
        if not charset and content_type == "text/html":
            sniffed = _META_CHARSET.search(data[:4096])
            charset = sniffed.group(1).decode("ascii") if sniffed else None
        text, problem = decode_bytes(data, charset)
        if problem:
            self.defect(f"{content_type}: {problem}")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if content_type == "text/plain" and (self.param(part, "format") or "").lower() == "flowed":
            text = decode_flowed(text, delsp=(self.param(part, "delsp") or "").lower() == "yes")
        return text

    def _payload(self, part: Message, content_type: str) -> bytes:
        """Return the part's body with its transfer encoding undone, as leniently as the damage allows."""
        raw = _raw_payload(part)
        encoding_header = str(part.get("content-transfer-encoding", "")).strip().lower()
        encoding = re.split(r"[\s;]", encoding_header, maxsplit=1)[0].strip("\"'")
        if encoding == "base64":
            if content_type.startswith("text/") and not _looks_like_base64(raw):
                self.defect(f"{content_type}: declared base64 but not base64; read as 8-bit text")
                return raw
            if _BASE64_INVALID.search(raw):
                self.defect(f"{content_type}: base64 with invalid characters (skipped)")
            decoded = _decode_base64(raw)
            if decoded is None:
                self.defect(f"{content_type}: undecodable base64 kept as is")
                return raw
            return decoded
        if encoding in ("quoted-printable", "quoted_printable", "qp"):
            return binascii.a2b_qp(raw)
        if encoding in _UU_ENCODINGS:
            undone = part.get_payload(decode=True)
            return undone if isinstance(undone, bytes) else raw
        if encoding_header and encoding not in ("7bit", "8bit", "binary", "7-bit", "8-bit", "8bits", "plain", ""):
            self.defect(f"{content_type}: unknown transfer encoding {encoding[:40]!r} read as 8-bit")
        return raw

    def _attach(
        self,
        part: Message,
        content_type: str,
        data: bytes,
        *,
        disposition: str | None = None,
        filename: str | None = None,
    ) -> None:
        content_id = _content_id(part)
        self.shared.attachments.append(
            Attachment(
                filename=safe_filename(filename, content_type),
                content_type=content_type,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )

    def _message(self, part: Message, content_type: str) -> None:
        """Keep an attached message as a .eml file; collect its id (bounce) or append its text (forward)."""
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
        data = _message_bytes(inner) if inner is not None else _raw_payload(part)
        self._attach(part, content_type, data, disposition=_disposition(part), filename=self.filename(part))
        if inner is None:
            return
        if self.shared.returned_messages:
            self.shared.returned_ids.extend(message_ids(str(inner.get("message-id", ""))))
        elif self.forward_depth < _MAX_FORWARD_DEPTH:
            self.shared.forwarded.append(self._forwarded_text(inner))

    def _forwarded_text(self, inner: Message) -> str:
        # The forwarded message's own attachments stay inside its .eml; only its words join the body.
        nested = MimeWalker(returned_messages=False, forward_depth=self.forward_depth + 1)
        nested.walk(inner)
        lines = ["---------- Mensaje reenviado ----------"]
        for label, name in (("De", "from"), ("Fecha", "date"), ("Asunto", "subject"), ("Para", "to")):
            value = inner.get(name)
            if value is not None:
                lines.append(f"{label}: {collapse_whitespace(decode_words(decode_header_bytes(str(value))))}")
        body = nested.text()
        forwarded = "\n\n".join(nested.shared.forwarded)
        return "\n".join(lines) + "\n\n" + "\n\n".join(chunk for chunk in (body, forwarded) if chunk)

    def _delivery_status(self, part: Message, content_type: str) -> None:
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks = [block for block in payload if isinstance(block, Message)]
            data = b"\n".join(_message_bytes(block) for block in blocks)
        else:
            data = _raw_payload(part)
            text = data.decode("utf-8", errors="replace")
            blocks = [Parser(policy=POLICY).parsestr(chunk, headersonly=True) for chunk in re.split(r"\n\s*\n", text)]
        for block in blocks:
            action = str(block.get("action", "")).strip().lower()
            if not action:
                continue
            self.shared.dsn_actions.append(action)
            recipient = str(block.get("final-recipient") or block.get("original-recipient") or "")
            address = recipient.rpartition(";")[2].strip().strip("<>").lower()
            if action.startswith("failed") and "@" in address:
                self.shared.failed_recipients.append(clean_text(decode_header_bytes(address)))
        self._attach(part, content_type, data, disposition="attachment")

    def _broken_multipart(self, part: Message, content_type: str, depth: int) -> None:
        """Recover a multipart whose boundary is missing or wrong by guessing it from the first delimiter line."""
        text = _raw_payload(part).decode("ascii", "surrogateescape")
        for index, match in enumerate(_GUESSED_BOUNDARY.finditer(text)):
            if index >= 5:
                break
            following = text[match.end() : match.end() + 200].lstrip("\r\n").lower()
            if not following.startswith("content-"):
                continue
            boundary = match.group(1).replace('"', "")
            header = f'{content_type}; boundary="{boundary}"'
            report_type = self.param(part, "report-type")
            if report_type:
                header += f'; report-type="{report_type}"'
            rebuilt = Parser(policy=POLICY).parsestr(f"Content-Type: {header}\n\n{text}")
            if rebuilt.is_multipart():
                self.defect(f"{content_type}: boundary missing or wrong; guessed from the body")
                self.walk(rebuilt, depth + 1)
                return
        self.defect(f"{content_type}: no parts found; the body is shown as text")
        body, problem = decode_bytes(_raw_payload(part), self.param(part, "charset"))
        if problem:
            self.defect(f"{content_type}: {problem}")
        self.segments.append((False, body.replace("\r\n", "\n")))

    def text(self) -> str:
        """Return the readable body: the segments joined by blank lines, HTML ones converted to text."""
        chunks = [html_to_text(content) if is_html else content for is_html, content in self.segments]
        return "\n\n".join(chunk.strip("\n") for chunk in chunks if chunk.strip())


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:  # a hostile header must not stop the walk; RFC 2045 says default to text
        return "text/plain"
    return clean_text(decode_header_bytes(value))


def _read_params(part: Message, header: str, fallback_charset: str | None) -> dict[str, str]:
    try:
        pairs = part.get_params(failobj=[], header=header)[1:]  # the first pair is the value itself
    except Exception:  # malformed parameters are treated as absent
        return {}
    charset = fallback_charset
    params: dict[str, str] = {}
    for name, value in pairs:
        text = _collapse(value)
        if text is None:
            continue
        if name == "charset":
            charset = text
        params.setdefault(name, text)
    # 8-bit bytes in a parameter (Outlook Express file names) are in the part's own charset, if anything.
    return {name: clean_text(decode_header_bytes(text, charset)).strip() for name, text in params.items() if text}


def _collapse(value: str | tuple[str | None, str | None, str]) -> str | None:
    try:
        return collapse_rfc2231_value(value)
    except Exception:  # an undecodable RFC 2231 value is dropped, not fatal
        return None


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:  # an unreadable disposition is no disposition
        return None
    if not value:
        return None
    value = value.strip()
    return "inline" if value == "inline" else "attachment"


def _content_id(part: Message) -> str | None:
    value = part.get("content-id")
    if value is None:
        return None
    ident = "".join(decode_header_bytes(str(value)).split()).strip("<>")
    return clean_text(ident) or None


def _raw_payload(part: Message) -> bytes:
    """Return the part's body bytes exactly as they arrived (transfer encoding not undone)."""
    # Message.get_payload() decodes 8-bit bodies with the declared charset and errors="replace" before we can
    # see them, which would make charset repair impossible; the parser's own attribute keeps the raw text.
    payload = getattr(part, "_payload", None)
    if isinstance(payload, str):
        try:
            return payload.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:  # real characters, not escaped bytes: only from a str source
            return payload.encode("utf-8", "surrogateescape")
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, list):
        return b"\n".join(_message_bytes(child) for child in payload if isinstance(child, Message))
    return b""


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # the generator can choke on damaged parts; keep what can be had
        return str(message).encode("utf-8", errors="surrogateescape")


def _decode_base64(raw: bytes) -> bytes | None:
    """Decode base64 leniently: junk is skipped, padding repaired, and concatenated padded chunks each decoded."""
    decoded: list[bytes] = []
    for chunk in _BASE64_JUNK.sub(b"", raw).split(b"="):
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]  # one dangling character cannot encode anything
        if not chunk:
            continue
        try:
            decoded.append(binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4)))
        except (binascii.Error, ValueError):
            return None
    return b"".join(decoded)


def _looks_like_base64(raw: bytes) -> bool:
    """Return whether the body can be base64: spam and broken clients declare it on plain text.

    Base64 lines have no spaces and no punctuation beyond "+/="; prose has both. Up to 10% of other bytes are
    tolerated as line noise, which lenient decoding skips.
    """
    sample = raw[:65536]
    if not sample:
        return True
    stray = len(sample) - sum(len(run) for run in _BASE64_ALPHABET.findall(sample))
    return stray * 10 <= len(sample)
