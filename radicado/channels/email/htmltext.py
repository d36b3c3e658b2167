"""HTML from e-mail: the sanitising policy for display, and conversion to readable text.

Pure standard library plus ``nh3``; no Django.

Sanitising policy (:func:`sanitize_html`), for showing a customer's HTML inside the agent console:

- Tags: nh3's default allow-list (text formatting, lists, tables, headings, links, images, ``blockquote``,
  ``pre``...) plus ``font``. Everything else is dropped with its markup but keeps its text, except ``script``,
  ``style``, ``title``, ``head``, ``template``, ``noscript``, ``iframe``, ``object``, ``embed``, ``svg``, ``math``
  and Outlook's ``xml`` islands, which are dropped with their content. Forms and their controls go; comments
  (including Outlook's conditional comments) go.
- Attributes: nh3's defaults per tag, plus ``style`` / ``dir`` / ``lang`` / ``title`` anywhere, ``width`` /
  ``height`` / ``bgcolor`` / ``valign`` and the like on table parts and images, ``color`` / ``face`` / ``size`` on
  ``font``. No ``class`` or ``id`` (they would meet the console's own CSS and anchors), no ``on*`` handlers.
- ``style`` keeps only properties that cannot load anything or move the element out of its box (colours, fonts,
  text alignment and decoration, padding, borders, sizes): no ``url()``, ``position``, ``background-image``, and
  no margins (a negative margin can slide mail content over the console's own controls).
- Links: ``http``, ``https``, ``mailto`` and ``tel`` only; relative URLs are removed (mail has no base URL); every
  link gets ``rel="noopener noreferrer"``.
- Images: ``cid:`` (the message's own inline parts) and ``data:image/{png,jpeg,gif,webp}`` are kept. Remote
  images are removed by default, because loading them tells the sender (and a tracker) that and when an agent
  read the mail, and from which address; ``remote_images=True`` keeps ``https`` ones for a caller that proxies
  them or asks the agent first.
"""

from __future__ import annotations

import html
import re
from copy import deepcopy

import nh3

from .charsets import clean_text

__all__ = ["html_to_text", "sanitize_html"]

_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "title", "head", "template", "noscript", "iframe", "object", "embed", "svg", "math", "xml"}
)

_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}

_ATTRIBUTES: dict[str, set[str]] = deepcopy(nh3.ALLOWED_ATTRIBUTES)
_ATTRIBUTES["*"] = {"style", "dir", "lang", "title"}
_ATTRIBUTES.setdefault("font", set()).update({"color", "face", "size"})
_ATTRIBUTES.setdefault("table", set()).update({"width", "border", "cellpadding", "cellspacing", "bgcolor"})
_ATTRIBUTES.setdefault("td", set()).update({"width", "height", "valign", "bgcolor", "nowrap"})
_ATTRIBUTES.setdefault("th", set()).update({"width", "height", "valign", "bgcolor", "nowrap"})
_ATTRIBUTES.setdefault("tr", set()).update({"valign", "bgcolor"})
_ATTRIBUTES.setdefault("img", set()).update({"title"})
_ATTRIBUTES.setdefault("a", set()).update({"title"})

_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "line-height",
    "letter-spacing",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-collapse",
    "border-color",
    "border-style",
    "border-width",
    "width",
    "height",
    "list-style-type",
}

_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|jpg|gif|webp);base64,[a-z0-9+/=\s]*\Z", re.IGNORECASE)


def _filter_attribute(remote_images: bool, tag: str, attribute: str, value: str) -> str | None:
    # nh3 has already checked the scheme against url_schemes; this narrows it per attribute, since "data:" and
    # "cid:" are fine for an image but not for a link. Must never raise (nh3 would only log it).
    if attribute == "src":
        lowered = value.strip().lower()
        if lowered.startswith("cid:") or _DATA_IMAGE.match(lowered):
            return value
        if remote_images and lowered.startswith("https:"):
            return value
        return None
    if attribute == "href":
        return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
    return value


def _make_cleaner(remote_images: bool) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_ATTRIBUTES,
        attribute_filter=lambda tag, attribute, value: _filter_attribute(remote_images, tag, attribute, value),
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        filter_style_properties=_STYLE_PROPERTIES,
        url_relative="deny",
    )


def _make_fast_cleaner() -> nh3.Cleaner:
    # Without "src", "data:" or "cid:" anywhere in the source, nh3's own scheme check is the whole policy;
    # skipping the Python callback halves the cost for typical HTML mail.
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_ATTRIBUTES,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto", "tel"},
        filter_style_properties=_STYLE_PROPERTIES,
        url_relative="deny",
    )


_DISPLAY_CLEANER = _make_cleaner(remote_images=False)
_DISPLAY_CLEANER_REMOTE = _make_cleaner(remote_images=True)
_DISPLAY_CLEANER_FAST = _make_fast_cleaner()


def sanitize_html(source: str, *, remote_images: bool = False) -> str:
    """Return ``source`` reduced to the display-safe subset described in the module docstring."""
    lowered = source.lower()
    if "src" not in lowered and "data:" not in lowered and "cid:" not in lowered:
        cleaner = _DISPLAY_CLEANER_FAST
    else:
        cleaner = _DISPLAY_CLEANER_REMOTE if remote_images else _DISPLAY_CLEANER
    return clean_text(cleaner.clean(source))


# Text extraction runs nh3 first with a tiny structural allow-list and no attributes: the Rust parser deals with
# broken markup, drops scripts, styles and comments, and serialises well-formed tags that a regex can tokenise
# much faster than html.parser could walk the original.
_TEXT_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "tr",
    "td",
    "th",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "blockquote",
    "hr",
    "address",
    "center",
    "article",
    "section",
    "header",
    "footer",
}
_TEXT_CLEANER = nh3.Cleaner(
    tags=_TEXT_TAGS,
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={},
    strip_comments=True,
    link_rel=None,
)
_TOKEN = re.compile(r"<(/?)([a-z0-9]+)[^>]*>|[^<]+|<")
_PARAGRAPH_TAGS = frozenset(
    {"p", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "address"}
)
_LINE_TAGS = frozenset({"div", "li", "tr", "dt", "dd", "center", "article", "section", "header", "footer"})
_SPACES = re.compile(r"[ \t\r\n\f\v\xa0\u200b]+")


class _TextWriter:
    """Accumulates lines of text with the blockquote depth each line started at."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.depth = 0
        self.pre = 0

    def text(self, chunk: str) -> None:
        if self.pre:
            parts = chunk.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self.line_break(force=True)
                if part:
                    self.current.append(part)
            return
        chunk = _SPACES.sub(" ", chunk)
        if not self.current or self.current[-1].endswith(" "):
            chunk = chunk.lstrip(" ")
        if chunk:
            self.current.append(chunk)

    def line_break(self, *, force: bool = False) -> None:
        if self.current or force:
            self.lines.append((self.depth, "".join(self.current).rstrip()))
            self.current = []

    def paragraph_break(self) -> None:
        self.line_break()
        if self.lines and self.lines[-1][1]:
            self.lines.append((self.depth, ""))

    def result(self) -> str:
        self.line_break()
        out: list[str] = []
        blank = True
        for depth, line in self.lines:
            if not line:
                if blank:
                    continue  # never two blank lines in a row, none at the start
                blank = True
            else:
                blank = False
            out.append(("> " * depth + line).rstrip() if depth else line)
        return "\n".join(out).strip("\n")


def html_to_text(source: str) -> str:
    """Return the readable text of an HTML document or fragment.

    Paragraphs and block elements become line breaks (paragraph-like ones a blank line), ``<br>`` a line break,
    list items start with "- ", table cells are separated by a space, entities are decoded, whitespace outside
    ``<pre>`` is collapsed, and text inside ``<blockquote>`` is prefixed with "> " so that :func:`strip_quoted`
    recognises it. Script, style and head content never appears.
    """
    writer = _TextWriter()
    for match in _TOKEN.finditer(_TEXT_CLEANER.clean(source)):
        tag = match.group(2)
        if tag is None:
            writer.text(html.unescape(match.group(0)))
            continue
        closing = bool(match.group(1))
        if tag == "br":
            writer.line_break(force=True)
        elif tag == "blockquote":
            writer.paragraph_break()
            writer.depth = max(0, writer.depth + (-1 if closing else 1))
        elif tag == "pre":
            writer.paragraph_break()
            writer.pre = max(0, writer.pre + (-1 if closing else 1))
        elif tag in _PARAGRAPH_TAGS:
            writer.paragraph_break()
        elif tag in _LINE_TAGS:
            writer.line_break()
            if tag == "li" and not closing:
                writer.current.append("- ")
        elif tag in ("td", "th") and not closing and writer.current:
            writer.current.append(" ")
    return clean_text(writer.result())
