"""Notification requests: written in the transaction of the event that asks for them.

Delivery (rules, templates, transports, retries) belongs to the notifications issue;
for now a request records what must be said, to whom, about what.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from radicado.workspaces.models import Workspace


class NotificationRequest(models.Model):
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
