"""Who is acting, in which workspace: resolved once per request by an interface."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from radicado.workspaces.models import CUSTOMER_ROLES, STAFF_ROLES, ApiToken, Membership, Role, User, Workspace


class WorkspaceNotFound(Http404):
    """The workspace does not exist or the user has no active membership in it."""


@dataclass(frozen=True)
class Actor:
    """Someone acting inside one workspace, with the facts access rules need.

    Usually a signed-in user with a membership; a contact writing by e-mail or
    WhatsApp acts without a user account (``user`` and ``membership`` are None).
    """

    workspace: Workspace
    role: str
    user: User | None = None
    membership: Membership | None = None
    contact_id: int | None = None
    customer_id: int | None = None
    name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMER_ROLES

    @property
    def is_key_user(self) -> bool:
        return self.role == Role.KEY_USER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def display_name(self) -> str:
        if self.user is not None:
            return self.user.name or self.user.email
        return self.name


def membership_for(*, user: User, workspace_slug: str) -> Membership:
    """Return the user's active membership in the workspace; raise WorkspaceNotFound."""
    if not user.is_authenticated:
        raise WorkspaceNotFound
    try:
        return Membership.objects.select_related("workspace").get(
            user=user, workspace__slug=workspace_slug, is_active=True
        )
    except Membership.DoesNotExist:
        raise WorkspaceNotFound from None


def is_staff_somewhere(user: object) -> bool:
    """Whether a signed-in user is support staff (agent, supervisor, admin) of any workspace."""
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, is_active=True, role__in=STAFF_ROLES).exists()


def memberships_of(*, user: User) -> list[Membership]:
    """The user's active memberships, for the workspace chooser."""
    return list(
        Membership.objects.filter(user=user, is_active=True).select_related("workspace").order_by("workspace__name")
    )


def tokens_visible_to(*, actor: Actor) -> QuerySet[ApiToken]:
    """The workspace's API tokens an actor may list and revoke: admins all, other staff their own."""
    qs = ApiToken.objects.filter(workspace_id=actor.workspace.id).select_related("user", "workspace")
    if not actor.is_admin:
        if actor.user is None:
            return qs.none()
        qs = qs.filter(user_id=actor.user.pk)
    return qs.order_by("-created_at", "-id")


def access_token(*, actor: Actor, token_id: int) -> ApiToken:
    """One token the actor may revoke; 404 otherwise (another workspace, someone else's)."""
    token = tokens_visible_to(actor=actor).filter(id=token_id).first()
    if token is None:
        raise Http404
    return token
