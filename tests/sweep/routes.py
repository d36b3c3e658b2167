"""Every route of the site and every operation of the API, read from Django's resolver and Ninja's schema.

The sweep tests (hostile input, isolation) are generated from these lists, so a new screen or endpoint is
covered without anyone adding it. A path parameter is filled from ``OBJECTS`` by its name: a route with a
parameter that is not there fails the tests until its author says which object of workspace A / customer
ACME it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver

# --- the site's routes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "portal:request"
    template: str  # e.g. "w/<slug:ws>/solicitudes/<int:number>/"
    params: dict[str, str]  # parameter -> converter name ("int", "slug", "str", …)

    def url(self, values: dict[str, Any]) -> str:
        def fill(match: re.Match[str]) -> str:
            return str(values[match.group(2)])

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, self.template)


def _converter_name(converter: Any) -> str:
    return type(converter).__name__.replace("Converter", "").lower() or "str"


def site_routes() -> list[Route]:
    """Every URL pattern outside the API (whose operations come from its OpenAPI schema), recursively."""
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str, converters: dict[str, str]) -> None:
        for p in patterns:
            pattern = p.pattern
            text = str(pattern)
            own = {k: _converter_name(c) for k, c in getattr(pattern, "converters", {}).items()}
            if isinstance(p, URLResolver):
                if (prefix + text).startswith("api/"):
                    continue
                ns = ":".join(filter(None, [namespace, p.namespace]))
                walk(p.url_patterns, prefix + text, ns, {**converters, **own})
            elif isinstance(p, URLPattern):
                assert not isinstance(pattern, type) and "^" not in text, f"regex route {text}: give it path()"
                name = ":".join(filter(None, [namespace, p.name or text]))
                found.append(Route(name=name, template=prefix + text, params={**converters, **own}))

    walk(list(get_resolver().url_patterns), "", "", {})
    return found


# --- the API's operations ---------------------------------------------------------------------


@dataclass
class Operation:
    method: str
    path: str  # "/api/v1/tickets/{number}"
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    query_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # the JSON schema of the body, refs resolved
    secured: bool = True

    def url(self, values: dict[str, Any]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), self.path)


def _resolve(schema: dict[str, Any], node: Any, depth: int = 0) -> Any:
    if isinstance(node, dict):
        if "$ref" in node and depth < 10:
            target: Any = schema
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _resolve(schema, target, depth + 1)
        return {k: _resolve(schema, v, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(schema, v, depth) for v in node]
    return node


def api_operations() -> list[Operation]:
    from radicado.api.api import api

    schema: dict[str, Any] = api.get_openapi_schema(path_prefix="/api/v1")
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            o = Operation(method=method.upper(), path=path, secured=bool(op.get("security")))
            for p in op.get("parameters", []):
                target = o.path_params if p["in"] == "path" else o.query_params
                target[p["name"]] = _resolve(schema, p.get("schema", {}))
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                o.body = _resolve(schema, content["application/json"]["schema"])
            ops.append(o)
    return ops


def sample(schema: dict[str, Any]) -> Any:
    """A small valid value of a JSON schema (enough to get past validation)."""
    if "anyOf" in schema:
        return sample(next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return {k: sample(v) for k, v in schema.get("properties", {}).items() if k in schema.get("required", [])}
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if schema.get("format") == "email":
        return "someone@example.com"
    return "x"


# --- what a page offers: its forms and links --------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]  # name -> a value the page itself offers (its value, first option)


class _PageParser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.forms: list[Form] = []
        self.query_names: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urlsplit(a.get("action") or self.base).path or self.base
            self.forms.append(Form(action=action, method=(a.get("method") or "get").lower(), fields={}))
        elif tag == "a" and "?" in a.get("href", ""):
            self.query_names.update(k for k, _ in parse_qsl(urlsplit(a["href"]).query, keep_blank_values=True))
        elif tag in ("input", "select", "textarea", "button") and self.forms and a.get("name"):
            fields = self.forms[-1].fields
            if tag == "input" and a.get("type") in ("radio", "checkbox") and a["name"] in fields:
                return
            fields.setdefault(a["name"], a.get("value", ""))
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._select and self.forms:
            fields = self.forms[-1].fields
            if not fields.get(self._select):
                fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def page_offers(url: str, html: str) -> tuple[list[Form], set[str]]:
    """The forms of a page and the query parameter names its links and GET forms use."""
    parser = _PageParser(url)
    parser.feed(html)
    names = set(parser.query_names)
    for form in parser.forms:
        if form.method == "get":
            names.update(form.fields)
    return parser.forms, names


# --- the objects a route's parameters name -----------------------------------------------------


@dataclass
class World:
    """Objects of workspace A ("andes") and customer ACME that every parameter name maps to."""

    values: dict[str, Any]  # parameter name -> a value naming an object of workspace A / customer ACME
    markers: list[bytes]  # text only that object's pages show (a leak if an outsider sees it)
    tokens: dict[str, str]  # API bearer tokens by cast name


def build_world(cast: Any) -> World:
    """A-4 (carol's, ACME) with a public file, an internal note and a pending confirmation; a rule of A."""
    from conftest import NOW, _open
    from radicado.notifications.models import NotificationRule
    from radicado.tickets import actions
    from radicado.tickets.attachments import Upload
    from radicado.tickets.confirmations import request_confirmation
    from radicado.tickets.models import Attachment, ConfirmationKind
    from radicado.workspaces.actions import issue_api_token

    files = [Upload(filename="secreto-acme.txt", data=b"contenido-secreto-acme")]
    ticket = _open(cast.actor("carol"), cast.contacts["carol"], "Asunto-secreto-ACME", files)
    actions.add_note(actor=cast.actor("bob"), ticket=ticket, body="Nota-secreta-ACME", now=NOW)
    confirmation, _token = request_confirmation(
        actor=cast.actor("bob"), ticket=ticket, kind=ConfirmationKind.QUOTE, description="Cotizacion-ACME", now=NOW
    )
    tokens, prefixes = {}, {}
    for name in ("alice", "bob", "carol", "erin", "frank", "grace"):
        ws = cast.ws_b if name in ("frank", "grace") else cast.ws_a
        row, tokens[name] = issue_api_token(workspace=ws, user=cast.users[name], name="sweep", now=NOW)
        prefixes[name] = row.prefix
    values = {
        "ws": cast.ws_a.slug,
        "number": ticket.number,
        "attachment_id": Attachment.objects.get(ticket=ticket, filename="secreto-acme.txt").id,
        "confirmation_id": confirmation.id,
        "rule_id": NotificationRule.objects.filter(workspace=cast.ws_a).order_by("id").values_list("id", flat=True)[0],
        # Survey and confirmation links are capabilities: whoever holds the token may answer. A guessed token
        # names nothing; the isolation test checks that it answers 404 to everyone.
        "token": "token-que-nadie-tiene",
        # API
        "customer_id": cast.acme.id,
        "contact_id": cast.contacts["carol"].id,
        "prefix": prefixes["carol"],
    }
    markers = [b"Asunto-secreto-ACME", b"Nota-secreta-ACME", b"contenido-secreto-acme", b"Cotizacion-ACME"]
    return World(values=values, markers=markers, tokens=tokens)
