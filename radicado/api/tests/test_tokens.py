"""API tokens (ADR 0016): only to their own user, expiring, revocable from the console, one workspace each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, Cast
from radicado.errors import NotPermitted
from radicado.tickets.models import Reply
from radicado.workspaces.actions import add_member, issue_api_token
from radicado.workspaces.models import ApiToken, AuditEntry, Role

CONSOLE = "/w/andes/console/tokens/"


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def obtain(email: str, workspace: str = "andes") -> str:
    response = Client().post(
        "/api/v1/auth/token",
        {"email": email, "password": PASSWORD, "workspace": workspace},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["token"])


def test_an_admin_cannot_obtain_a_token_to_act_as_a_customer(cast: Cast) -> None:
    """The finding: alice used to get a token for carol and reply or accept terms as carol."""
    alice = bearer(obtain("alice@example.com"))
    refused = alice.post("/api/v1/auth/tokens", {"user_email": "carol@example.com"}, content_type="application/json")
    assert refused.status_code == 403
    assert not ApiToken.objects.filter(user=cast.users["carol"]).exists()
    with pytest.raises(NotPermitted):
        issue_api_token(
            workspace=cast.ws_a, user=cast.users["carol"], name="x", now=timezone.now(), actor=cast.users["alice"]
        )
    assert not ApiToken.objects.filter(user=cast.users["carol"]).exists()
    # What alice writes with her own token is hers, never carol's.
    alice.post("/api/v1/tickets/1/replies", {"body": "Escrito por Alice"}, content_type="application/json")
    reply = Reply.objects.get(body="Escrito por Alice")
    assert reply.author == cast.users["alice"]


def test_tokens_expire_after_the_default_lifetime(cast: Cast, settings: object) -> None:
    setattr(settings, "API_TOKEN_LIFETIME_DAYS", 30)  # noqa: B010
    now = timezone.now()
    fresh, raw_fresh = issue_api_token(workspace=cast.ws_a, user=cast.users["bob"], name="nuevo", now=now)
    assert fresh.expires_at == now + dt.timedelta(days=30)
    _, raw_old = issue_api_token(
        workspace=cast.ws_a, user=cast.users["bob"], name="viejo", now=now - dt.timedelta(days=31)
    )
    assert bearer(raw_fresh).get("/api/v1/tickets").status_code == 200
    assert bearer(raw_old).get("/api/v1/tickets").status_code == 401
    setattr(settings, "API_TOKEN_LIFETIME_DAYS", 0)  # noqa: B010
    forever, _ = issue_api_token(workspace=cast.ws_a, user=cast.users["bob"], name="siempre", now=now)
    assert forever.expires_at is None
    issued = Client().post(
        "/api/v1/auth/token",
        {"email": "bob@example.com", "password": PASSWORD, "workspace": "andes"},
        content_type="application/json",
    )
    assert issued.json()["expires_at"] is None


def test_staff_revoke_tokens_from_the_console_and_never_see_a_secret(cast: Cast) -> None:
    raw_bob = obtain("bob@example.com")
    raw_sam = obtain("sam@example.com")
    bob_token = ApiToken.objects.get(user=cast.users["bob"])
    sam_token = ApiToken.objects.get(user=cast.users["sam"])
    obtain("frank@example.com", "brisa")

    alice_page = cast.client("alice").get(CONSOLE).content.decode()
    assert bob_token.prefix in alice_page and sam_token.prefix in alice_page
    assert "frank@example.com" not in alice_page  # another workspace's tokens are not listed
    for raw, token in ((raw_bob, bob_token), (raw_sam, sam_token)):
        assert raw.split("_", 2)[2] not in alice_page and token.secret_hash not in alice_page

    bob = cast.client("bob")
    bob_page = bob.get(CONSOLE).content.decode()
    assert bob_token.prefix in bob_page and sam_token.prefix not in bob_page
    assert bob.post(CONSOLE, {"token": sam_token.id}).status_code == 404  # not his
    assert cast.client("carol").get(CONSOLE).status_code in (403, 404)  # customers have no console

    done = cast.client("alice").post(CONSOLE, {"token": bob_token.id})
    assert done.status_code == 200 and "revocado" in done.content.decode().lower()
    assert bearer(raw_bob).get("/api/v1/tickets").status_code == 401
    assert bearer(raw_sam).get("/api/v1/tickets").status_code == 200
    entry = AuditEntry.objects.get(action="token.revoked", target=bob_token.prefix)
    assert entry.actor == cast.users["alice"] and entry.workspace == cast.ws_a
    assert cast.client("alice").post(CONSOLE, {"token": "x"}).status_code == 400


def test_a_token_of_workspace_a_is_useless_in_workspace_b(cast: Cast) -> None:
    # alice belongs to both workspaces; her token names andes only.
    add_member(workspace=cast.ws_b, user=cast.users["alice"], role=Role.ADMIN, now=timezone.now())
    alice = bearer(obtain("alice@example.com"))
    subjects = {t["subject"] for t in alice.get("/api/v1/tickets?status=all").json()["items"]}
    assert "Telefonía de Grace" not in subjects and "Impresora de Carol" in subjects
    assert alice.get(f"/api/v1/customers/{cast.zeta.id}").status_code == 404
    assert alice.get(f"/api/v1/contacts/{cast.contacts['grace'].id}").status_code == 404
    frank_token = ApiToken.objects.get(prefix=obtain("frank@example.com", "brisa").split("_")[1])
    assert alice.delete(f"/api/v1/auth/tokens/{frank_token.prefix}").status_code == 404
    assert cast.client("alice").post(CONSOLE, {"token": frank_token.id}).status_code == 404
    frank_token.refresh_from_db()
    assert frank_token.revoked_at is None
