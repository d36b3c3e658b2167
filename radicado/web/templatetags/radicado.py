"""Template helpers: event sentences, deadlines and labels, all auto-escaped."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from radicado.sla.queries import format_duration
from radicado.tickets.models import EventKind, TicketEvent

register = template.Library()

_FIELD = {
    EventKind.TRANSITIONED: "state",
    EventKind.PRIORITY_CHANGED: "priority",
    EventKind.TYPE_CHANGED: "type",
    EventKind.ASSIGNED: "assignee",
    EventKind.TEAM_CHANGED: "team",
    EventKind.LEVEL_CHANGED: "level",
}


@register.simple_tag
def event_text(event: TicketEvent, labels: dict[str, str]) -> str:
    """A plain sentence for a change event, e.g. "Status: New → In progress"."""
    kind = EventKind(event.kind)
    field = _FIELD.get(kind)
    if field is None:
        return str(kind.label)

    def label(code: str) -> str:
        if not code:
            return _("(none)")
        if field == "level":
            return code.upper()
        return labels.get(f"{field}:{code}", code)

    text = f"{kind.label}: {label(event.from_value)} → {label(event.to_value)}"
    if event.data.get("auto"):
        text += " " + _("(automatic)")
    return text


@register.filter
def duration(value: dt.timedelta) -> str:
    """A business duration for people: "2 h 30 min" (never negative here)."""
    return format_duration(abs(value))


@register.filter
def ref(number: int, prefix: str) -> str:
    return f"{prefix}-{number:06d}"


@register.inclusion_tag("web/_field_errors.html", takes_context=True)
def field_errors(context: template.Context, input_id: str) -> dict[str, object]:
    """The errors of one input, shown right below it (``field_errors`` maps input ids to messages)."""
    errors = (context.get("field_errors") or {}).get(input_id, [])
    return {"input_id": input_id, "errors": errors}
