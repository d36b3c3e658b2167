"""The admin's review of inbound mail that did not become work: list it, process it again."""

from __future__ import annotations

import datetime as dt

from radicado.channels.models import IntakeOutcome, Mailbox, RawMessage, RawStatus
from radicado.tickets.intake.routing import IngestResult, process_raw

REVIEW_STATUSES = (RawStatus.QUARANTINED, RawStatus.HELD, RawStatus.REJECTED)


def raw_messages_for_review(*, workspace_id: int, limit: int = 200) -> list[RawMessage]:
    """Inbound mail of the workspace that did not become work, newest first."""
    return list(
        RawMessage.objects.filter(workspace_id=workspace_id, status__in=REVIEW_STATUSES).order_by("-received_at")[
            :limit
        ]
    )


def reprocess_raw(*, workspace_id: int, raw_id: int, now: dt.datetime) -> IngestResult:
    """Process a kept message again (after a fix, or to accept a held sender); scoped to the workspace."""
    row = RawMessage.objects.filter(workspace_id=workspace_id, id=raw_id, status__in=REVIEW_STATUSES).first()
    mailbox = Mailbox.objects.filter(workspace_id=workspace_id).select_related("workspace").order_by("id").first()
    if row is None or mailbox is None:
        return IngestResult(outcome=IntakeOutcome.NOT_FOUND)
    return process_raw(mailbox=mailbox, row=row, now=now)
