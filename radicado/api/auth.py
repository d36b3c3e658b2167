"""Bearer-token authentication: the token names its user and workspace."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from radicado.customers.access import actor_for
from radicado.web.helpers import now
from radicado.workspaces.access import Actor, WorkspaceNotFound
from radicado.workspaces.actions import verify_api_token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = verify_api_token(raw=token, now=now())
        if api_token is None:
            return None
        try:
            actor: Actor = actor_for(user=api_token.user, workspace_slug=api_token.workspace.slug)
        except WorkspaceNotFound:
            return None
        return actor
