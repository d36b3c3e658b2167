"""No answer is a server error, whatever a visitor sends (issue 19).

Every route of the resolver and every operation of the API's schema, as each role, with hostile values in
every path parameter, query parameter and form / JSON field: NUL bytes, huge and Unicode-digit numbers,
1 MB strings, NaN / Infinity / 1e999999 / -1, wrong types, JSON nested 5000 deep. Pages are read for their
forms and links, so a new field is swept as soon as a page shows it.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import Resolver404, resolve

from conftest import Cast
from tests.sweep.routes import Form, Route, World, api_operations, build_world, page_offers, sample, site_routes

MEGA = "x" * 1_000_000
# Text values for query strings and form fields (every one of them to every field of one role's forms).
TEXT = [
    "a" * 248 + "@ex.co",  # the longest e-mail a form or schema accepts
    "a\x00b",
    str(10**30),
    "²",
    "١٢",
    MEGA,
    "NaN",
    "Infinity",
    "1e999999",
    "-1",
    "0",
    " ",
    "9" * 40,
    "1.5",
]
# What a path segment may be, if its converter lets it through (quoted; the resolver decides).
PATH = ["0", str(10**30), str(2**63), "²", "١٢", "a\x00b", MEGA, "NaN", "-1", "..", "%"]
# JSON values for the API: the texts plus wrong types and special numbers written raw into the body.
JSON_RAW = ["NaN", "Infinity", "-Infinity", "1e999999", "-1", "1" + "0" * 30, "[]", "{}", "true", "null", '[1,"a"]']
DEEP = "[" * 5000 + "]" * 5000
BODIES = [DEEP, '{"a":' * 5000 + "1" + "}" * 5000, "NaN", "[]", '"text"', "1e999999", "{", "\x00", "null"]
# Query names tried on every route besides those its pages use.
GENERIC_QUERY = ["next", "q", "page", "cursor", "before", "status", "ver", "event", "limit"]
ROLES = [None, "carol", "bob", "alice"]


class Sweep:
    """Sends requests, counts them and records every answer of 500 or more with its exception."""

    def __init__(self) -> None:
        self.tried = 0
        self.errors: list[str] = []
        self._exc: list[str] = []
        self._clients: dict[str | None, Client] = {}

    @contextmanager
    def listening(self) -> Iterator[None]:
        def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
            self._exc.append(traceback.format_exc(limit=-3))

        got_request_exception.connect(record)
        try:
            yield
        finally:
            got_request_exception.disconnect(record)

    def send(self, client: Client, method: str, url: str, what: str, **kwargs: Any) -> Any:
        self.tried += 1
        self._exc.clear()
        response = getattr(client, method.lower())(url, **kwargs)
        if response.status_code >= 500:
            self.errors.append(f"{response.status_code} {method} {url[:100]} [{what[:60]}]\n{''.join(self._exc)}")
        return response


def _short(value: Any) -> str:
    return repr(value)[:24]


def _web_client(cast: Cast, role: str | None) -> Client:
    client = Client(raise_request_exception=False)
    if role:
        client.force_login(cast.users[role])
    return client


@pytest.fixture
def world(cast: Cast) -> World:
    return build_world(cast)


def _path_variants(route: Route, world: World) -> Iterator[tuple[str, str]]:
    for param in route.params:
        for value in PATH:
            url = route.url({**world.values, param: quote(value, safe="")})
            try:
                if resolve(url.split("?")[0]).view_name != route.name:
                    continue
            except Resolver404:
                continue
            yield url, f"path {param}={_short(value)}"


@pytest.mark.django_db(transaction=False)
def test_no_page_answers_a_server_error_to_hostile_input(cast: Cast, world: World) -> None:
    sweep = Sweep()
    routes = site_routes()
    unknown = {p for r in routes for p in r.params if p not in world.values}
    assert not unknown, f"map these path parameters to an object in tests/sweep/routes.py build_world: {unknown}"
    clients = {role: _web_client(cast, role) for role in ROLES}
    forms: list[tuple[str | None, Form]] = []
    with sweep.listening():
        for route in routes:
            for role, client in clients.items():
                if role:
                    client.force_login(cast.users[role])  # again: a route may have signed the client out
            base = route.url(world.values)
            names: set[str] = set()
            for role, client in clients.items():
                page = sweep.send(client, "GET", base, "page")
                if page.status_code == 200 and "html" in page.get("Content-Type", ""):
                    found, query = page_offers(base, page.content.decode())
                    names |= query
                    forms += [(role, f) for f in found if f.method == "post"]
                if role in ("carol", "bob"):  # one role that reaches the object in each interface
                    for url, what in _path_variants(route, world):
                        sweep.send(client, "GET", url, what)
                        sweep.send(client, "POST", url, what)
            everything = names | set(GENERIC_QUERY)
            for client in clients.values():
                for value in TEXT:  # every query name at once, per value (1 MB once, not once per name)
                    query = urlencode(dict.fromkeys(everything, value)) if value != MEGA else "q=" + MEGA
                    sweep.send(client, "GET", base + "?" + query, f"query *={_short(value)}")
                sweep.send(client, "GET", base + "?" + urlencode([(n, v) for n in everything for v in "1²"]), "lists")
            sweep.send(clients[None], "POST", base, "json body", data=DEEP, content_type="application/json")
            for name in sorted(names):  # each name its pages use alone, as a signed-in agent
                for value in TEXT:
                    sweep.send(clients["bob"], "GET", base + "?" + urlencode({name: value}), f"query {name}={value!r}")
        # Every field of every form a page showed, with the others at the page's own values.
        seen: set[tuple[str | None, str, tuple[str, ...]]] = set()
        forms.sort(key=lambda rf: "eliminar" in rf[1].action)  # deleting the rule last keeps its pages
        for role, form in forms:
            key = (role, form.action, tuple(sorted(form.fields)))
            if key in seen:
                continue
            seen.add(key)
            client = clients[role]
            if role:
                client.force_login(cast.users[role])
            for field in form.fields:
                for value in TEXT:
                    data = {**form.fields, field: value}
                    sweep.send(client, "POST", form.action, f"form {field}={_short(value)}", data=data)
                data = {**form.fields, field: [form.fields[field], "²"]}
                sweep.send(client, "POST", form.action, f"form {field}=list", data=data)
    print(f"\nsite sweep: {len(routes)} routes, {len(seen)} forms, {sweep.tried} requests, {len(sweep.errors)} 5xx")  # noqa: T201
    assert not sweep.errors, "\n".join(sweep.errors[:20])


def _raw_body(body: dict[str, Any], field: str, raw: str) -> str:
    marker = "\u0001sweep\u0001"
    return json.dumps({**body, field: marker}).replace(json.dumps(marker), raw)


@pytest.mark.django_db(transaction=False)
def test_no_api_operation_answers_a_server_error_to_hostile_input(cast: Cast, world: World) -> None:
    sweep = Sweep()
    ops = api_operations()
    unknown = {p for o in ops for p in o.path_params if p not in world.values}
    assert not unknown, f"map these path parameters to an object in tests/sweep/routes.py build_world: {unknown}"
    clients = {None: Client(raise_request_exception=False)} | {
        role: Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {world.tokens[role]}")
        for role in ROLES
        if role
    }
    # Deleting a token last keeps the others working.
    ops.sort(key=lambda o: o.method == "DELETE")
    with sweep.listening():
        for op in ops:
            body = sample(op.body) if op.body else None
            for role, client in clients.items():

                def send(
                    url: str,
                    what: str,
                    data: str | None = None,
                    op: Any = op,
                    client: Client = client,
                    body: Any = body,
                ) -> None:
                    if op.method in ("GET", "DELETE"):
                        sweep.send(client, op.method, url, what)
                    else:
                        raw = data if data is not None else json.dumps(body or {})
                        sweep.send(client, op.method, url, what, data=raw, content_type="application/json")

                base = op.url(world.values)
                send(base, "valid")
                for param in op.path_params:
                    for value in PATH:
                        send(op.url({**world.values, param: quote(value, safe="")}), f"path {param}={_short(value)}")
                for param in op.query_params:
                    for value in TEXT:
                        send(base + "?" + urlencode({param: value}), f"query {param}={_short(value)}")
                    send(base + "?" + urlencode([(param, "1"), (param, "a")]), f"query {param}=list")
                if op.body is None or role not in (None, "carol", "bob"):
                    continue
                for field in op.body.get("properties", {}):
                    for value in TEXT:
                        send(base, f"json {field}={_short(value)}", json.dumps({**(body or {}), field: value}))
                    for raw in JSON_RAW:
                        send(base, f"json {field}={raw}", _raw_body(body or {}, field, raw))
                for raw in BODIES:
                    send(base, f"body {raw[:12]!r}", raw)
    print(f"\napi sweep: {len(ops)} operations, {sweep.tried} requests, {len(sweep.errors)} 5xx")  # noqa: T201
    assert not sweep.errors, "\n".join(sweep.errors[:20])
