"""Who hears about what: notification rules per workspace, and SLA notification requests.

A rule says: when ``event`` happens on a ticket, tell ``audience`` by ``channel`` with
this template (Spanish and English). The tickets layer evaluates the rules in the
transaction of the event and writes one outbox row per recipient (channels).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from radicado.workspaces.models import Workspace


class NotificationEvent(models.TextChoices):
    REGISTERED = "ticket.registered", _("Request registered")
    AGENT_REPLY = "reply.agent", _("Public reply by an agent")
    CUSTOMER_REPLY = "reply.customer", _("Reply by the customer")
    STATUS_CHANGED = "status.changed", _("Status changed")
    INFO_REQUESTED = "info.requested", _("Information requested from the customer")
    RESOLVED = "ticket.resolved", _("Request resolved")
    CLOSED = "ticket.closed", _("Request closed")
    SLA_WARNING = "sla.warning", _("ANS warning")
    SLA_BREACH = "sla.breach", _("ANS breached")
    ESCALATION = "sla.escalation", _("Escalation level reached")
    LEVEL_CHANGED = "level.changed", _("Support level changed (N1→N2→N3)")
    SURVEY_SENT = "survey.sent", _("Satisfaction survey sent")


class Audience(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    KEY_USERS = "key_users", _("Key users of the customer")
    ASSIGNEE = "assignee", _("Assignee")
    TEAM = "team", _("Team of the request")
    SUPERVISORS = "supervisors", _("Supervisors")
    ESCALATION = "escalation", _("Escalation contacts (named by the ANS step)")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WHATSAPP = "whatsapp", _("WhatsApp")


class NotificationRule(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notification_rules")
    event = models.CharField(max_length=40, choices=NotificationEvent.choices)
    audience = models.CharField(max_length=20, choices=Audience.choices)
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    enabled = models.BooleanField(default=True)
    # Django template language over a small context of plain strings (see rendering.py).
    subject_es = models.CharField(max_length=300, blank=True)
    body_es = models.TextField()
    subject_en = models.CharField(max_length=300, blank=True)
    body_en = models.TextField(blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "event", "audience", "channel"], name="rule_unique"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "event"], name="rule_event"),
        ]


class NotificationRequest(models.Model):
    """An ANS firing's request to notify (written by the sweep, once per firing)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+", null=True)
    event = models.CharField(max_length=40)  # e.g. "sla.breach", "sla.escalation"
    audience = models.JSONField(default=list)  # roles or named contacts, e.g. ["supervisor", "assignee"]
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=20, default="pending")

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "status", "created_at"], name="notification_pending"),
        ]
