"""Render notification templates: Django's template language over plain strings only.

Admins edit these templates, so the engine is closed: no loaders (``{% include %}``
finds nothing), no extra tag libraries, and a context of plain strings and dicts of
strings — never a model, so no template can walk into the database. Nor can a template
make a message without end: only the tags and filters below exist (no loops, no padding
to a width, no generated text), a template's text is at most ``MAX_SOURCE_CHARS`` and what
it renders is cut at ``MAX_RENDERED_CHARS`` (issue 19: a 20 MB preview came from one line).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.utils.translation import gettext as _

from radicado.errors import UserError

MAX_SOURCE_CHARS = 10_000
MAX_RENDERED_CHARS = 50_000
ALLOWED_TAGS = ("if", "with", "firstof", "comment", "spaceless", "verbatim", "templatetag")
ALLOWED_FILTERS = (
    "default", "default_if_none", "upper", "lower", "title", "capfirst", "truncatechars", "truncatewords",
    "linebreaksbr", "striptags", "length", "first", "last", "yesno", "cut", "slice", "wordcount", "add",
    "safe", "escape", "urlencode", "date", "time", "pluralize",
)  # fmt: skip


def _closed_library() -> Library:
    """Django's own tags and filters, those that cannot multiply their input (no for, lorem, ljust, center…)."""
    library = Library()
    for name in ALLOWED_TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    for name in ALLOWED_FILTERS:
        library.filters[name] = defaultfilters.register.filters[name]
    return library


ENGINE = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=False, string_if_invalid="")
ENGINE.template_builtins = [_closed_library()]

# The variables a template may use, with a sample value for previews and checks.
SAMPLE_CONTEXT: dict[str, Any] = {
    "ticket": {
        "reference": "SOP-000123",
        "subject": "No puedo ingresar al portal de facturación",
        "status": "En curso",
        "priority": "Alta",
        "type": "Incidente",
        "customer": "Comercializadora Andina S.A.S.",
        "level": "N2",
        "url": "https://soporte.example.com/w/soporte/solicitudes/123/",
    },
    "requester": {"name": "Laura Gómez", "email": "laura.gomez@example.com"},
    "recipient": {"name": "Laura Gómez"},
    "reply": {"author": "Andrés (Soporte)", "body": "Ya restablecimos su acceso. ¿Puede intentarlo de nuevo?"},
    "due": "23 de noviembre de 2026 a las 16:30",
    "survey_url": "https://soporte.example.com/encuesta/AbC123/",
    "sla": {"target": "Primera respuesta", "level": "II", "due": "23 de noviembre de 2026 a las 16:30"},
    "workspace": {"name": "Soporte Andino"},
}


def variables(context: dict[str, Any] = SAMPLE_CONTEXT, prefix: str = "") -> list[str]:
    """The dotted names a template may use, e.g. ``ticket.reference`` (from the sample context)."""
    names: list[str] = []
    for key, value in context.items():
        names += variables(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return names


class TemplateInvalid(UserError):
    """The template cannot be compiled; the message is for the admin who wrote it."""


def check(source: str) -> None:
    """Raise TemplateInvalid if ``source`` is too long, or does not compile or render on the sample context
    within ``MAX_RENDERED_CHARS``."""
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateInvalid(_("The template is too long (at most %(max)d characters).") % {"max": MAX_SOURCE_CHARS})
    try:
        text = ENGINE.from_string(source).render(Context(SAMPLE_CONTEXT, autoescape=False))
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(_("The template has an error: %(error)s") % {"error": exc}) from exc
    except Exception as exc:  # a filter applied to the wrong kind of value, etc.
        raise TemplateInvalid(_("The template cannot be shown: %(error)s") % {"error": exc}) from exc
    if "{{" in text or "{%" in text:
        raise TemplateInvalid(_("The template has a {{ or {% that is never closed."))
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateInvalid(
            _("The message would be too long (at most %(max)d characters).") % {"max": MAX_RENDERED_CHARS}
        )


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling costs far more than rendering; a template's text is its own cache key."""
    return ENGINE.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` with ``context`` (plain text: nothing is HTML-escaped), cut at ``MAX_RENDERED_CHARS``
    (a reply quoted in full can be long; a notification is never refused for it)."""
    text = _compiled(source).render(Context(dict(context), autoescape=False)).strip()
    return text if len(text) <= MAX_RENDERED_CHARS else text[: MAX_RENDERED_CHARS - 1] + "…"
