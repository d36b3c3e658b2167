"""One delivery mechanism for every outbox: claim a due row, send it, then record sent, retry or failed.

An outbox is a model whose rows follow one protocol: ``status`` (``OutboundStatus``: pending, sent,
failed; a channel may add later statuses of its own, as WhatsApp's delivered and read), ``attempts``,
``next_attempt_at`` and ``last_error``. A channel brings two things: the queryset of its pending rows
and a transport, a function that sends one row and either returns the fields to record with ``sent``
or raises ``DeliveryFailed`` (or ``ChannelUnavailable``). Everything else is the same for e-mail and
WhatsApp, and lives here:

* a row is claimed with ``claims.claim_due`` (attempts + 1, held for the lease), one at a time;
* sent: ``status = sent``, ``last_error`` cleared, plus the transport's fields;
* a temporary failure: pending again after ``claims.backoff(attempts)``, with the error;
* a permanent failure, or a temporary one at ``max_attempts``: ``failed``, no next attempt.

Any other exception from a transport is a bug: it propagates, and the row stays claimed until its
lease ends, then is tried again like a row whose sender crashed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

from django.db.models import Model, QuerySet

from radicado.action import action
from radicado.channels.claims import backoff, claim_due
from radicado.channels.models import OutboundStatus

M = TypeVar("M", bound=Model)
# The fields of the transport's answer recorded on a sent row (e-mail: ``sent_at``; WhatsApp: the
# provider's message id and ``status_at``).
Transport = Callable[[M], Mapping[str, Any]]
ERROR_LENGTH = 2000


class DeliveryFailed(Exception):
    """The row did not go out.

    ``permanent``: sending the same row again can never succeed (an SMTP 5xx, a provider's 4xx).
    ``on_retry``: fields to change when the row is retried (e-mail: only the recipients that refused,
    when others took the message); ignored when the row fails for good.
    """

    def __init__(self, message: str, *, permanent: bool, on_retry: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.on_retry = dict(on_retry or {})


class ChannelUnavailable(Exception):
    """The channel cannot send anything (no relay configured): nothing is wrong with the row.

    The row stays pending and is claimed again when its lease ends; its error says why.
    """


class _Claimed(Protocol):
    pk: Any
    attempts: int


def deliver_due(
    pending: QuerySet[M],
    *,
    send: Transport[M],
    max_attempts: int,
    now: dt.datetime,
    ids: list[int] | None = None,
    limit: int = 100,
) -> int:
    """Claim and send the rows of ``pending`` that are due (or only ``ids``); return how many were sent.

    ``pending`` is the channel's pending rows (its ``status`` is pending). Raises what ``send`` raises
    other than ``DeliveryFailed`` and ``ChannelUnavailable``.
    """
    if ids is not None:
        pending = pending.filter(id__in=ids)
        limit = max(limit, len(ids))  # a batch's send job names all its rows
    sent = 0
    for row in claim_due(pending, now=now, limit=limit):
        sent += _attempt(cast(M, row), send=send, max_attempts=max_attempts, now=now)
    return sent


def _attempt(row: M, *, send: Transport[M], max_attempts: int, now: dt.datetime) -> bool:
    """Send one claimed row and record the result on it; True when it went out."""
    attempts = cast(_Claimed, row).attempts  # this one included: the claim counted it
    try:
        fields = send(row)
    except ChannelUnavailable as exc:
        _record(row, last_error=str(exc)[:ERROR_LENGTH])
        return False
    except DeliveryFailed as exc:
        if exc.permanent or attempts >= max_attempts:
            _record(row, status=OutboundStatus.FAILED, next_attempt_at=None, last_error=str(exc)[:ERROR_LENGTH])
        else:
            _record(
                row,
                status=OutboundStatus.PENDING,
                next_attempt_at=now + backoff(attempts),
                last_error=str(exc)[:ERROR_LENGTH],
                **exc.on_retry,
            )
        return False
    _record(row, status=OutboundStatus.SENT, last_error="", **fields)
    return True


@action
def _record(row: Model, **fields: Any) -> None:
    """What became of one attempt, on its row."""
    type(row)._default_manager.filter(pk=row.pk).update(**fields)
