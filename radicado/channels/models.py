"""Channel rows: mailboxes, every raw inbound message, the Message-ID index, outbound mail.

Raw input is stored before it is processed (content-addressed), so nothing is ever
lost: a message that cannot be parsed stays here, flagged, and can be reprocessed.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from radicado.workspaces.models import Workspace


class UnknownSenderPolicy(models.TextChoices):
    CREATE = "create", _("Create the sender as a contact of a floating customer")
    REJECT = "reject", _("Reject with a notice")
    HOLD = "hold", _("Hold for review")


class Mailbox(models.Model):
    """A workspace's support address: where mail is read from and who mail is sent as."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="mailboxes")
    address = models.EmailField(unique=True)
    display_name = models.CharField(max_length=200)
    imap_host = models.CharField(max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_username = models.CharField(max_length=200, blank=True)
    # Stored as configured by the workspace admin; encryption at rest is an operator concern (ADR 0006).
    imap_password = models.CharField(max_length=200, blank=True)
    imap_folder = models.CharField(max_length=200, default="INBOX")
    unknown_senders = models.CharField(
        max_length=10, choices=UnknownSenderPolicy.choices, default=UnknownSenderPolicy.CREATE
    )
    floating_customer_code = models.SlugField(default="particulares")
    auto_replies_per_hour = models.PositiveSmallIntegerField(default=5)
    # A `mail poll` run reads this mailbox until then (its lease); no other run reads it meanwhile.
    polled_until = models.DateTimeField(null=True, blank=True)


class RawStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored (automatic)")
    QUARANTINED = "quarantined", _("Quarantined")
    HELD = "held", _("Held for review")
    REJECTED = "rejected", _("Rejected")


class RawMessage(models.Model):
    """One inbound message exactly as received; its file is named by its SHA-256."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    file = models.CharField(max_length=300)  # storage name
    source = models.CharField(max_length=20)  # imap, lmtp, file, api
    received_at = models.DateTimeField()
    message_id = models.CharField(max_length=500, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=RawStatus.choices, default=RawStatus.RECEIVED)
    outcome = models.CharField(max_length=20, blank=True)  # an IntakeOutcome; blank until routed
    detail = models.TextField(blank=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "sha256"], name="raw_unique_content"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "status", "received_at"], name="raw_status"),
        ]


class MessageIndex(models.Model):
    """Every Message-ID seen or sent for a ticket: how replies find their thread."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=500)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    outbound = models.BooleanField()
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "message_id"], name="msgid_unique"),
        ]


class OutboundStatus(models.TextChoices):
    """The statuses of an outbox row that ``channels.delivery`` reads and writes (every channel has them)."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed permanently")


class IntakeOutcome(models.TextChoices):
    """What became of one inbound message (``mail_in.IngestResult.outcome``, ``RawMessage.outcome``)."""

    CREATED = "created", _("New request")
    THREADED = "threaded", _("Added to a request")
    IGNORED = "ignored", _("Ignored")
    QUARANTINED = "quarantined", _("Quarantined")
    HELD = "held", _("Held for review")
    REJECTED = "rejected", _("Rejected")
    # Reprocessing only: no message kept for review with that id in the workspace.
    NOT_FOUND = "not found", _("Not found")


class OutboundMail(models.Model):
    """A message to send, written in the transaction that decided to send it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, null=True, related_name="+")
    message_id = models.CharField(max_length=500, unique=True)
    mail_from = models.EmailField()
    rcpt_to = models.JSONField()
    raw = models.BinaryField()
    automatic = models.BooleanField()
    status = models.CharField(max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # Notifications: which event and rule asked for this mail; the key makes it once only.
    event = models.CharField(max_length=40, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="outbound_due"),
            # The outbox page (channels/queries.py): newest first, with or without a status filter.
            models.Index(fields=["workspace", "created_at", "id"], name="outbound_newest"),
            models.Index(fields=["workspace", "status", "created_at", "id"], name="outbound_status_newest"),
        ]


class AutoReply(models.Model):
    """Automatic answers sent, per address, to rate-limit them (RFC 3834)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)
    sent_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "address", "sent_at"], name="autoreply_recent"),
        ]


class WhatsAppProvider(models.TextChoices):
    META = "meta", "Meta Cloud API"
    TWILIO = "twilio", "Twilio"


class WhatsAppAccount(models.Model):
    """A workspace's WhatsApp line (T7, T13, C3) and its provider credentials."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="whatsapp")
    provider = models.CharField(max_length=10, choices=WhatsAppProvider.choices)
    number = models.CharField(max_length=20)  # E.164 of the line
    api_base_url = models.URLField(blank=True)  # blank: the provider's public API
    # Meta Cloud API
    phone_number_id = models.CharField(max_length=64, blank=True)
    access_token = models.CharField(max_length=500, blank=True)
    app_secret = models.CharField(max_length=200, blank=True)
    verify_token = models.CharField(max_length=200, blank=True)
    # Twilio
    account_sid = models.CharField(max_length=64, blank=True)
    auth_token = models.CharField(max_length=200, blank=True)
    webhook_url = models.URLField(blank=True)  # the public URL Twilio signs
    # The approved template used outside the 24-hour window: {{1}} reference, {{2}} subject.
    followup_template = models.CharField(max_length=100, blank=True)
    followup_template_language = models.CharField(max_length=10, default="es")


class WhatsAppStatus(models.TextChoices):
    """An outgoing message is an outbox row (pending, sent, failed, as ``OutboundStatus``) that the provider's
    status webhooks move on to delivered and read; an incoming one is received."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed permanently")
    RECEIVED = "received", _("Received")


class WhatsAppMessage(models.Model):
    """One WhatsApp message in or out; outgoing ones are the outbox (attempts, backoff, status)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    inbound = models.BooleanField()
    number = models.CharField(max_length=20)  # the customer's E.164
    text = models.TextField(blank=True)
    template = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=list, blank=True)
    within_window = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=WhatsAppStatus.choices, default=WhatsAppStatus.PENDING)
    provider_message_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    status_at = models.DateTimeField(null=True, blank=True)
    event = models.CharField(max_length=40, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="whatsapp_unique_provider_id",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="whatsapp_due"),
            models.Index(fields=["workspace", "number", "inbound", "created_at"], name="whatsapp_window"),
            # Partial on outgoing rows: SQLite cannot match an index column to Django's ``NOT inbound``.
            models.Index(
                fields=["workspace", "created_at", "id"], condition=models.Q(inbound=False), name="whatsapp_out_newest"
            ),
            models.Index(
                fields=["workspace", "status", "created_at", "id"],
                condition=models.Q(inbound=False),
                name="whatsapp_out_status_newest",
            ),
        ]


class WebhookDelivery(models.Model):
    """Every webhook request as received, stored before it is processed."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, null=True, related_name="+")
    provider = models.CharField(max_length=10)
    body = models.BinaryField()
    received_at = models.DateTimeField()
    signature_ok = models.BooleanField()
    outcome = models.CharField(max_length=20, blank=True)
    detail = models.TextField(blank=True)
