"""Tickets, their conversation, their files, their timeline, and workflows as data."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from radicado.customers.models import Contact, Customer
from radicado.workspaces.models import Level, Membership, Team, User, Workspace


class Bilingual(models.Model):
    """Workspace-defined labels, Spanish first, with the English translation."""

    name_es = models.CharField(_("name (Spanish)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)

    class Meta:
        abstract = True

    @property
    def label(self) -> str:
        lang = get_language() or "es"
        return self.name_en if lang.startswith("en") and self.name_en else self.name_es

    def __str__(self) -> str:
        return self.label


class Category(models.TextChoices):
    """What a workflow state means to the rest of the system."""

    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_CATEGORIES = (Category.NEW, Category.OPEN, Category.WAITING)
TERMINAL_CATEGORIES = (Category.CLOSED, Category.CANCELLED)


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    WHATSAPP = "whatsapp", _("WhatsApp")
    API = "api", _("API")


class Workflow(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="workflows")
    code = models.SlugField()
    name = models.CharField(max_length=120)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="workflow_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class WorkflowState(Bilingual):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="states")
    code = models.SlugField()
    category = models.CharField(max_length=20, choices=Category.choices)
    is_initial = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    # Automatic moves when someone replies (e.g. waiting -> open on a customer's reply).
    on_customer_reply = models.SlugField(blank=True)
    on_agent_reply = models.SlugField(blank=True)
    # Automatic move after a time in this state with no customer reply (T5, I8).
    auto_to = models.SlugField(blank=True)
    auto_after = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    auto_unit = models.CharField(max_length=20, blank=True)  # a businesstime unit
    auto_calendar = models.SlugField(blank=True)  # a BusinessCalendar code; blank: 24x7

    class Meta:
        ordering = ("order", "id")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workflow", "code"], name="state_unique_code"),
        ]


class WorkflowTransition(Bilingual):
    """A move between two states, and the roles allowed to make it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.ForeignKey(WorkflowState, on_delete=models.CASCADE, related_name="+")
    to_state = models.ForeignKey(WorkflowState, on_delete=models.CASCADE, related_name="+")
    allowed_roles = models.JSONField(default=list)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workflow", "from_state", "to_state"], name="transition_unique_pair"),
        ]


class TicketType(Bilingual):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="ticket_types")
    code = models.SlugField()
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="ticket_types")
    in_portal = models.BooleanField(default=True)
    # H2: tickets of this type post the workspace's terms of attention; work waits for acceptance.
    requires_terms = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("order", "id")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="type_unique_code"),
        ]


class Priority(Bilingual):
    """A priority of a workspace; lower rank is served first (T9)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="priorities")
    code = models.SlugField()
    rank = models.PositiveSmallIntegerField()
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ("rank",)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="priority_unique_code"),
        ]


class TicketSequence(models.Model):
    """The last ticket number handed out in a workspace (gapless allocation)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, primary_key=True)
    last_number = models.PositiveBigIntegerField(default=0)


class Ticket(models.Model):
    """A request of a customer (UI: "solicitud"); its number is the radicado."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tickets")
    number = models.PositiveBigIntegerField()
    type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="+")
    priority = models.ForeignKey(Priority, on_delete=models.PROTECT, related_name="+")
    state = models.ForeignKey(WorkflowState, on_delete=models.PROTECT, related_name="+")
    # Denormalised from priority and state so that the queue is one index scan.
    priority_rank = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=20, choices=Category.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    requester = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    level = models.CharField(max_length=2, choices=Level.choices, default=Level.N1)
    # Urgency and impact codes of the workspace's priority matrix (I5), when it has one.
    urgency = models.SlugField(blank=True)
    impact = models.SlugField(blank=True)
    subject = models.CharField(_("subject"), max_length=250)
    description = models.TextField(_("description"))
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the current state's automatic move is due (null: none pending).
    auto_action_at = models.DateTimeField(null=True, blank=True)
    # The terms version posted on this ticket and not yet accepted (H2); null when none is pending.
    terms_pending = models.ForeignKey("TermsVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "number"], name="ticket_unique_number"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "priority_rank", "number"], name="ticket_queue"),
            # The default queue (active tickets by priority, then arrival) as one ordered
            # scan over the active rows only; most tickets of a desk are closed and would
            # otherwise be read and filtered out, page after page (benchmarks/web).
            models.Index(
                fields=["workspace", "priority_rank", "number"],
                condition=models.Q(category__in=ACTIVE_CATEGORIES),
                name="ticket_queue_active",
            ),
            models.Index(fields=["workspace", "category", "priority_rank", "number"], name="ticket_queue_cat"),
            models.Index(fields=["workspace", "assignee", "priority_rank", "number"], name="ticket_assignee"),
            models.Index(fields=["workspace", "customer", "number"], name="ticket_customer"),
            models.Index(fields=["workspace", "requester", "number"], name="ticket_requester"),
            models.Index(
                fields=["auto_action_at"], condition=models.Q(auto_action_at__isnull=False), name="ticket_auto_due"
            ),
        ]

    @property
    def reference(self) -> str:
        return format_reference(self.workspace.ticket_prefix, self.number)

    @property
    def is_closed(self) -> bool:
        return self.category in TERMINAL_CATEGORIES

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


def format_reference(prefix: str, number: int) -> str:
    """The human ticket reference, e.g. ``SOP-000123``."""
    return f"{prefix}-{number:06d}"


class Reply(models.Model):
    """A public message on a ticket, by the customer or by an agent."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    author_name = models.CharField(max_length=200)
    by_customer = models.BooleanField()
    body = models.TextField()
    created_at = models.DateTimeField()


class Note(models.Model):
    """An internal note: never shown to the customer."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    author_name = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()


class Attachment(models.Model):
    """A file on a ticket, stored outside the web root; public unless on a note."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments")
    file = models.FileField(upload_to="%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField()

    @property
    def is_public(self) -> bool:
        return self.note_id is None


class EventKind(models.TextChoices):
    CREATED = "created", _("Registered")
    REPLIED = "replied", _("Reply")
    NOTED = "noted", _("Internal note")
    TRANSITIONED = "transitioned", _("Status changed")
    PRIORITY_CHANGED = "priority_changed", _("Priority changed")
    TYPE_CHANGED = "type_changed", _("Type changed")
    ASSIGNED = "assigned", _("Assignee changed")
    TEAM_CHANGED = "team_changed", _("Team changed")
    LEVEL_CHANGED = "level_changed", _("Level changed")
    SLA_WARNING = "sla_warning", _("ANS warning")
    SLA_BREACHED = "sla_breached", _("ANS breached")
    SLA_ESCALATED = "sla_escalated", _("Escalation level reached")
    TERMS_POSTED = "terms_posted", _("Terms of attention posted")
    TERMS_ACCEPTED = "terms_accepted", _("Terms of attention accepted")
    CONFIRMATION_REQUESTED = "confirmation_requested", _("Confirmation requested")
    CONFIRMATION_ANSWERED = "confirmation_answered", _("Confirmation answered")
    SURVEY_SENT = "survey_sent", _("Satisfaction survey sent")
    SURVEY_ANSWERED = "survey_answered", _("Satisfaction survey answered")


PUBLIC_EVENT_KINDS = frozenset(
    {
        EventKind.CREATED,
        EventKind.REPLIED,
        EventKind.TRANSITIONED,
        EventKind.TERMS_POSTED,
        EventKind.TERMS_ACCEPTED,
        EventKind.CONFIRMATION_REQUESTED,
        EventKind.CONFIRMATION_ANSWERED,
    }
)


class TicketEvent(models.Model):
    """Append-only timeline and audit: who, when, what, from -> to (stable codes)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    is_public = models.BooleanField()
    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["ticket", "created_at", "id"], name="event_timeline"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: an event, once written, is history.
        if self.pk is not None:
            raise ValueError("TicketEvent is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("TicketEvent is append-only")


class Survey(models.Model):
    """The satisfaction survey of a resolved ticket (I8, T8): answered once, by link or in the portal.

    The link carries a random token; only its SHA-256 is stored.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)


class TermsVersion(models.Model):
    """A version of a workspace's terms of attention (H2); the newest is the one posted."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="terms_versions")
    version = models.PositiveIntegerField()
    text_es = models.TextField()
    text_en = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "version"], name="terms_unique_version"),
        ]

    @property
    def text(self) -> str:
        lang = get_language() or "es"
        return self.text_en if lang.startswith("en") and self.text_en else self.text_es


class TermsAcceptance(models.Model):
    """Who accepted which terms on which ticket, and when."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="terms_acceptances")
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    name = models.CharField(max_length=200)
    accepted_at = models.DateTimeField()


class ConfirmationKind(models.TextChoices):
    ESTIMATE = "estimate", _("Estimate of hours")
    QUOTE = "quote", _("Quote")
    SURVEY = "survey", _("Survey (relevamiento)")
    ACCESS = "access", _("Access to your systems")


class ConfirmationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the customer")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    SUPERSEDED = "superseded", _("Replaced by a newer request")


class Confirmation(models.Model):
    """Something the customer must approve before work goes on (H3, H5): the ticket waits for it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="confirmations")
    kind = models.CharField(max_length=10, choices=ConfirmationKind.choices)
    description = models.TextField()
    hours = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=12, choices=ConfirmationStatus.choices, default=ConfirmationStatus.PENDING)
    token_hash = models.CharField(max_length=64, unique=True)
    resume_state = models.SlugField(blank=True)  # the state to return to once answered
    requested_by_name = models.CharField(max_length=200)
    requested_at = models.DateTimeField()
    answered_by_name = models.CharField(max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
