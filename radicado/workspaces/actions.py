"""Writes to tenancy: workspaces, members, teams, API tokens, login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from radicado.action import acting, action, insert
from radicado.errors import NotPermitted
from radicado.workspaces.models import (
    ApiToken,
    AuditEntry,
    Level,
    LoginFailure,
    Membership,
    Role,
    Team,
    TrustedSignIn,
    User,
    Workspace,
)

log = logging.getLogger(__name__)


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
    *,
    workspace: Workspace,
    user: User,
    name: str,
    now: dt.datetime,
    actor: User | None = None,
    lifetime: dt.timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its full value, which is shown this once only.

    A token is issued only to its own user (ADR 0016): ``actor``, when given, must be ``user``, so that
    nobody (not even an admin) acts through the API as someone else. It expires after ``lifetime``
    (default ``API_TOKEN_LIFETIME_DAYS``; no expiry when that is 0).
    """
    if actor is not None and actor.pk != user.pk:
        raise NotPermitted(_("A token is issued only to its own user."))
    if lifetime is None and settings.API_TOKEN_LIFETIME_DAYS > 0:
        lifetime = dt.timedelta(days=settings.API_TOKEN_LIFETIME_DAYS)
    expires_at = now + lifetime if lifetime is not None else None
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = insert(
        ApiToken(
            workspace=workspace,
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=_hash(secret),
            created_at=now,
            expires_at=expires_at,
        )
    )
    audit(
        workspace=workspace,
        actor=user,
        action="token.issued",
        target=prefix,
        now=now,
        data={"name": name, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return token, f"rad_{prefix}_{secret}"


def verify_api_token(*, raw: str, now: dt.datetime) -> ApiToken | None:
    """Return the live token for a presented value, or None (unknown, revoked, expired); constant-time compare."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "rad":
        return None
    token = (
        ApiToken.objects.select_related("workspace", "user")
        .filter(prefix=parts[1], revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
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
def revoke_api_token(*, token: ApiToken, actor: User | None, now: dt.datetime) -> bool:
    """Revoke a token (once); audited. Whether it was live until now."""
    changed = ApiToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=now)
    if changed:
        token.revoked_at = now
        audit(
            workspace=token.workspace,
            actor=actor,
            action="token.revoked",
            target=token.prefix,
            now=now,
            data={"name": token.name, "user": token.user.email},
        )
    return bool(changed)


def throttle_keys(*, email: str, address: str) -> list[str]:
    """The failure keys of one attempt: the account from this address, the account, the address.

    The account's part is a digest: an e-mail may have 254 characters, the column has 200.
    """
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return [f"pair:{_trust_key(email, address)}", f"acct:{account}", f"addr:{address}"]


def _trust_key(email: str, address: str) -> str:
    return hashlib.sha256(f"{email.strip().lower()}|{address}".encode()).hexdigest()


def is_login_throttled(*, email: str, address: str, now: dt.datetime) -> bool:
    """Whether this attempt is refused before its password is checked (ADR 0015).

    - The account from this address: ``LOGIN_THROTTLE_FAILURES`` failures in the window lock that pair
      only, so a stranger who guesses wrong locks out himself, not the account's owner.
    - The account from everywhere: ten times as many lock it, but only for addresses it has never signed
      in from (``TrustedSignIn``), so its owner keeps signing in from her usual address.
    - An address alone never locks anyone: a flood from one address (or from behind one proxy) must not
      stop other accounts' correct sign-ins; it is logged.
    """
    since = now - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    pair, account, by_address = throttle_keys(email=email, address=address)
    recent = LoginFailure.objects.filter(at__gte=since)
    if recent.filter(key=pair).count() >= settings.LOGIN_THROTTLE_FAILURES:
        return True
    if recent.filter(key=account).count() >= settings.LOGIN_THROTTLE_FAILURES * 10:
        trusted_since = now - dt.timedelta(days=90)
        return not TrustedSignIn.objects.filter(key=_trust_key(email, address), at__gte=trusted_since).exists()
    if recent.filter(key=by_address).count() == settings.LOGIN_THROTTLE_FAILURES * 20:
        log.warning("many failed sign-ins from %s in %s s", address, settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    return False


@action
def record_login_failure(*, keys: list[str], now: dt.datetime) -> None:
    LoginFailure.objects.bulk_create([LoginFailure(key=k, at=now) for k in keys])
    cutoff = now - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS * 4)
    LoginFailure.objects.filter(at__lt=cutoff).delete()


@action
def record_login_success(*, email: str, address: str, now: dt.datetime) -> None:
    """Clear this pair's failures and trust the address for the account."""
    LoginFailure.objects.filter(key=throttle_keys(email=email, address=address)[0]).delete()
    TrustedSignIn.objects.update_or_create(key=_trust_key(email, address), defaults={"at": now})


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
    if is_login_throttled(email=email, address=address, now=now):
        raise LoginThrottled
    with acting():  # checking a password may upgrade its stored hash (a write)
        user = authenticate(username=email.strip().lower(), password=password)
    if user is None or not isinstance(user, User):
        record_login_failure(keys=keys, now=now)
        raise InvalidCredentials
    record_login_success(email=email, address=address, now=now)
    return user
