"""Write notification rules and SLA notification requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from radicado.action import action
from radicado.errors import UserError
from radicado.notifications.defaults import DEFAULT_RULES, DEFAULT_TEXTS
from radicado.notifications.models import (
    Audience,
    NotificationChannel,
    NotificationEvent,
    NotificationRequest,
    NotificationRule,
)
from radicado.notifications.rendering import TemplateInvalid, check
from radicado.workspaces.access import Actor
from radicado.workspaces.actions import audit
from radicado.workspaces.models import Workspace

TEMPLATE_FIELDS = ("subject_es", "body_es", "subject_en", "body_en")


class RuleError(UserError):
    """The rule cannot be saved; the message is for the admin."""


@action
def request_notification(
    *,
    workspace_id: int,
    ticket_id: int | None,
    event: str,
    audience: Sequence[str],
    payload: dict[str, Any],
    idempotency_key: str,
    now: dt.datetime,
) -> None:
    """Record an ANS firing's request to notify; the same key never produces two requests.

    One ``INSERT … ON CONFLICT DO NOTHING``: no read first, no savepoint.
    """
    NotificationRequest.objects.bulk_create(
        [
            NotificationRequest(
                workspace_id=workspace_id,
                ticket_id=ticket_id,
                event=event,
                audience=list(audience),
                payload=payload,
                idempotency_key=idempotency_key,
                created_at=now,
                status="dispatched",
            )
        ],
        ignore_conflicts=True,
    )


def _validated(event: str, audience: str, channel: str, texts: Mapping[str, str]) -> dict[str, str]:
    if event not in NotificationEvent.values:
        raise RuleError(_("Unknown event: %(value)s") % {"value": event})
    if audience not in Audience.values:
        raise RuleError(_("Unknown audience: %(value)s") % {"value": audience})
    if channel not in NotificationChannel.values:
        raise RuleError(_("Unknown channel: %(value)s") % {"value": channel})
    cleaned = {f: (texts.get(f) or "").strip() for f in TEMPLATE_FIELDS}
    if not cleaned["body_es"]:
        raise RuleError(_("Write the Spanish message."))
    for field, source in cleaned.items():
        try:
            check(source)
        except TemplateInvalid as exc:
            raise RuleError(f"{field}: {exc}") from exc
    return cleaned


@action
def install_rules(
    *, workspace: Workspace, specs: Iterable[Mapping[str, Any]] | None, now: dt.datetime
) -> list[NotificationRule]:
    """Install a profile's rules (``None``: the default rule set); texts default per event."""
    if specs is None:
        specs = [{"event": e, "audience": a, "channel": c} for e, a, c in DEFAULT_RULES]
    rules = []
    for i, spec in enumerate(specs):
        event, audience, channel = spec.get("event", ""), spec.get("audience", ""), spec.get("channel", "")
        texts = {**DEFAULT_TEXTS.get(event, {}), **{f: spec[f] for f in TEMPLATE_FIELDS if f in spec}}
        try:
            cleaned = _validated(event, audience, channel, texts)
        except RuleError as exc:
            raise RuleError(f"notifications[{i}]: {exc}") from exc
        rules.append(
            NotificationRule(
                workspace=workspace,
                event=event,
                audience=audience,
                channel=channel,
                enabled=spec.get("enabled", True),
                updated_at=now,
                **cleaned,
            )
        )
    return NotificationRule.objects.bulk_create(rules)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionError(_("Only workspace admins can change notifications."))


@action
def save_rule(
    *,
    actor: Actor,
    rule: NotificationRule | None,
    event: str,
    audience: str,
    channel: str,
    enabled: bool,
    texts: Mapping[str, str],
    now: dt.datetime,
) -> NotificationRule:
    """Create (``rule`` None) or change a rule of the actor's workspace; raise RuleError if invalid."""
    _require_admin(actor)
    if rule is not None and rule.workspace_id != actor.workspace.id:
        raise PermissionError("rule of another workspace")
    cleaned = _validated(event, audience, channel, texts)
    clash = NotificationRule.objects.filter(
        workspace_id=actor.workspace.id, event=event, audience=audience, channel=channel
    )
    if rule is not None:
        clash = clash.exclude(id=rule.id)
    if clash.exists():
        raise RuleError(_("There is already a rule for that event, audience and channel."))
    if rule is None:
        rule = NotificationRule(workspace=actor.workspace)
    rule.event, rule.audience, rule.channel, rule.enabled, rule.updated_at = event, audience, channel, enabled, now
    for field, value in cleaned.items():
        setattr(rule, field, value)
    rule.save()
    audit(
        workspace=actor.workspace,
        actor=actor.user,
        action="notification_rule.saved",
        target=f"{event}/{audience}/{channel}",
        now=now,
        data={"rule": rule.id, "enabled": enabled},
    )
    return rule


@action
def delete_rule(*, actor: Actor, rule: NotificationRule, now: dt.datetime) -> None:
    _require_admin(actor)
    if rule.workspace_id != actor.workspace.id:
        raise PermissionError("rule of another workspace")
    target = f"{rule.event}/{rule.audience}/{rule.channel}"
    rule.delete()
    audit(workspace=actor.workspace, actor=actor.user, action="notification_rule.deleted", target=target, now=now)
