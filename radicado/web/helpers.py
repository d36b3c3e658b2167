"""Glue shared by the portal and console interfaces (no domain logic here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from radicado.customers.access import actor_for
from radicado.tickets.attachments import Upload
from radicado.workspaces.access import Actor
from radicado.workspaces.models import User

F = TypeVar("F", bound=Callable[..., HttpResponseBase])


class ActorRequest(HttpRequest):
    actor: Actor


def now() -> dt.datetime:
    """The interface reads the clock; the domain receives it."""
    return timezone.now()


def with_actor(staff: bool | None = None) -> Callable[[F], F]:
    """Resolve ``request.actor`` from the ``ws`` URL part; 404 if not a member.

    ``staff=True`` admits only staff, ``staff=False`` only customers (contacts and key users).
    """

    def decorate(view: F) -> F:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, ws: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            actor = actor_for(user=cast(User, request.user), workspace_slug=ws)
            if staff is True and not actor.is_staff:
                from radicado.workspaces.access import WorkspaceNotFound

                raise WorkspaceNotFound
            if staff is False and not actor.is_customer:
                from django.shortcuts import redirect

                return redirect("console:queue", ws=ws)
            request.actor = actor  # type: ignore[attr-defined]
            timezone.activate(actor.workspace.timezone)
            return view(request, *args, **kwargs)

        return cast(F, wrapper)

    return decorate


def uploads_from(request: HttpRequest, field: str = "attachments") -> list[Upload]:
    """Read uploaded files into the domain's Upload values."""
    files: list[UploadedFile[bytes]] = request.FILES.getlist(field)
    return [Upload(filename=f.name or "archivo", data=f.read()) for f in files]


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or behind a reverse proxy the one it names (``TRUSTED_PROXY_HEADER``).

    With ``TRUSTED_PROXY_COUNT`` proxies each appending to e.g. ``X-Forwarded-For``, the client is the
    entry that many places from the right (entries to its left are whatever the client claimed). A
    header that is missing, too short or not an address falls back to the peer's address.
    """
    peer = str(request.META.get("REMOTE_ADDR", ""))
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return peer
    entries = [e.strip() for e in request.headers.get(header, "").split(",") if e.strip()]
    count = max(1, settings.TRUSTED_PROXY_COUNT)
    if len(entries) < count:
        return peer
    try:
        return str(ipaddress.ip_address(entries[-count]))
    except ValueError:
        return peer
