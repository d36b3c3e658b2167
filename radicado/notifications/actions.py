"""Write notification requests (delivery comes with the notifications issue)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from radicado.notifications.models import NotificationRequest


def request_notification(
    *,
    workspace_id: int,
    ticket_id: int | None,
    event: str,
    audience: Sequence[str],
    payload: dict[str, Any],
    idempotency_key: str,
    now: dt.datetime,
) -> NotificationRequest:
    """Record a request to notify; the same key never produces two requests."""
    request, _ = NotificationRequest.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "workspace_id": workspace_id,
            "ticket_id": ticket_id,
            "event": event,
            "audience": list(audience),
            "payload": payload,
            "created_at": now,
        },
    )
    return request
