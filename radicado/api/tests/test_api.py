"""The API with real tokens: same scopes as the UI, hashed and revocable tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import PASSWORD, Cast
from radicado.workspaces.models import ApiToken


def token_for(email: str, workspace: str) -> str:
    response = Client().post(
        "/api/v1/auth/token",
        {"email": email, "password": PASSWORD, "workspace": workspace},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["token"])


class Api:
    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, data: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1{url}", data, content_type="application/json")


@pytest.fixture
def api(cast: Cast) -> Any:
    return lambda who, ws="andes": Api(token_for(f"{who}@example.com", ws))


def numbers(page: Any) -> set[int]:
    return {t["number"] for t in page.json()["items"]}


def test_token_is_stored_hashed_and_works_until_revoked(cast: Cast, api: Any) -> None:
    raw = token_for("bob@example.com", "andes")
    stored = ApiToken.objects.get()
    assert raw.split("_")[2] not in (stored.secret_hash, stored.prefix)
    bob = Api(raw)
    assert bob.get("/tickets").status_code == 200
    alice = api("alice")
    assert alice.client.delete(f"/api/v1/auth/tokens/{stored.prefix}").status_code == 204
    assert bob.get("/tickets").status_code == 401


def test_wrong_password_or_foreign_workspace_gets_no_token(cast: Cast) -> None:
    bad = Client().post(
        "/api/v1/auth/token",
        {"email": "bob@example.com", "password": "nope", "workspace": "andes"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    foreign = Client().post(
        "/api/v1/auth/token",
        {"email": "bob@example.com", "password": PASSWORD, "workspace": "brisa"},
        content_type="application/json",
    )
    assert foreign.status_code == 400
    assert Api("rad_deadbeef_nope").get("/tickets").status_code == 401


def test_a_token_is_issued_only_to_its_own_user(cast: Cast, api: Any) -> None:
    assert api("bob").post("/auth/tokens", {"user_email": "sam@example.com"}).status_code == 403
    assert api("alice").post("/auth/tokens", {"user_email": "sam@example.com"}).status_code == 403
    assert api("alice").post("/auth/tokens", {"user_email": "frank@example.com"}).status_code == 403
    issued = api("bob").post("/auth/tokens", {"name": "integración"})
    assert issued.status_code == 201
    assert ApiToken.objects.get(prefix=issued.json()["prefix"]).user == cast.users["bob"]
    assert Api(issued.json()["token"]).get("/tickets").status_code == 200


@pytest.mark.parametrize(("who", "visible"), [("carol", {1}), ("dave", {1, 2}), ("erin", {3}), ("bob", {1, 2, 3})])
def test_list_and_get_follow_the_same_scopes_as_the_ui(cast: Cast, api: Any, who: str, visible: set[int]) -> None:
    client = api(who)
    assert numbers(client.get("/tickets?status=all")) == visible
    for number in (1, 2, 3):
        assert client.get(f"/tickets/{number}").status_code == (200 if number in visible else 404)


def test_an_agent_token_never_sees_another_workspace(cast: Cast, api: Any) -> None:
    frank = api("frank", "brisa")
    page = frank.get("/tickets?status=all").json()
    assert [t["subject"] for t in page["items"]] == ["Telefonía de Grace"]
    assert frank.get(f"/customers/{cast.acme.id}").status_code == 404
    assert frank.get(f"/contacts/{cast.contacts['carol'].id}").status_code == 404
    assert {c["code"] for c in frank.get("/customers").json()} == {"zeta"}


def test_customers_do_not_see_notes_or_other_companies(cast: Cast, api: Any) -> None:
    carol = api("carol")
    detail = carol.get("/tickets/1").json()
    assert [m["body"] for m in detail["messages"]] == ["Respuesta pública"]
    assert all(e["kind"] != "noted" for e in detail["events"])
    assert carol.post("/tickets/3/replies", {"body": "intruso"}).status_code == 404
    assert carol.post("/tickets/1/notes", {"body": "x"}).status_code == 403
    assert {c["code"] for c in api("dave").get("/customers").json()} == {"acme"}
    assert carol.get("/customers").json() == []
    assert {c["name"] for c in api("dave").get("/contacts").json()} == {"Carol", "Dave"}


def test_create_reply_and_transition_through_the_api(cast: Cast, api: Any) -> None:
    carol = api("carol")
    created = carol.post("/tickets", {"type": "incidente", "subject": "Sin correo", "description": "No llega"})
    assert created.status_code == 201
    number = created.json()["number"]
    assert created.json()["reference"] == f"AND-{number:06d}"
    assert (
        carol.post(
            "/tickets", {"type": "incidente", "subject": "x", "description": "y", "priority": "urgente"}
        ).status_code
        == 403
    )
    bob = api("bob")
    assert bob.post(f"/tickets/{number}/replies", {"body": "¿Desde cuándo?"}).status_code == 201
    moved = bob.post(f"/tickets/{number}/transition", {"to": "esperando_cliente"})
    assert moved.json()["status"]["code"] == "esperando_cliente"
    carol.post(f"/tickets/{number}/replies", {"body": "Desde ayer"})
    assert carol.get(f"/tickets/{number}").json()["status"]["code"] == "en_curso"
    assert carol.post(f"/tickets/{number}/transition", {"to": "cerrado"}).status_code == 200
    closed = carol.post(f"/tickets/{number}/replies", {"body": "otra cosa"})
    assert closed.status_code == 409 and f"AND-{number:06d}" in closed.json()["detail"]


def test_invalid_payloads_get_clear_errors(cast: Cast, api: Any) -> None:
    bob = api("bob")
    assert bob.post("/tickets", {"subject": "falta el tipo"}).status_code == 422
    unknown = bob.post("/tickets", {"type": "nope", "subject": "a", "description": "b", "requester_id": 1})
    assert unknown.status_code == 400 and "nope" in unknown.json()["detail"]
    empty = bob.post(
        "/tickets",
        {"type": "incidente", "subject": "  ", "description": "b", "requester_id": cast.contacts["carol"].id},
    )
    assert empty.status_code == 400
    assert bob.get("/tickets?cursor=%%%").status_code == 400


def test_cursor_pagination_walks_every_ticket_once_in_queue_order(cast: Cast, api: Any) -> None:
    bob = api("bob")
    for i in range(5):
        bob.post(
            "/tickets",
            {
                "type": "incidente",
                "subject": f"T{i}",
                "description": "d",
                "requester_id": cast.contacts["carol"].id,
                "priority": ["alta", "baja"][i % 2],
            },
        )
    seen: list[tuple[str, int]] = []
    url = "/tickets?status=all&limit=3"
    while url:
        page = bob.get(url).json()
        seen += [(t["priority"]["code"], t["number"]) for t in page["items"]]
        url = f"/tickets?status=all&limit=3&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert len(seen) == 8 and len(set(seen)) == 8
    assert [p for p, _ in seen][:2] == ["alta", "alta"] and seen[-1][0] == "baja"


def test_checked_in_openapi_schema_matches_the_code(db: Any) -> None:
    from radicado.api.api import api as ninja_api

    path = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.json"
    current = ninja_api.get_openapi_schema()
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(current)), (
        "docs/api/openapi.json is stale: run `uv run radicado export_openapi`"
    )
