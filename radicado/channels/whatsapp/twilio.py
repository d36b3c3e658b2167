"""WhatsApp through Twilio's Programmable Messaging (the classic Messages resource).

Request, as Twilio documents it::

    POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json
    Authorization: Basic base64("{account_sid}:{auth_token}")
    Content-Type: application/x-www-form-urlencoded

    From=whatsapp:+573000000000&To=whatsapp:+573001234567&Body=…[&StatusCallback=https://…]

Outside the 24-hour window an approved WhatsApp template is sent as a Twilio Content Template:
``ContentSid=HX…`` (the template *name* of ``OutgoingMessage`` is, for Twilio, the Content SID)
and ``ContentVariables={"1": "…", "2": "…"}`` (a JSON string), with no ``Body``.

Success is HTTP 201 with the Message resource as JSON (``{"sid": "SM…", "status": "queued",
…}``); errors are ``{"code": 21211, "message": "…", "more_info": "…", "status": 400}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

from radicado.channels.whatsapp.transport import (
    OutgoingMessage,
    SendResult,
    TransportError,
    http_post,
    is_e164,
    send_mode,
)

__all__ = ["DEFAULT_BASE_URL", "TEMPORARY_CODES", "TwilioTransport", "build_form", "classify_error"]

DEFAULT_BASE_URL = "https://api.twilio.com"

TEMPORARY_CODES: frozenset[int] = frozenset(
    {
        20429,  # Too Many Requests
        20500,  # Internal Server Error
        20503,  # Service Unavailable
        30001,  # Queue overflow
        63018,  # Rate limit exceeded for the WhatsApp channel
    }
)
"""Twilio ``code`` values that a later attempt can get past. Every other code is permanent
unless the HTTP status is 429 or 5xx; notably 20003 (authentication), 20404 (wrong account
SID), 21211 (invalid To), 63007 (no WhatsApp sender for From), 21655/21656 (ContentSid /
ContentVariables invalid) and 63016 (outside the 24-hour window)."""


def build_form(message: OutgoingMessage, *, from_number: str, status_callback_url: str | None) -> dict[str, str]:
    """The form fields Twilio documents for ``message`` (Body in the window, ContentSid outside).

    Raises TransportError(permanent=True) where ``send_mode`` does.
    """
    form = {"From": f"whatsapp:{from_number}", "To": f"whatsapp:{message.to}"}
    if send_mode(message) == "text":
        form["Body"] = message.text
    else:
        assert message.template is not None  # send_mode checked it
        form["ContentSid"] = message.template
        if message.template_params:
            variables = {str(i): value for i, value in enumerate(message.template_params, start=1)}
            form["ContentVariables"] = json.dumps(variables, ensure_ascii=False)
    if status_callback_url:
        form["StatusCallback"] = status_callback_url
    return form


def classify_error(http_status: int, body: Any) -> TransportError:
    """The TransportError for a non-2xx answer with Twilio error ``body`` (any JSON, or None)."""
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = str(body.get("message") or f"HTTP {http_status}")
    temporary = (code in TEMPORARY_CODES) or http_status == 429 or http_status >= 500
    label = f"Twilio error {code}" if code is not None else f"Twilio HTTP {http_status}"
    return TransportError(
        f"{label}: {text}",
        permanent=not temporary,
        http_status=http_status,
        provider_code=str(code) if code is not None else None,
    )


class TwilioTransport:
    """Sends from one Twilio WhatsApp sender (``from_number``, E.164) of one account.

    ``status_callback_url``, when given, is sent as ``StatusCallback`` on every message: Twilio
    posts delivery statuses there, signed with the auth token. ``timeout`` bounds connecting
    and every read, in seconds. Holds configuration only: safe to share between threads.
    """

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback_url: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("account_sid and auth_token are required")
        if not is_e164(from_number):
            raise ValueError(f"from_number {from_number!r} is not an E.164 number like +573000000000")
        self.account_sid = account_sid
        self.from_number = from_number
        self.status_callback_url = status_callback_url
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._auth_token = auth_token

    def __repr__(self) -> str:  # never show the token
        return f"TwilioTransport(account_sid={self.account_sid!r}, from_number={self.from_number!r})"

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"

    def send(self, message: OutgoingMessage) -> SendResult:
        """POST one message; see the module docstring for the exact request.

        Returns the ``SM…`` sid. Raises TransportError: permanent without any request when the
        24-hour rule or the recipient forbids sending; otherwise as ``classify_error`` says. A
        2xx answer without a sid raises a permanent error (the message may have gone out, so it
        is not retried blindly).
        """
        form = build_form(message, from_number=self.from_number, status_callback_url=self.status_callback_url)
        credentials = base64.b64encode(f"{self.account_sid}:{self._auth_token}".encode()).decode("ascii")
        status, body = http_post(
            self.messages_url,
            urlencode(form).encode("ascii"),
            {
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            self.timeout,
        )
        if not 200 <= status < 300:
            raise classify_error(status, body)
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not sid:
            raise TransportError(
                f"Twilio answered HTTP {status} without a message sid; the message may have been sent",
                permanent=True,
                http_status=status,
            )
        return SendResult(provider_message_id=sid, provider=self.name)
