"""Outbound mail as rows: written with the event, sent after commit, retried with backoff.

Sending is ``delivery.deliver_due`` (shared with WhatsApp) with SMTP as the transport: a row is
claimed with a conditional UPDATE (a short lease), so several senders never send it twice at once;
a crash after SMTP accepted it and before the row is marked sent can repeat one message, never lose it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings

from radicado.action import insert
from radicado.channels.delivery import ChannelUnavailable, DeliveryFailed, deliver_due
from radicado.channels.email.smtp import SmtpError, send_message
from radicado.channels.models import OutboundMail, OutboundStatus

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    ssl: bool
    starttls: bool


def smtp_config() -> SmtpConfig | None:
    """The relay from ``RADICADO_SMTP_URL`` (smtp://, smtps://, smtp+starttls://); None if unset."""
    url = settings.SMTP_URL
    if not url:
        return None
    parts = urlparse(url)
    ssl = parts.scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname or "localhost",
        port=parts.port or (465 if ssl else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=ssl,
        starttls=parts.scheme == "smtp+starttls",
    )


def queue_mail(
    *,
    workspace_id: int,
    ticket_id: int | None,
    message_id: str,
    mail_from: str,
    rcpt_to: list[str],
    raw: bytes,
    automatic: bool,
    now: dt.datetime,
    event: str = "",
    idempotency_key: str | None = None,
) -> OutboundMail:
    """Record a message to send (call inside the transaction that decided to send it).

    In a unit of work the row is written at its end: its id is None until then.
    """
    return insert(
        OutboundMail(
            event=event,
            idempotency_key=idempotency_key,
            workspace_id=workspace_id,
            ticket_id=ticket_id,
            message_id=message_id,
            mail_from=mail_from,
            rcpt_to=rcpt_to,
            raw=raw,
            automatic=automatic,
            created_at=now,
            next_attempt_at=now,
        )
    )


def send_due(*, now: dt.datetime, ids: list[int] | None = None, limit: int = 100) -> int:
    """Send pending mail whose time has come (or the given ids); return how many were sent."""
    config = smtp_config()
    return deliver_due(
        OutboundMail.objects.filter(status=OutboundStatus.PENDING),
        send=lambda mail: _send_mail(mail, config=config, now=now),
        max_attempts=MAX_ATTEMPTS,
        now=now,
        ids=ids,
        limit=limit,
    )


def _send_mail(mail: OutboundMail, *, config: SmtpConfig | None, now: dt.datetime) -> dict[str, Any]:
    """Hand one message to the relay (the e-mail transport of ``delivery.deliver_due``)."""
    if config is None:
        raise ChannelUnavailable("RADICADO_SMTP_URL no está configurado")
    try:
        send_message(
            host=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            starttls=config.starttls,
            ssl=config.ssl,
            mail_from=mail.mail_from,
            rcpt_to=list(mail.rcpt_to),
            raw=bytes(mail.raw),
        )
    except SmtpError as exc:
        # When some recipients took it, a retry goes only to the ones that refused: nobody gets it twice.
        retry = {"rcpt_to": sorted(exc.refused)} if exc.accepted else None
        raise DeliveryFailed(str(exc), permanent=exc.permanent, on_retry=retry) from exc
    return {"sent_at": now}
