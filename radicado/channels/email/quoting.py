"""Plain-text body helpers: cutting quoted history and signatures, and RFC 3676 ``format=flowed``.

Pure standard library; no Django. Everything here is a single pass over the lines with anchored regular
expressions applied to one line (or a window of at most three lines) at a time, so the cost is linear in the
length of the text whatever it contains.
"""

from __future__ import annotations

import re

__all__ = ["decode_flowed", "strip_quoted"]

# "El lun, 23 nov 2026 a las 10:00, Ana <ana@example.com> escribió:" and its English, Portuguese, French and
# German siblings; Gmail and Apple Mail wrap long ones over two or three lines.
_ATTRIBUTION_START = re.compile(r"(?:El|On|Em|Le|Am)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(?:escribió|escribio|wrote|escreveu|a écrit|schrieb)\s*:\s*\Z", re.IGNORECASE)
_ATTRIBUTION_EVIDENCE = re.compile(r"[0-9@]")
_ATTRIBUTION_MAX_LINES = 3
_ATTRIBUTION_MAX_CHARS = 400
# Older Gmail: "2026-11-23 10:00 GMT-05:00 Ana <ana@example.com>:"
_ISO_ATTRIBUTION = re.compile(r"\d{4}-\d{2}-\d{2}\s.*<[^<>@\s]+@[^<>\s]+>\s*:\s*\Z")

# "-----Original Message-----", "---------- Forwarded message ---------", "-------- Mensaje reenviado --------"...
_SEPARATOR = re.compile(
    r"-{2,}\s*(?:original message|mensaje original|forwarded message|mensaje reenviado|reenviado|"
    r"mensagem original|mensagem encaminhada|message d'origine|message transféré|ursprüngliche nachricht)"
    r"\s*-{2,}\Z",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"(?:begin forwarded message|inicio del mensaje reenviado|comienzo del mensaje reenviado)\s*:\Z",
    re.IGNORECASE,
)

# Outlook's header block: "De: … / Enviado: … / Para: … / Asunto: …" and "From: … / Sent: … / To: … / Subject: …".
_BLOCK_FROM = re.compile(r"\**\s*(?:De|From|Von|Da)\s*:\s*\**\s*\S", re.IGNORECASE)
_BLOCK_FIELD = re.compile(
    r"\**\s*(enviado el|enviado|enviada|sent|fecha|date|para|to|asunto|subject|cc|cco|bcc)\s*:",
    re.IGNORECASE,
)
_BLOCK_GROUPS = {
    "enviado el": "sent",
    "enviado": "sent",
    "enviada": "sent",
    "sent": "sent",
    "fecha": "sent",
    "date": "sent",
    "para": "to",
    "to": "to",
    "asunto": "subject",
    "subject": "subject",
}
_BLOCK_WINDOW = 7
_RULE = re.compile(r"(?:_{10,}|-{5,}|={5,}|\*{5,})\Z")

_MOBILE_SIGNATURE = re.compile(
    r"(?:enviado desde mi |enviado desde |sent from my |sent from |obtener outlook para |get outlook for |"
    r"descargar outlook para |enviado con |sent with |sent via |enviado vía |enviado via |"
    r"enviado do meu |envoyé de mon )",
    re.IGNORECASE,
)
_MOBILE_SIGNATURE_MAX_CHARS = 80


def strip_quoted(text: str) -> str:
    """Return the new part of a reply: ``text`` without quoted history and without the signature.

    History starts at the first of: an attribution line ("El … escribió:", "On … wrote:", possibly wrapped over
    up to three lines, or "… <addr> escribió:"), an Outlook header block (a "De:"/"From:" line followed by at least
    two of sent/date, to and subject lines), a separator ("-----Mensaje original-----", Gmail's "---------- Mensaje
    reenviado ---------", "Begin forwarded message:"...), or the block of ">" lines that ends the text. Rules of
    underscores or dashes right above the cut go with it. The cut is only made when text remains above it: a
    forward with no comment, or a bottom-posted reply, is kept whole, because then the "history" is the message.

    A signature is then removed: everything from the first "-- " line, and a mobile signature ("Enviado desde mi
    iPhone", "Sent from my Android", "Obtener Outlook para iOS"...) among the last two non-blank lines.

    Never returns an empty string for a non-blank ``text``: when nothing would remain, ``text`` itself is
    returned. When nothing is cut, ``text`` is returned unchanged; otherwise lines end in "\\n" and trailing blank
    lines are dropped.
    """
    if not text.strip():
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _history_start(lines)
    kept = lines if cut is None else lines[:cut]
    if not _has_content(kept):
        return text
    kept = _strip_signature(kept)
    if not _has_content(kept):
        return text
    if cut is None and len(kept) == len(lines):
        return text
    while kept and not kept[-1].strip():
        kept.pop()
    start = 0
    while not kept[start].strip():
        start += 1
    return "\n".join(line.rstrip() for line in kept[start:])


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _history_start(lines: list[str]) -> int | None:
    """Return the index of the first line of quoted history, or None."""
    count = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped[0] == ">":
            continue
        if stripped[-1] == ":" and (
            _FORWARD_INTRO.match(stripped)
            or (_ATTRIBUTION_END.search(stripped) and "@" in stripped)
            or _ISO_ATTRIBUTION.match(stripped)
        ):
            return _widen(lines, index)
        if stripped[0] == "-" and _SEPARATOR.match(stripped):
            return _widen(lines, index)
        if _ATTRIBUTION_START.match(stripped) and _is_wrapped_attribution(lines, index):
            return _widen(lines, index)
        if _BLOCK_FROM.match(stripped) and _is_header_block(lines, index):
            return _widen(lines, index)
    return _trailing_quote_start(lines, count)


def _is_wrapped_attribution(lines: list[str], index: int) -> bool:
    joined = ""
    for line in lines[index : index + _ATTRIBUTION_MAX_LINES]:
        joined = f"{joined} {line.strip()}" if joined else line.strip()
        if len(joined) > _ATTRIBUTION_MAX_CHARS:
            return False
        if _ATTRIBUTION_END.search(joined):
            return bool(_ATTRIBUTION_EVIDENCE.search(joined))
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    groups: set[str] = set()
    for line in lines[index + 1 : index + _BLOCK_WINDOW]:
        match = _BLOCK_FIELD.match(line.strip())
        if match:
            group = _BLOCK_GROUPS.get(match.group(1).lower())
            if group:
                groups.add(group)
    return len(groups) >= 2


def _widen(lines: list[str], index: int) -> int:
    """Move a cut up over the blank lines and horizontal rules right above it."""
    while index > 0 and (not lines[index - 1].strip() or _RULE.match(lines[index - 1].strip())):
        index -= 1
    return index


def _trailing_quote_start(lines: list[str], count: int) -> int | None:
    """Return where the run of ">" lines that ends the text starts (with its attribution line), or None."""
    end = count
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and (not lines[start - 1].strip() or lines[start - 1].lstrip().startswith(">")):
        start -= 1
    if start == end:
        return None
    while not lines[start].strip():
        start += 1
    above = start - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and _ATTRIBUTION_END.search(lines[above].strip()):
        start = above
    return start


def _strip_signature(lines: list[str]) -> list[str]:
    seen_content = False
    for index, line in enumerate(lines):
        if line.rstrip() == "--" and seen_content:
            lines = lines[:index]
            break
        if line.strip():
            seen_content = True
    tail = [index for index in range(len(lines) - 1, -1, -1) if lines[index].strip()][:2]
    for index in reversed(tail):
        stripped = lines[index].strip()
        if len(stripped) <= _MOBILE_SIGNATURE_MAX_CHARS and _MOBILE_SIGNATURE.match(stripped):
            return lines[:index]
    return lines


def decode_flowed(text: str, *, delsp: bool) -> str:
    """Return RFC 3676 ``format=flowed`` text with soft line breaks joined and space-stuffing removed.

    Quoted lines keep their depth as a ">" prefix followed by one space, which is how they are shown and what
    :func:`strip_quoted` recognises.
    """
    out: list[str] = []
    paragraph: list[str] = []
    paragraph_depth = 0

    def flush() -> None:
        if paragraph:
            prefix = ">" * paragraph_depth + " " if paragraph_depth else ""
            out.append(prefix + "".join(paragraph))
            paragraph.clear()

    for line in text.split("\n"):
        line = line.removesuffix("\r")
        content = line.lstrip(">")
        depth = len(line) - len(content)
        if content.startswith(" "):
            content = content[1:]
        if paragraph and depth != paragraph_depth:
            flush()
        paragraph_depth = depth
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        paragraph.append(content)
        if not soft:
            flush()
    flush()
    return "\n".join(out)
