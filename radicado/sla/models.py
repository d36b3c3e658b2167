"""ANS (SLA) configuration and per-ticket clocks.

Policy is data: calendars, the SMLMV table, tiers, the urgency x impact matrix and
targets are rows a workspace admin edits or a profile loads. Rules match tickets by
stable codes (type, priority, channel, tier, customer, catalogue item), so this app
never imports the tickets app; clocks point at tickets by a lazy reference.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from radicado.workspaces.models import Workspace


class BusinessCalendar(models.Model):
    """A calendar in the businesstime JSON format (docs/subsystems/businesstime.md)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="calendars")
    code = models.SlugField()
    name = models.CharField(max_length=120)
    spec = models.JSONField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="calendar_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class SmlmvRate(models.Model):
    """Colombia's monthly legal minimum wage (SMLMV) by year, in COP (T1)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)


class Tier(models.Model):
    """A customer tier (T1): chosen by contract value in SMLMV; limits priorities (T2).

    A customer without a contract gets the ``for_no_contract`` tier; otherwise the tier
    with the highest ``above_smlmv`` that the monthly value exceeds (strictly).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tiers")
    code = models.SlugField()
    name_es = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120, blank=True)
    above_smlmv = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    for_no_contract = models.BooleanField(default=False)
    allowed_priorities = models.JSONField(default=list, blank=True)  # empty: any

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="tier_unique_code"),
        ]


class PriorityMatrix(models.Model):
    """Urgency x impact -> priority code (I5); one per workspace."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="priority_matrix")
    urgencies = models.JSONField()  # [{"code": "alta", "name_es": ..., "name_en": ...}]
    impacts = models.JSONField()
    cells = models.JSONField()  # {"alta": {"organizacion": "urgente", ...}, ...}


class TargetKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_UPDATE = "next_update", _("Next update")
    RESOLUTION = "resolution", _("Resolution")


class TargetUnit(models.TextChoices):
    MINUTES = "minutes", _("business minutes")
    HOURS = "hours", _("business hours")
    DAYS = "days", _("business days")
    CALENDAR_MINUTES = "calendar_minutes", _("minutes (24x7)")
    CALENDAR_HOURS = "calendar_hours", _("hours (24x7)")


class Policy(models.Model):
    """A named set of targets; the first matching target of each kind applies."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sla_policies")
    code = models.SlugField()
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="policy_unique_code"),
        ]


class Target(models.Model):
    """One rule: which tickets (blank = any), how much time, on which calendar.

    ``escalations`` is a list of ``{"level": "I", "after_minutes": 60, "notify": [...]}``
    counted from the clock's start on the target's calendar (business or 24x7 alike).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="targets")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    tier = models.SlugField(blank=True)
    customer = models.SlugField(blank=True, help_text="customer code (a contract's own terms)")
    ticket_type = models.SlugField(blank=True)
    priority = models.SlugField(blank=True)
    catalog_item = models.SlugField(blank=True)
    channel = models.SlugField(blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    unit = models.CharField(max_length=20, choices=TargetUnit.choices)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    pause_categories = models.JSONField(default=list, blank=True)
    warn_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    escalations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("order", "id")


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")


class Clock(models.Model):
    """One target of one ticket: its deadline, its pauses and what is still to fire."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="+")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=ClockState.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    pauses = models.JSONField(default=list, blank=True)  # [[iso start, iso end], ...]
    completed_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    levels_fired = models.PositiveSmallIntegerField(default=0)
    # The next instant the sweep must look at this clock; null when nothing is pending.
    next_sla_event_at = models.DateTimeField(null=True, blank=True)
    explanation = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["ticket", "kind"], name="clock_unique_kind"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["next_sla_event_at"],
                condition=models.Q(next_sla_event_at__isnull=False),
                name="clock_due",
            ),
        ]
