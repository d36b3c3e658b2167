"""The provider-neutral WhatsApp interface: what we send, what comes back, and how it fails.

Pure: no Django, no models. A transport (Meta Cloud API, Twilio) turns one ``OutgoingMessage``
into one HTTP request and returns the provider's message id; the caller (the outbox) owns
retries and uses ``TransportError.permanent`` to decide whether another attempt can succeed.
Webhook parsers (``webhooks``) turn provider callbacks into ``StatusUpdate`` and
``InboundMessage`` values keyed by that same provider message id.

The 24-hour rule (WhatsApp's customer service window): a business may send free-form text only
within 24 hours of the customer's last message; outside it only an approved template may be
sent. ``OutgoingMessage.within_window`` is the caller's belief about the window and
``send_mode`` applies the rule before any HTTP request is made. The provider has the last word:
if our belief is wrong the provider rejects the text (Meta error 131047, Twilio 63016),
synchronously or later through a ``failed`` status webhook.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

__all__ = [
    "STATUSES",
    "InboundMessage",
    "MediaRef",
    "OutgoingMessage",
    "SendResult",
    "Status",
    "StatusUpdate",
    "TransportError",
    "WhatsAppTransport",
    "http_post",
    "is_e164",
    "number_variants",
    "send_mode",
    "status_advances",
]

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
"""E.164 as we store it: ``+``, country code, subscriber number; 7 to 15 digits in all."""

Status = Literal["sent", "delivered", "read", "failed"]
STATUSES: tuple[Status, ...] = ("sent", "delivered", "read", "failed")

# A status only moves forward. "failed" ranks above "sent" but below "delivered": providers do not
# guarantee the order of callbacks, and with several devices a "delivered" can follow a "failed"
# (the message did arrive), while a late "failed" must not undo a "delivered" or "read".
_RANK: dict[str, int] = {"sent": 1, "failed": 2, "delivered": 3, "read": 4}


def is_e164(number: str) -> bool:
    """True if ``number`` is E.164 with the plus sign (``+573001234567``)."""
    return bool(E164.match(number))


def number_variants(number: str) -> set[str]:
    """``number`` (E.164) and the other spellings WhatsApp uses for the same phone.

    WhatsApp ids keep the old mobile prefixes of Mexico (``+52 1`` + 10 digits, dropped from
    E.164 in 2019) and Argentina (``+54 9`` + 10 digits), so an inbound ``from`` may not equal
    the number stored for the contact. Match contacts against every variant. Other countries:
    the number alone.
    """
    variants = {number}
    digits = number.removeprefix("+")
    for country, mobile in (("52", "1"), ("54", "9")):
        if not digits.startswith(country):
            continue
        national = digits[len(country) :]
        if len(national) == 10:
            variants.add(f"+{country}{mobile}{national}")
        elif len(national) == 11 and national.startswith(mobile):
            variants.add(f"+{country}{national[1:]}")
    return variants


def status_advances(current: str | None, new: str) -> bool:
    """Whether a callback with status ``new`` should replace ``current`` on the outbox row.

    Makes status webhooks idempotent and order-independent: a repeated or older status is a
    no-op (False). Order: sent < failed < delivered < read; ``current`` None or unknown (e.g. a
    row not yet sent) always advances. Raises ValueError for a ``new`` that is not a Status.
    """
    if new not in _RANK:
        raise ValueError(f"unknown WhatsApp status {new!r}; expected one of {', '.join(STATUSES)}")
    return _RANK[new] > _RANK.get(current or "", 0)


@dataclass(frozen=True, kw_only=True)
class OutgoingMessage:
    """One WhatsApp message to one recipient.

    ``to`` is E.164 (``+573001234567``). ``text`` is sent as free-form text when
    ``within_window`` (the customer wrote in the last 24 hours). Outside the window ``template``
    is required: for Meta the approved template's name, for Twilio its Content SID (``HX…``);
    ``template_params`` fill its body placeholders {{1}}, {{2}}… in order, and
    ``template_language`` is the approved translation's code (Meta only; a Twilio Content SID
    already names one language). ``text`` is then only what we record for humans.
    """

    to: str
    text: str
    within_window: bool
    template: str | None = None
    template_language: str = "es"
    template_params: list[str] = field(default_factory=list)


def send_mode(message: OutgoingMessage) -> Literal["text", "template"]:
    """Apply the 24-hour rule: "text" inside the window, "template" outside it.

    Inside the window a message with empty text but a template is sent as the template
    (templates are allowed at any time). Raises TransportError(permanent=True), before any
    request, for a recipient not in E.164, a message outside the window without a template, or
    nothing to send at all.
    """
    if not is_e164(message.to):
        raise TransportError(f"recipient {message.to!r} is not an E.164 number like +573001234567", permanent=True)
    if message.within_window and message.text.strip():
        return "text"
    if message.template:
        return "template"
    if message.within_window:
        raise TransportError("nothing to send: empty text and no template", permanent=True)
    raise TransportError(
        "outside the 24-hour customer service window WhatsApp only delivers approved templates, "
        "and this message has none",
        permanent=True,
    )


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message: its id (Meta ``wamid.…``, Twilio ``SM…``) for status webhooks."""

    provider_message_id: str
    provider: str


class TransportError(Exception):
    """Sending failed; ``permanent`` says whether retrying the same message can ever succeed.

    Permanent: 4xx answers (bad credentials or configuration, invalid recipient, unknown
    template, closed 24-hour window), except rate limits. Temporary: HTTP 429 and the
    providers' rate-limit codes, 5xx answers, timeouts, refused or dropped connections.
    ``http_status`` and ``provider_code`` (Meta ``error.code``, Twilio ``code``) are kept when
    the provider gave them, for the outbox row and the admin view.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        http_status: int | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.http_status = http_status
        self.provider_code = provider_code


class WhatsAppTransport(Protocol):
    """One WhatsApp provider account. ``send`` makes at most one HTTP request and never retries.

    Returns a SendResult once the provider accepted the message (delivery is reported later by
    status webhooks); raises TransportError otherwise. Implementations must be safe to call
    from several threads (they hold configuration only).
    """

    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery-status callback for a message we sent.

    ``at`` is timezone-aware (UTC): the provider's event time, or the time we received the
    callback when the provider gives none (Twilio). ``error`` is a human-readable reason for
    ``failed`` ("131047 Re-engagement message: …"); ``error_code`` the provider's code alone.
    """

    provider_message_id: str
    status: Status
    at: datetime
    error: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class MediaRef:
    """An attachment of an inbound message, not yet downloaded.

    ``ref`` is a Meta media id (fetch it with the access token through the Graph API) or a
    Twilio media URL (fetch it with HTTP Basic auth). ``kind`` is "image", "audio", "video",
    "document" or "sticker"; ``content_type`` and ``filename`` when the provider sent them.
    """

    ref: str
    kind: str
    content_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent to our WhatsApp number.

    ``from_number`` is E.164. ``text`` is never empty: the body, a media caption, or a Spanish
    placeholder such as "[imagen]" for media without a caption and for other message types.
    ``at`` is timezone-aware (UTC). ``in_reply_to`` is the provider id of the message the
    customer replied or reacted to, when the provider says so (Meta ``context.id``, Twilio
    ``OriginalRepliedMessageSid``). ``kind`` is the provider's message type ("text", "image",
    "location", "reaction", …) so the caller can decide, say, not to append reactions.
    """

    provider_message_id: str
    from_number: str
    text: str
    at: datetime
    media: list[MediaRef] = field(default_factory=list)
    profile_name: str | None = None
    in_reply_to: str | None = None
    kind: str = "text"


# -- HTTP, shared by the transports -------------------------------------------------------------


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, Any]:
    """POST ``body`` and return (HTTP status, parsed JSON body or None when not JSON).

    Returns for every HTTP answer, including 4xx and 5xx. Raises TransportError(permanent=False)
    when no answer arrived: timeout, refused or dropped connection, DNS or TLS failure.
    """
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - https/http URL from settings
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
        try:
            raw = exc.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        finally:
            exc.close()
    except TimeoutError as exc:
        raise TransportError(f"no answer from {url} within {timeout:g} s", permanent=False) from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise TransportError(f"no answer from {url} within {timeout:g} s", permanent=False) from exc
        raise TransportError(f"could not reach {url}: {reason}", permanent=False) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"connection to {url} failed: {exc!r}", permanent=False) from exc
    try:
        return status, json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return status, None
