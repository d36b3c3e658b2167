"""Render notification templates: Django's template language over plain strings only.

Admins edit these templates, so the engine is closed: no loaders (``{% include %}``
finds nothing), no extra tag libraries, and a context of plain strings and dicts of
strings — never a model, so no template can walk into the database.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.utils.translation import gettext as _

from radicado.errors import UserError

ENGINE = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=False, string_if_invalid="")

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
    """Raise TemplateInvalid if ``source`` does not compile or render on the sample context."""
    try:
        text = ENGINE.from_string(source).render(Context(SAMPLE_CONTEXT, autoescape=False))
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(_("The template has an error: %(error)s") % {"error": exc}) from exc
    except Exception as exc:  # a filter applied to the wrong kind of value, etc.
        raise TemplateInvalid(_("The template cannot be shown: %(error)s") % {"error": exc}) from exc
    if "{{" in text or "{%" in text:
        raise TemplateInvalid(_("The template has a {{ or {% that is never closed."))


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """Compiling costs far more than rendering; a template's text is its own cache key."""
    return ENGINE.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` with ``context`` (plain text: nothing is HTML-escaped)."""
    return _compiled(source).render(Context(dict(context), autoescape=False)).strip()
