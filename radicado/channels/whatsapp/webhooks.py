"""Provider callbacks: signature checks and parsing into StatusUpdate / InboundMessage.

Pure: the web layer hands over the raw request (body bytes, headers, the exact URL) and gets
plain values back. Verify the signature *before* parsing (and before storing anything), on the raw bytes as received.

Meta (Cloud API)
    ``GET`` subscription handshake: ``verify_meta_subscription``. ``POST`` deliveries carry
    ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>``
    (``verify_meta_signature``); the JSON body is
    ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
    "value": {"statuses": […], "messages": […], "contacts": […]}}]}]}``
    (``parse_meta_webhook``). One delivery can hold several statuses and messages.

Twilio
    Form-encoded ``POST`` with ``X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url +
    concatenated sorted params))`` (``verify_twilio_signature``); a status callback
    (``parse_twilio_status``) or an incoming message (``parse_twilio_inbound``).

Parsers never raise KeyError or TypeError on odd input: anything malformed raises
``WebhookPayloadError`` (a ValueError) naming what is wrong and where. Unknown status values and
change fields that are not ``messages`` are skipped, since providers add them over time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from radicado.channels.whatsapp.transport import InboundMessage, MediaRef, Status, StatusUpdate, is_e164

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "WebhookPayloadError",
    "compute_twilio_signature",
    "nesting_depth",
    "parse_meta_webhook",
    "parse_meta_webhook_body",
    "parse_twilio_inbound",
    "parse_twilio_status",
    "verify_meta_signature",
    "verify_meta_subscription",
    "verify_twilio_signature",
]


class WebhookPayloadError(ValueError):
    """A callback body that does not have the documented shape; the message says where."""


# Spanish placeholders for messages without text (what agents read in the ticket).
PLACEHOLDERS: dict[str, str] = {
    "image": "[imagen]",
    "video": "[video]",
    "audio": "[audio]",
    "document": "[documento]",
    "sticker": "[sticker]",
    "location": "[ubicación]",
    "contacts": "[contacto]",
    "reaction": "[reacción]",
    "unsupported": "[mensaje no compatible]",
}
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


def _utc(epoch: Any, where: str) -> datetime:
    if isinstance(epoch, bool) or not isinstance(epoch, str | int):
        raise WebhookPayloadError(f"{where}: timestamp must be epoch seconds, got {epoch!r}")
    try:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookPayloadError(f"{where}: timestamp must be epoch seconds, got {epoch!r}") from exc


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WebhookPayloadError(f"{where} must be a JSON array, got {type(value).__name__}")
    return value


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookPayloadError(f"{where}.{key} must be a non-empty string, got {value!r}")
    return value


def _optional_text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _e164(raw: str, where: str) -> str:
    number = raw if raw.startswith("+") else f"+{raw}"
    if not is_e164(number):
        raise WebhookPayloadError(f"{where}: {raw!r} is not a phone number in international format")
    return number


# -- Meta ---------------------------------------------------------------------------------------


def verify_meta_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """True if ``header`` (X-Hub-Signature-256) is ``sha256=`` + the hex HMAC-SHA256 of ``body``.

    ``body`` must be the raw request body exactly as received (not re-serialised JSON). The
    comparison is constant-time. A missing or malformed header, or an empty secret, is False.
    """
    if not header or not app_secret:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), digest.strip().lower().encode("utf-8", "replace"))


def verify_meta_subscription(params: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo (HTTP 200, text/plain) if the handshake is ours, else None.

    Meta's GET has ``hub.mode=subscribe``, ``hub.verify_token`` (the token we configured in the
    app dashboard, compared in constant time) and ``hub.challenge``. On None answer 403.
    """
    mode, token, challenge = params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
    if mode != "subscribe" or not token or not challenge or not verify_token:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge


MAX_BODY_BYTES = 1024 * 1024  # a Meta delivery is a few KB; Twilio's form even less
MAX_DEPTH = 32  # Meta's deepest path is about 8 levels


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of JSON arrays and objects in ``body`` (brackets inside strings do not count).

    Checked before ``json.loads``, whose recursion a body of thousands of ``[`` would exhaust.
    """
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def parse_meta_webhook_body(body: bytes) -> tuple[list[StatusUpdate], list[InboundMessage]]:
    """``parse_meta_webhook`` on raw bytes; invalid or too deeply nested JSON raises WebhookPayloadError."""
    if nesting_depth(body) > MAX_DEPTH:
        raise WebhookPayloadError(f"body nested deeper than {MAX_DEPTH} levels")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError(f"body is not JSON: {exc}") from exc
    return parse_meta_webhook(payload)


def parse_meta_webhook(payload: Any) -> tuple[list[StatusUpdate], list[InboundMessage]]:
    """Every status update and inbound message of one Meta ``whatsapp_business_account`` delivery.

    Walks ``entry[].changes[]`` with ``field == "messages"`` (other fields, such as template
    status updates, are skipped) and reads ``value.statuses[]`` and ``value.messages[]``, in
    delivery order. Statuses sent/delivered/read/failed are returned ("played", for voice
    messages, counts as read); others ("deleted", "warning", future ones) are skipped. A failed
    status carries ``errors[0]`` as "code title: details". Inbound ``from`` becomes E.164, the
    sender's profile name comes from ``value.contacts``; see ``InboundMessage`` for ``text``.
    Raises WebhookPayloadError for anything not shaped as Meta documents.
    """
    root = _object(payload, "payload")
    if root.get("object") != "whatsapp_business_account":
        raise WebhookPayloadError(f"payload.object must be 'whatsapp_business_account', got {root.get('object')!r}")
    statuses: list[StatusUpdate] = []
    messages: list[InboundMessage] = []
    for i, entry in enumerate(_array(root.get("entry"), "payload.entry")):
        entry_where = f"entry[{i}]"
        for j, change in enumerate(_array(_object(entry, entry_where).get("changes"), f"{entry_where}.changes")):
            where = f"{entry_where}.changes[{j}]"
            change = _object(change, where)
            if change.get("field", "messages") != "messages":
                continue
            value = _object(change.get("value"), f"{where}.value")
            for k, status in enumerate(_array(value.get("statuses"), f"{where}.value.statuses")):
                update = _meta_status(_object(status, f"{where}.value.statuses[{k}]"), f"{where}.value.statuses[{k}]")
                if update is not None:
                    statuses.append(update)
            names = _meta_profile_names(value, f"{where}.value.contacts")
            for k, message in enumerate(_array(value.get("messages"), f"{where}.value.messages")):
                msg_where = f"{where}.value.messages[{k}]"
                messages.append(_meta_message(_object(message, msg_where), msg_where, names))
    return statuses, messages


_META_STATUS: dict[str, Status] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "read",
    "failed": "failed",
}


def _meta_status(status: dict[str, Any], where: str) -> StatusUpdate | None:
    message_id = _text(status, "id", where)
    raw_status = _text(status, "status", where)
    at = _utc(status.get("timestamp"), where)
    mapped = _META_STATUS.get(raw_status)
    if mapped is None:
        return None
    error = error_code = None
    errors = _array(status.get("errors"), f"{where}.errors")
    if errors:
        first = _object(errors[0], f"{where}.errors[0]")
        code = first.get("code")
        error_code = str(code) if isinstance(code, int | str) and not isinstance(code, bool) and code != "" else None
        title = _optional_text(first, "title") or _optional_text(first, "message")
        error_data = first.get("error_data")
        details = _optional_text(error_data, "details") if isinstance(error_data, dict) else None
        error = " ".join(part for part in (error_code, title) if part) or "unknown error"
        if details and details != title:
            error = f"{error}: {details}"
    elif mapped == "failed":
        error = "failed (no reason given)"
    return StatusUpdate(provider_message_id=message_id, status=mapped, at=at, error=error, error_code=error_code)


def _meta_profile_names(value: dict[str, Any], where: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for k, contact in enumerate(_array(value.get("contacts"), where)):
        contact = _object(contact, f"{where}[{k}]")
        profile = contact.get("profile")
        name = _optional_text(profile, "name") if isinstance(profile, dict) else None
        wa_id = _optional_text(contact, "wa_id")
        if wa_id and name:
            names[wa_id] = name
    return names


def _meta_message(message: dict[str, Any], where: str, names: dict[str, str]) -> InboundMessage:
    message_id = _text(message, "id", where)
    sender = _text(message, "from", where)
    at = _utc(message.get("timestamp"), where)
    kind = _text(message, "type", where)
    media: list[MediaRef] = []
    content = message.get(kind)
    content = content if isinstance(content, dict) else {}
    if kind == "text":
        text = _text(_object(message.get("text"), f"{where}.text"), "body", f"{where}.text")
    elif kind in MEDIA_KINDS:
        media_obj = _object(message.get(kind), f"{where}.{kind}")
        filename = _optional_text(media_obj, "filename")
        media.append(
            MediaRef(
                ref=_text(media_obj, "id", f"{where}.{kind}"),
                kind=kind,
                content_type=_optional_text(media_obj, "mime_type"),
                filename=filename,
            )
        )
        caption = _optional_text(media_obj, "caption")
        placeholder = f"[documento: {filename}]" if kind == "document" and filename else PLACEHOLDERS[kind]
        text = caption or placeholder
    elif kind == "button":  # a quick-reply button of one of our templates
        text = _optional_text(content, "text") or _optional_text(content, "payload") or "[botón]"
    elif kind == "interactive":  # a reply button or a list row of one of our interactive messages
        reply = content.get("button_reply") or content.get("list_reply")
        text = (_optional_text(reply, "title") if isinstance(reply, dict) else None) or "[respuesta]"
    elif kind == "location":
        parts = [p for p in (_optional_text(content, "name"), _optional_text(content, "address")) if p]
        lat, lon = content.get("latitude"), content.get("longitude")
        if lat is not None and lon is not None:
            parts.append(f"({lat}, {lon})")
        text = " ".join([PLACEHOLDERS["location"], *parts])
    elif kind == "contacts":
        shared = []
        for card in _array(message.get("contacts"), f"{where}.contacts"):
            name = card.get("name") if isinstance(card, dict) else None
            formatted = _optional_text(name, "formatted_name") if isinstance(name, dict) else None
            if formatted:
                shared.append(formatted)
        text = " ".join([PLACEHOLDERS["contacts"], *shared])
    elif kind == "reaction":
        emoji = _optional_text(content, "emoji")
        text = f"[reacción {emoji}]" if emoji else "[reacción retirada]"
    else:
        text = PLACEHOLDERS["unsupported"]
    context = message.get("context")
    in_reply_to = _optional_text(context, "id") if isinstance(context, dict) else None
    if kind == "reaction":
        in_reply_to = _optional_text(content, "message_id") or in_reply_to
    return InboundMessage(
        provider_message_id=message_id,
        from_number=_e164(sender, f"{where}.from"),
        text=text,
        at=at,
        media=media,
        profile_name=names.get(sender),
        in_reply_to=in_reply_to,
        kind=kind,
    )


# -- Twilio -------------------------------------------------------------------------------------

TwilioParams = Mapping[str, str | list[str]]


def compute_twilio_signature(url: str, params: TwilioParams, auth_token: str) -> str:
    """Twilio's X-Twilio-Signature for a request to ``url`` with POST ``params``.

    The string signed is ``url`` followed by every parameter, sorted by name, as name + value
    with no separators (repeated names: each value, sorted); HMAC-SHA1 keyed with the auth
    token, base64-encoded. For a GET the parameters are in ``url`` and ``params`` is empty.
    """
    data = url
    for name in sorted(params):
        values = params[name]
        for value in sorted(set(values)) if isinstance(values, list) else [values]:
            data += name + value
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """``url`` without and with its port, as Twilio's helper libraries try both (Twilio's own
    signing is inconsistent about including a default port)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    hostname = host.rsplit(":", 1)[0] if port is not None else host
    default = 443 if parts.scheme == "https" else 80
    without = parts._replace(netloc=f"{userinfo}{hostname}").geturl()
    with_port = parts._replace(netloc=f"{userinfo}{hostname}:{port or default}").geturl()
    return [without, with_port]


def verify_twilio_signature(url: str, params: TwilioParams, header: str | None, auth_token: str) -> bool:
    """True if ``header`` (X-Twilio-Signature) signs ``url`` and ``params`` with ``auth_token``.

    ``url`` must be the full URL Twilio requested, exactly as configured in Twilio (scheme,
    host, path and query string; behind a TLS-terminating proxy rebuild the public https URL).
    ``params`` are all the POST form fields, unmodified (with Django, ``{k: request.POST.getlist(k)
    for k in request.POST}``). Like Twilio's helper libraries it accepts the signature with or
    without the URL's port. Constant-time; a missing header or empty token is False.
    """
    if not header or not auth_token:
        return False
    given = header.strip().encode("utf-8", "replace")
    return any(
        hmac.compare_digest(compute_twilio_signature(variant, params, auth_token).encode("ascii"), given)
        for variant in _port_variants(url)
    )


def _single(params: TwilioParams, key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value if isinstance(value, str) and value else None


_TWILIO_STATUS: dict[str, Status] = {
    # Twilio has taken the message but not yet handed it to WhatsApp: for us that is "sent".
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def _now() -> datetime:
    return datetime.now(tz=UTC)


def parse_twilio_status(params: TwilioParams, *, received_at: datetime | None = None) -> StatusUpdate:
    """A Twilio status callback (``MessageSid``, ``MessageStatus``, ``ErrorCode``…) as a StatusUpdate.

    MessageStatus queued/accepted/scheduled/sending/sent → "sent", delivered → "delivered",
    read → "read", failed/undelivered/canceled → "failed" with ``error_code`` = ErrorCode.
    Twilio gives no event time, so ``at`` is ``received_at`` (default: now, UTC). Raises
    WebhookPayloadError without MessageSid/MessageStatus, or for an inbound-message status
    ("received", "receiving") or an unknown one.
    """
    sid = _single(params, "MessageSid") or _single(params, "SmsSid")
    raw_status = _single(params, "MessageStatus") or _single(params, "SmsStatus")
    if not sid:
        raise WebhookPayloadError("Twilio status callback without MessageSid")
    if not raw_status:
        raise WebhookPayloadError(f"Twilio status callback for {sid} without MessageStatus")
    status = _TWILIO_STATUS.get(raw_status.lower())
    if status is None:
        raise WebhookPayloadError(f"Twilio status callback for {sid}: {raw_status!r} is not an outbound message status")
    code = _single(params, "ErrorCode")
    code = code if code and code != "0" else None
    error = None
    if code or status == "failed":
        reason = _single(params, "ErrorMessage") or _single(params, "ChannelStatusMessage")
        error = " ".join(part for part in (code, reason) if part) or f"{raw_status} (no reason given)"
    return StatusUpdate(provider_message_id=sid, status=status, at=received_at or _now(), error=error, error_code=code)


def parse_twilio_inbound(params: TwilioParams, *, received_at: datetime | None = None) -> InboundMessage:
    """An incoming WhatsApp message posted by Twilio (``From=whatsapp:+57…``, ``Body``, media).

    Media are ``MediaUrl0…`` / ``MediaContentType0…`` up to ``NumMedia``; the text is the Body,
    else a placeholder from the first media's type ("[imagen]"…), a location, or a quick-reply
    button's text. ``ProfileName`` and ``OriginalRepliedMessageSid`` are kept. ``at`` is
    ``received_at`` (default: now, UTC). Raises WebhookPayloadError without MessageSid or with a
    From that is not ``whatsapp:`` + E.164, or a NumMedia that is not a count.
    """
    sid = _single(params, "MessageSid") or _single(params, "SmsMessageSid") or _single(params, "SmsSid")
    if not sid:
        raise WebhookPayloadError("Twilio inbound message without MessageSid")
    sender = _single(params, "From")
    if not sender or not sender.startswith("whatsapp:"):
        raise WebhookPayloadError(f"Twilio inbound message {sid}: From must be 'whatsapp:+…', got {sender!r}")
    from_number = _e164(sender.removeprefix("whatsapp:"), f"Twilio inbound message {sid}: From")
    raw_count = _single(params, "NumMedia") or "0"
    if not raw_count.isdigit():
        raise WebhookPayloadError(f"Twilio inbound message {sid}: NumMedia must be a count, got {raw_count!r}")
    media: list[MediaRef] = []
    for i in range(int(raw_count)):
        url = _single(params, f"MediaUrl{i}")
        if not url:
            raise WebhookPayloadError(
                f"Twilio inbound message {sid}: NumMedia is {raw_count} but MediaUrl{i} is missing"
            )
        content_type = _single(params, f"MediaContentType{i}")
        media.append(MediaRef(ref=url, kind=_kind_of(content_type), content_type=content_type))
    kind = (_single(params, "MessageType") or (media[0].kind if media else "text")).lower()
    text = _single(params, "Body") or _single(params, "ButtonText")
    if not text:
        if media:
            text = PLACEHOLDERS.get(media[0].kind, PLACEHOLDERS["document"])
        elif (lat := _single(params, "Latitude")) and (lon := _single(params, "Longitude")):
            place = [p for p in (_single(params, "Label"), _single(params, "Address")) if p]
            text = " ".join([PLACEHOLDERS["location"], *place, f"({lat}, {lon})"])
            kind = "location"
        else:
            text = PLACEHOLDERS["unsupported"]
    return InboundMessage(
        provider_message_id=sid,
        from_number=from_number,
        text=text,
        at=received_at or _now(),
        media=media,
        profile_name=_single(params, "ProfileName"),
        in_reply_to=_single(params, "OriginalRepliedMessageSid"),
        kind=kind,
    )


def _kind_of(content_type: str | None) -> str:
    major = (content_type or "").split("/", 1)[0].lower()
    return major if major in ("image", "video", "audio") else "document"
