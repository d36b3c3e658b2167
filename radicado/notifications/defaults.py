"""The texts a new rule starts from, and the rule set a workspace gets when its profile names none.

Product text, Spanish first: admins edit the copies stored in their rules; these are
only the starting point. Subjects of ticket mail always carry ``[REF]`` for threading.
"""

from __future__ import annotations

from typing import TypedDict


class Texts(TypedDict):
    subject_es: str
    body_es: str
    subject_en: str
    body_en: str


_SUBJ = "[{{ ticket.reference }}] {{ ticket.subject }}"

DEFAULT_TEXTS: dict[str, Texts] = {
    "ticket.registered": {
        "subject_es": _SUBJ,
        "body_es": (
            "Registramos su solicitud {{ ticket.reference }}: “{{ ticket.subject }}”.\n\n"
            "{% if due %}Le responderemos a más tardar el {{ due }}.\n\n{% endif %}"
            "Para agregar información, responda este mensaje y conserve {{ ticket.reference }} en el asunto."
            "{% if ticket.url %}\nTambién puede seguirla en {{ ticket.url }}{% endif %}"
        ),
        "subject_en": _SUBJ,
        "body_en": (
            "We registered your request {{ ticket.reference }}: “{{ ticket.subject }}”.\n\n"
            "{% if due %}We will answer at the latest on {{ due }}.\n\n{% endif %}"
            "To add information, reply to this message and keep {{ ticket.reference }} in the subject."
            "{% if ticket.url %}\nYou can also follow it at {{ ticket.url }}{% endif %}"
        ),
    },
    "reply.agent": {
        "subject_es": _SUBJ,
        "body_es": "{{ reply.body }}",
        "subject_en": _SUBJ,
        "body_en": "{{ reply.body }}",
    },
    "reply.customer": {
        "subject_es": _SUBJ,
        "body_es": "{{ reply.author }} respondió en {{ ticket.reference }}:\n\n{{ reply.body }}\n\n{{ ticket.url }}",
        "subject_en": _SUBJ,
        "body_en": "{{ reply.author }} replied on {{ ticket.reference }}:\n\n{{ reply.body }}\n\n{{ ticket.url }}",
    },
    "status.changed": {
        "subject_es": _SUBJ,
        "body_es": "Su solicitud {{ ticket.reference }} ahora está: {{ ticket.status }}.",
        "subject_en": _SUBJ,
        "body_en": "Your request {{ ticket.reference }} is now: {{ ticket.status }}.",
    },
    "info.requested": {
        "subject_es": _SUBJ,
        "body_es": (
            "Para continuar con su solicitud {{ ticket.reference }} necesitamos información de su parte. "
            "Responda este mensaje o entre a {{ ticket.url }}"
        ),
        "subject_en": _SUBJ,
        "body_en": (
            "To go on with your request {{ ticket.reference }} we need information from you. "
            "Reply to this message or go to {{ ticket.url }}"
        ),
    },
    "ticket.resolved": {
        "subject_es": _SUBJ,
        "body_es": "Resolvimos su solicitud {{ ticket.reference }}. Si algo sigue pendiente, responda este mensaje.",
        "subject_en": _SUBJ,
        "body_en": "We resolved your request {{ ticket.reference }}. If anything is still pending, reply to this message.",
    },
    "ticket.closed": {
        "subject_es": _SUBJ,
        "body_es": (
            "Cerramos su solicitud {{ ticket.reference }}: “{{ ticket.subject }}”. "
            "Si necesita algo más, escríbanos y registraremos una solicitud nueva."
        ),
        "subject_en": _SUBJ,
        "body_en": (
            "We closed your request {{ ticket.reference }}: “{{ ticket.subject }}”. "
            "If you need anything else, write to us and we will register a new request."
        ),
    },
    "sla.warning": {
        "subject_es": "[{{ ticket.reference }}] ANS por vencer: {{ sla.target }}",
        "body_es": "El ANS de {{ sla.target }} de {{ ticket.reference }} vence el {{ sla.due }}.\n\n{{ ticket.url }}",
        "subject_en": "[{{ ticket.reference }}] ANS about to expire: {{ sla.target }}",
        "body_en": "The {{ sla.target }} ANS of {{ ticket.reference }} is due on {{ sla.due }}.\n\n{{ ticket.url }}",
    },
    "sla.breach": {
        "subject_es": "[{{ ticket.reference }}] ANS incumplido: {{ sla.target }}",
        "body_es": (
            "Se venció el ANS de {{ sla.target }} de {{ ticket.reference }} ({{ ticket.customer }}, "
            "prioridad {{ ticket.priority }}).\n\n{{ ticket.url }}"
        ),
        "subject_en": "[{{ ticket.reference }}] ANS breached: {{ sla.target }}",
        "body_en": (
            "The {{ sla.target }} ANS of {{ ticket.reference }} ({{ ticket.customer }}, "
            "priority {{ ticket.priority }}) is overdue.\n\n{{ ticket.url }}"
        ),
    },
    "sla.escalation": {
        "subject_es": "[{{ ticket.reference }}] Escalamiento nivel {{ sla.level }}",
        "body_es": (
            "{{ ticket.reference }} ({{ ticket.customer }}) alcanzó el nivel de escalamiento {{ sla.level }} "
            "por el ANS de {{ sla.target }}.\n\n{{ ticket.url }}"
        ),
        "subject_en": "[{{ ticket.reference }}] Escalation level {{ sla.level }}",
        "body_en": (
            "{{ ticket.reference }} ({{ ticket.customer }}) reached escalation level {{ sla.level }} "
            "on the {{ sla.target }} ANS.\n\n{{ ticket.url }}"
        ),
    },
    "level.changed": {
        "subject_es": "[{{ ticket.reference }}] Escalada a {{ ticket.level }}",
        "body_es": "{{ ticket.reference }} pasó a {{ ticket.level }}: {{ ticket.subject }}\n\n{{ ticket.url }}",
        "subject_en": "[{{ ticket.reference }}] Escalated to {{ ticket.level }}",
        "body_en": "{{ ticket.reference }} moved to {{ ticket.level }}: {{ ticket.subject }}\n\n{{ ticket.url }}",
    },
    "survey.sent": {
        "subject_es": _SUBJ,
        "body_es": (
            "Resolvimos su solicitud {{ ticket.reference }}. ¿Cómo lo hicimos? "
            "Responda en un minuto, sin iniciar sesión:\n\n{{ survey_url }}"
        ),
        "subject_en": _SUBJ,
        "body_en": (
            "Your request {{ ticket.reference }} was resolved. How did we do? "
            "Answer in one minute, no sign-in needed:\n\n{{ survey_url }}"
        ),
    },
}

# (event, audience, channel): what a workspace gets when its profile lists no rules.
DEFAULT_RULES: list[tuple[str, str, str]] = [
    ("ticket.registered", "requester", "email"),
    ("reply.agent", "requester", "email"),
    ("reply.agent", "requester", "whatsapp"),
    ("reply.customer", "assignee", "email"),
    ("ticket.closed", "requester", "email"),
    ("survey.sent", "requester", "email"),
    ("sla.warning", "assignee", "email"),
    ("sla.breach", "assignee", "email"),
    ("sla.breach", "supervisors", "email"),
    ("sla.escalation", "escalation", "email"),
    ("level.changed", "team", "email"),
]
