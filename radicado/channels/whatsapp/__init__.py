"""The WhatsApp channel, pure part: transports (Meta Cloud API, Twilio) and webhook parsing.

No Django and no other Radicado app here (an import-linter contract keeps it so). The outbox,
the webhook views and ticket threading live on the Django side and call into this package:

- ``transport``: ``OutgoingMessage`` → ``WhatsAppTransport.send`` → ``SendResult`` or
  ``TransportError(permanent=…)``; the 24-hour rule (``send_mode``); ``status_advances``.
- ``meta.MetaCloudTransport`` and ``twilio.TwilioTransport``: one HTTP request per send.
- ``webhooks``: signature checks (X-Hub-Signature-256, X-Twilio-Signature) and parsers into
  ``StatusUpdate`` / ``InboundMessage``.
"""

from radicado.channels.whatsapp.meta import MetaCloudTransport
from radicado.channels.whatsapp.transport import (
    InboundMessage,
    MediaRef,
    OutgoingMessage,
    SendResult,
    StatusUpdate,
    TransportError,
    WhatsAppTransport,
    send_mode,
    status_advances,
)
from radicado.channels.whatsapp.twilio import TwilioTransport
from radicado.channels.whatsapp.webhooks import WebhookPayloadError

__all__ = [
    "InboundMessage",
    "MediaRef",
    "MetaCloudTransport",
    "OutgoingMessage",
    "SendResult",
    "StatusUpdate",
    "TransportError",
    "TwilioTransport",
    "WebhookPayloadError",
    "WhatsAppTransport",
    "send_mode",
    "status_advances",
]
