"""Nobody reaches another workspace's or another customer's objects, on any route (issue 19).

Generated from the resolver and the API's schema: every route is called with the objects of workspace A
and customer ACME (``build_world``), by everyone who must not see them: a visitor who is not signed in,
frank (agent of B), grace (contact of B), erin (contact of Globex, in A), and carol on the console
(customers never reach it). A route that names an object answers them 404 (or 401/403/405, or a redirect
to sign in), also when the URL names their own workspace with A's ids; no answer carries the object's text.
A route with an unknown parameter fails until it is mapped in ``build_world``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from conftest import Cast
from radicado.tickets.models import TicketEvent
from radicado.workspaces.models import ApiToken
from tests.sweep.routes import World, api_operations, build_world, sample, site_routes

OUTSIDERS = [None, "frank", "grace", "erin", "carol"]
HOME = {"frank": "brisa", "grace": "brisa", "erin": "andes", "carol": "andes"}
DENIED = {401, 403, 404, 405}


def _denied(response: Any, slug: str) -> bool:
    """404 and kin, a redirect to sign in, or (staff on a customer's page) to the workspace's queue."""
    if response.status_code in DENIED:
        return True
    location = response.get("Location", "")
    return response.status_code == 302 and ("/entrar/" in location or location == f"/w/{slug}/console/")


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


@pytest.fixture
def world(cast: Cast) -> World:
    return build_world(cast)


@pytest.mark.django_db(transaction=False)
def test_no_route_shows_an_object_to_another_workspace_or_customer(cast: Cast, world: World) -> None:
    routes = site_routes()
    unknown = {p for r in routes for p in r.params if p not in world.values}
    assert not unknown, f"map these path parameters to an object in tests/sweep/routes.py build_world: {unknown}"
    events = TicketEvent.objects.count()
    leaks: list[str] = []
    requests = 0
    unreachable = []
    for route in routes:  # the objects are there: their owners reach them (else a 404 would prove nothing)
        if any(p not in ("ws", "token") for p in route.params):
            owner = Client()
            owner.force_login(cast.users["alice" if route.name.startswith("console:") else "carol"])
            response = owner.get(route.url(world.values))
            if response.status_code not in (200, 405):
                unreachable.append(f"{route.name} -> {response.status_code}")
    assert not unreachable, f"the world's objects are not reachable by their owners: {unreachable}"
    for who in OUTSIDERS:
        client = Client(raise_request_exception=True)
        for route in routes:
            if who:
                client.force_login(cast.users[who])  # again: a route may have signed the client out
            console = route.name.startswith("console:")
            if who == "carol" and not console:
                continue  # carol is ACME: the portal shows her its objects
            names_object = any(p != "ws" for p in route.params)
            # A's URL, and the outsider's own workspace with A's ids (ids are global, numbers are not in B).
            slugs = {"andes", HOME.get(who, "andes")} if "ws" in route.params else {""}
            for slug in slugs:
                url = route.url({**world.values, "ws": slug})
                outsider_of_ws = who is None or (slug == "andes" and HOME[who] != "andes")
                customer = who in (None, "grace", "erin", "carol")
                must_deny = names_object or (console and customer) or ("ws" in route.params and outsider_of_ws)
                must_deny = must_deny and not route.name.startswith("whatsapp_")  # signed webhooks: no data
                for method in ("get", "post"):
                    response = getattr(client, method)(url)
                    requests += 1
                    body = _body(response)
                    shown = [m.decode() for m in world.markers if m in body]
                    if shown or (must_deny and not _denied(response, slug)):
                        leaks.append(f"{who or 'anonymous'} {method.upper()} {url} -> {response.status_code} {shown}")
    assert TicketEvent.objects.count() == events, "an outsider's request changed a ticket"
    print(f"\nsite isolation: {len(routes)} routes, {requests} requests, {len(leaks)} leaks")  # noqa: T201
    assert not leaks, "\n".join(leaks)


@pytest.mark.django_db(transaction=False)
def test_no_api_operation_shows_an_object_to_another_workspace_or_customer(cast: Cast, world: World) -> None:
    ops = api_operations()
    unknown = {p for o in ops for p in o.path_params if p not in world.values}
    assert not unknown, f"map these path parameters to an object in tests/sweep/routes.py build_world: {unknown}"
    events = TicketEvent.objects.count()
    leaks: list[str] = []
    requests = 0
    for who in (None, "frank", "grace", "erin"):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {world.tokens[who]}") if who else Client()
        for op in ops:
            if not op.path_params:
                continue
            url = op.url(world.values)
            kwargs: dict[str, Any] = {}
            if op.body is not None:
                kwargs = {"data": json.dumps(sample(op.body)), "content_type": "application/json"}
            response = getattr(client, op.method.lower())(url, **kwargs)
            requests += 1
            shown = [m.decode() for m in world.markers if m in response.content]
            if shown or response.status_code not in DENIED:
                leaks.append(f"{who or 'anonymous'} {op.method} {url} -> {response.status_code} {shown}")
    assert TicketEvent.objects.count() == events, "an outsider's request changed a ticket"
    assert ApiToken.objects.get(prefix=world.values["prefix"]).revoked_at is None, "an outsider revoked a token"
    print(f"\napi isolation: {len(ops)} operations, {requests} requests, {len(leaks)} leaks")  # noqa: T201
    assert not leaks, "\n".join(leaks)
