"""Client companies of a workspace and the people who speak for them."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from radicado.workspaces.models import User, Workspace


class Standing(models.TextChoices):
    CURRENT = "current", _("Up to date")
    IN_ARREARS = "in_arrears", _("In arrears")


class Customer(models.Model):
    """A client company: contract value, tier and account standing."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="customers")
    code = models.SlugField(max_length=50)
    name = models.CharField(_("name"), max_length=200)
    contract_value = models.DecimalField(
        _("monthly contract value"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="COP")
    # The tier is computed by the SLA rules (T1); until then it is a label.
    tier = models.CharField(_("tier"), max_length=30, blank=True)
    standing = models.CharField(
        _("account standing"), max_length=20, choices=Standing.choices, default=Standing.CURRENT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="customer_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person of a customer; may sign in to the portal through ``user``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # The phone as E.164 ("+573000000001"), for matching WhatsApp senders; set by actions.
    phone_e164 = models.CharField(max_length=20, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["workspace", "user"],
                condition=models.Q(user__isnull=False),
                name="contact_unique_user",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["workspace", "email"], name="contact_ws_email"),
        ]

    def __str__(self) -> str:
        return self.name


class ConsentChannel(models.TextChoices):
    """How a contact authorised the processing of their personal data (Ley 1581 de 2012)."""

    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call")
    WHATSAPP = "whatsapp", _("WhatsApp")
    WRITTEN = "written", _("Signed document")


class Consent(models.Model):
    """A contact's authorisation to process their personal data: when, which notice version, by which channel.

    Append-only in practice: a new authorisation is a new row; the newest is the one in force.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    given_at = models.DateTimeField(_("date of the authorisation"))
    notice_version = models.CharField(_("version of the privacy notice"), max_length=40)
    channel = models.CharField(_("channel"), max_length=20, choices=ConsentChannel.choices)
    recorded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["contact", "given_at"], name="consent_contact_given"),
        ]
