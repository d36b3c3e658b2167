"""Writes to tenancy: workspaces, members, teams, API tokens, login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings

from radicado.action import acting, action, insert
from radicado.workspaces.models import (
    ApiToken,
    AuditEntry,
    Level,
    LoginFailure,
    Membership,
    Role,
    Team,
    User,
    Workspace,
)


def audit(
    *,
    workspace: Workspace,
    actor: User | None,
    action: str,
    target: str,
    now: dt.datetime,
    data: dict[str, object] | None = None,
) -> None:
    entry = AuditEntry(workspace=workspace, actor=actor, action=action, target=target, data=data or {}, at=now)
    insert(entry)


@action
def create_workspace(
    *, slug: str, name: str, ticket_prefix: str, timezone: str, support_email: str = "", now: dt.datetime
) -> Workspace:
    """Create an empty workspace."""
    ws = Workspace.objects.create(
        slug=slug, name=name, ticket_prefix=ticket_prefix, timezone=timezone, support_email=support_email
    )
    audit(workspace=ws, actor=None, action="workspace.created", target=slug, now=now)
    return ws


@action
def ensure_user(*, email: str, name: str, password: str | None) -> User:
    """Return the user with this e-mail, creating it (unusable password if None)."""
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, name=name)
    return user


@action
def add_member(
    *,
    workspace: Workspace,
    user: User,
    role: Role,
    now: dt.datetime,
    level: Level | None = None,
    actor: User | None = None,
) -> Membership:
    """Give a user a role in a workspace (staff get a level, N1 by default)."""
    staff = role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    membership, _created = Membership.objects.update_or_create(
        workspace=workspace,
        user=user,
        defaults={"role": role, "level": (level or Level.N1) if staff else "", "is_active": True},
    )
    audit(
        workspace=workspace,
        actor=actor,
        action="member.set",
        target=user.email,
        now=now,
        data={"role": str(role), "level": membership.level},
    )
    return membership


@action
def create_team(*, workspace: Workspace, code: str, name: str, members: list[Membership], now: dt.datetime) -> Team:
    team = Team.objects.create(workspace=workspace, code=code, name=name)
    team.members.set(members)
    audit(workspace=workspace, actor=None, action="team.created", target=code, now=now)
    return team


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@action
def issue_api_token(
    *, workspace: Workspace, user: User, name: str, now: dt.datetime, actor: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token; return it and its full value, which is shown this once only."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace=workspace, user=user, name=name, prefix=prefix, secret_hash=_hash(secret), created_at=now
    )
    audit(workspace=workspace, actor=actor or user, action="token.issued", target=prefix, now=now)
    return token, f"rad_{prefix}_{secret}"


def verify_api_token(*, raw: str, now: dt.datetime) -> ApiToken | None:
    """Return the live token for a presented value, or None; constant-time compare."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "rad":
        return None
    token = (
        ApiToken.objects.select_related("workspace", "user")
        .filter(prefix=parts[1], revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or not secrets.compare_digest(token.secret_hash, _hash(parts[2])):
        return None
    # Touch at most once a minute so that reads do not become writes.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        _touch_token(token_id=token.id, now=now)
    return token


@action
def _touch_token(*, token_id: int, now: dt.datetime) -> None:
    ApiToken.objects.filter(id=token_id).update(last_used_at=now)


@action
def revoke_api_token(*, token: ApiToken, actor: User | None, now: dt.datetime) -> None:
    ApiToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=now)
    audit(workspace=token.workspace, actor=actor, action="token.revoked", target=token.prefix, now=now)


def throttle_keys(*, email: str, address: str) -> list[str]:
    return [f"acct:{email.strip().lower()}", f"addr:{address}"]


def is_login_throttled(*, keys: list[str], now: dt.datetime) -> bool:
    """True when any key has too many recent failures."""
    since = now - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    for key in keys:
        limit = settings.LOGIN_THROTTLE_FAILURES * (4 if key.startswith("addr:") else 1)
        if LoginFailure.objects.filter(key=key, at__gte=since).count() >= limit:
            return True
    return False


@action
def record_login_failure(*, keys: list[str], now: dt.datetime) -> None:
    LoginFailure.objects.bulk_create([LoginFailure(key=k, at=now) for k in keys])
    cutoff = now - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS * 4)
    LoginFailure.objects.filter(at__lt=cutoff).delete()


@action
def clear_login_failures(*, keys: list[str]) -> None:
    LoginFailure.objects.filter(key=keys[0]).delete()


class LoginThrottled(Exception):
    """Too many failed sign-ins for this account or address; try again later."""


class InvalidCredentials(Exception):
    pass


def sign_in(*, email: str, password: str, address: str, now: dt.datetime) -> User:
    """Check credentials under throttling; return the user or raise.

    Raises LoginThrottled before even checking a password once the account or
    the address has too many recent failures, and InvalidCredentials otherwise.
    """
    from django.contrib.auth import authenticate

    keys = throttle_keys(email=email, address=address)
    if is_login_throttled(keys=keys, now=now):
        raise LoginThrottled
    with acting():  # checking a password may upgrade its stored hash (a write)
        user = authenticate(username=email.strip().lower(), password=password)
    if user is None or not isinstance(user, User):
        record_login_failure(keys=keys, now=now)
        raise InvalidCredentials
    clear_login_failures(keys=keys)
    return user
