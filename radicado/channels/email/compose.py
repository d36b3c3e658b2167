"""Build outbound messages: our Message-ID carries the ticket, threading headers, loop flags."""

from __future__ import annotations

import datetime as dt
import secrets
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime


def new_message_id(*, reference: str, domain: str) -> str:
    """A fresh Message-ID (without angle brackets) that names the ticket, e.g.
    ``radicado.SOP-000123.3f9c…@soporte.example.com``."""
    return f"radicado.{reference}.{secrets.token_hex(8)}@{domain}"


def compose(
    *,
    from_name: str,
    from_address: str,
    to: list[str],
    subject: str,
    body: str,
    message_id: str,
    now: dt.datetime,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    automatic: str | None = None,
) -> bytes:
    """Serialise one text message.

    ``automatic`` is the RFC 3834 ``Auto-Submitted`` value ("auto-replied" for an
    acknowledgement of a message, "auto-generated" for a notification); None for a
    person's reply. Automatic mail also asks auto-responders not to answer.
    """
    msg = EmailMessage()
    local, _, domain = from_address.partition("@")
    msg["From"] = Address(display_name=from_name, username=local, domain=domain)
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references[-20:])
    if automatic:
        msg["Auto-Submitted"] = automatic
        msg["X-Auto-Response-Suppress"] = "All"
        msg["Precedence"] = "auto_reply" if automatic == "auto-replied" else "bulk"
    msg.set_content(body)
    return bytes(msg)
