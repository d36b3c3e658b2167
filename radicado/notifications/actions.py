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
) -> None:
    """Record a request to notify; the same key never produces two requests.

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
            )
        ],
        ignore_conflicts=True,
    )
