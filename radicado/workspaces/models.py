"""Tenancy: users, workspaces, memberships with roles, teams, API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a contact, an agent or an admin (by membership)."""

    email = models.EmailField(_("e-mail"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=10, default="es-co")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.email


class Workspace(models.Model):
    """One support organisation's desk: the tenant boundary and the shard key."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=200)
    ticket_prefix = models.CharField(_("ticket prefix"), max_length=10, default="SOP")
    timezone = models.CharField(_("time zone"), max_length=64, default="America/Bogota")
    support_email = models.EmailField(_("support e-mail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CONTACT = "contact", _("Contact")
    KEY_USER = "key_user", _("Key user")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
CUSTOMER_ROLES = frozenset({Role.CONTACT, Role.KEY_USER})


class Level(models.TextChoices):
    N1 = "n1", "N1"
    N2 = "n2", "N2"
    N3 = "n3", "N3"


class Membership(models.Model):
    """A user's role in one workspace; staff also carry a support level."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    level = models.CharField(max_length=2, choices=Level.choices, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
        ]

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    def __str__(self) -> str:
        return f"{self.user_id}@{self.workspace_id}:{self.role}"


class Team(models.Model):
    """A group of agents (a service area, a level, a specialty)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    code = models.SlugField()
    name = models.CharField(_("name"), max_length=200)
    members = models.ManyToManyField(Membership, related_name="teams", blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["workspace", "code"], name="team_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A revocable API token; only a SHA-256 hash of its secret is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never (API_TOKEN_LIFETIME_DAYS = 0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    def is_live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginFailure(models.Model):
    """Failed sign-ins per throttle key (account or address), for throttling."""

    key = models.CharField(max_length=200, db_index=True)
    at = models.DateTimeField(db_index=True)


class TrustedSignIn(models.Model):
    """An account signed in successfully from an address (a hash of both): that address keeps working for
    the account even while strangers elsewhere fail against it (ADR 0015)."""

    key = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField(db_index=True)


class AuditEntry(models.Model):
    """Append-only record of configuration and membership changes."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
