"""WhatsApp through Meta's Cloud API (Graph API ``/{phone-number-id}/messages``).

Request, as Meta documents it::

    POST {base_url}/{phone_number_id}/messages
    Authorization: Bearer {access_token}
    Content-Type: application/json

    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
     "type": "text", "text": {"body": "…", "preview_url": false}}

or, outside the 24-hour window, an approved template (components only when it has variables)::

    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573001234567",
     "type": "template", "template": {"name": "ticket_actualizado", "language": {"code": "es"},
      "components": [{"type": "body", "parameters": [{"type": "text", "text": "1234"}]}]}}

Success is HTTP 200 with ``{"messaging_product": "whatsapp", "contacts": [{"input": …,
"wa_id": …}], "messages": [{"id": "wamid.…"}]}``. Errors are Graph API errors:
``{"error": {"message", "type", "code", "error_subcode", "error_data": {"details"},
"fbtrace_id"}}``; see ``classify_error`` for which codes are worth a retry.
"""

from __future__ import annotations

import json
from typing import Any

from radicado.channels.whatsapp.transport import (
    OutgoingMessage,
    SendResult,
    TransportError,
    http_post,
    send_mode,
)

__all__ = ["DEFAULT_BASE_URL", "TEMPORARY_CODES", "MetaCloudTransport", "build_payload", "classify_error"]

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"

TEMPORARY_CODES: frozenset[int] = frozenset(
    {
        1,  # API Unknown: possibly a temporary outage
        2,  # API Service: temporary outage
        4,  # API Too Many Calls (app-level throttling)
        17,  # API User Too Many Calls
        341,  # Application limit reached
        80007,  # WhatsApp Business Account rate limit
        130429,  # Cloud API throughput reached
        131000,  # Something went wrong (Meta: try again)
        131016,  # Service unavailable
        131048,  # Spam rate limit hit (number restricted for a while)
        131056,  # Pair rate limit: too many messages to the same recipient in a short time
        133004,  # Server temporarily unavailable
    }
)
"""Meta ``error.code`` values that a later attempt can get past. Every other code is permanent
unless the HTTP status is 429 or 5xx; notably 131047 (re-engagement: the 24-hour window is
closed), 131026 (undeliverable), 132000/132001 (template parameters / unknown template),
100 (invalid parameter), 190 (access token expired) and 10/200-299 (permissions)."""


def build_payload(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON body Meta documents for ``message`` (text in the window, template outside it).

    Raises TransportError(permanent=True) where ``send_mode`` does.
    """
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to.removeprefix("+"),
    }
    if send_mode(message) == "text":
        payload["type"] = "text"
        payload["text"] = {"body": message.text, "preview_url": False}
        return payload
    assert message.template is not None  # send_mode checked it
    template: dict[str, Any] = {"name": message.template, "language": {"code": message.template_language}}
    if message.template_params:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": value} for value in message.template_params]}
        ]
    payload["type"] = "template"
    payload["template"] = template
    return payload


def classify_error(http_status: int, body: Any) -> TransportError:
    """The TransportError for a non-2xx answer with Graph API error ``body`` (any JSON, or None)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = str(error.get("message") or f"HTTP {http_status}")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    if details and str(details) not in text:
        text = f"{text}: {details}"
    temporary = (code in TEMPORARY_CODES) or http_status == 429 or http_status >= 500
    label = f"Meta error {code}" if code is not None else f"Meta HTTP {http_status}"
    return TransportError(
        f"{label}: {text}",
        permanent=not temporary,
        http_status=http_status,
        provider_code=str(code) if code is not None else None,
    )


class MetaCloudTransport:
    """Sends through one WhatsApp Business phone number of Meta's Cloud API.

    ``base_url`` includes the Graph API version (``https://graph.facebook.com/v21.0``); tests
    point it at a local stand-in. ``timeout`` bounds connecting and every read, in seconds.
    Holds configuration only: safe to share between threads.
    """

    name = "meta"

    def __init__(
        self,
        *,
        phone_number_id: str,
        access_token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        if not phone_number_id or not access_token:
            raise ValueError("phone_number_id and access_token are required")
        self.phone_number_id = phone_number_id
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._access_token = access_token

    def __repr__(self) -> str:  # never show the token
        return f"MetaCloudTransport(phone_number_id={self.phone_number_id!r}, base_url={self.base_url!r})"

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{self.phone_number_id}/messages"

    def send(self, message: OutgoingMessage) -> SendResult:
        """POST one message; see the module docstring for the exact request.

        Returns the ``wamid.…`` id. Raises TransportError: permanent without any request when
        the 24-hour rule or the recipient forbids sending; otherwise as ``classify_error``
        says. A 200 answer without a message id raises a permanent error (the message may have
        gone out, so it is not retried blindly).
        """
        payload = build_payload(message)
        status, body = http_post(
            self.messages_url,
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            {
                "Authorization": f"Bearer {self._access_token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            self.timeout,
        )
        if not 200 <= status < 300:
            raise classify_error(status, body)
        try:
            message_id = body["messages"][0]["id"]
        except (KeyError, IndexError, TypeError):
            message_id = None
        if not isinstance(message_id, str) or not message_id:
            raise TransportError(
                f"Meta answered HTTP {status} without messages[0].id; the message may have been sent",
                permanent=True,
                http_status=status,
            )
        return SendResult(provider_message_id=message_id, provider=self.name)
