"""Workspace-scoped reads of notification rules."""

from __future__ import annotations

from radicado.notifications.models import NotificationRule


def rules_of(*, workspace_id: int) -> list[NotificationRule]:
    return list(NotificationRule.objects.filter(workspace_id=workspace_id).order_by("event", "audience", "channel"))


def rule_of(*, workspace_id: int, rule_id: int) -> NotificationRule | None:
    """The rule with that id in that workspace, else None (an id from elsewhere is not found)."""
    return NotificationRule.objects.filter(workspace_id=workspace_id, id=rule_id).first()
