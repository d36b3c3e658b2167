"""Shared test cast: two workspaces, two customers in the first, every role.

Read tests as sentences: in workspace A ("andes"), alice is the admin, bob an N1
agent, sam the supervisor; carol is a contact and dave the key user of ACME;
erin is a contact of Globex. Workspace B ("brisa") has frank (agent) and grace
(contact of Zeta). Tickets: A-1 by carol, A-2 by dave, A-3 by erin, B-1 by grace.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.customers.models import Contact, Customer
from radicado.tickets import actions
from radicado.tickets.attachments import Upload
from radicado.tickets.models import Channel, Ticket, TicketType
from radicado.tickets.profiles import install_profile
from radicado.workspaces.access import Actor
from radicado.workspaces.actions import add_member, create_team, create_workspace, ensure_user
from radicado.workspaces.models import Level, Role, User, Workspace

PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
PROFILE = json.loads((Path(__file__).parent / "profiles" / "default.json").read_text(encoding="utf-8"))


@dataclass
class Cast:
    ws_a: Workspace
    ws_b: Workspace
    acme: Customer
    globex: Customer
    zeta: Customer
    users: dict[str, User]
    contacts: dict[str, Contact]
    tickets: dict[str, Ticket]

    def actor(self, name: str, ws: Workspace | None = None) -> Actor:
        user = self.users[name]
        workspace = ws or (self.ws_b if name in ("frank", "grace") else self.ws_a)
        return actor_for(user=user, workspace_slug=workspace.slug)

    def client(self, name: str) -> Client:
        c = Client()
        c.force_login(self.users[name])
        return c


def _workspace(slug: str, prefix: str) -> Workspace:
    ws = create_workspace(slug=slug, name=slug.title(), ticket_prefix=prefix, timezone="America/Bogota", now=NOW)
    install_profile(workspace=ws, profile=PROFILE, now=NOW)
    return ws


def _staff(ws: Workspace, name: str, role: Role, level: Level | None = None) -> User:
    user = ensure_user(email=f"{name}@example.com", name=name.title(), password=PASSWORD)
    add_member(workspace=ws, user=user, role=role, level=level, now=NOW)
    return user


def _open(cast_actor: Actor, contact: Contact, subject: str, files: list[Upload] | None = None) -> Ticket:
    ticket_type = TicketType.objects.get(workspace_id=cast_actor.workspace.id, code="incidente")
    return actions.create_ticket(
        actor=cast_actor,
        requester=contact,
        ticket_type=ticket_type,
        subject=subject,
        description=f"{subject}: details",
        channel=Channel.PORTAL,
        now=NOW,
        uploads=files or [],
    )


def build_cast() -> Cast:
    ws_a, ws_b = _workspace("andes", "AND"), _workspace("brisa", "BRI")
    users = {
        "alice": _staff(ws_a, "alice", Role.ADMIN),
        "bob": _staff(ws_a, "bob", Role.AGENT, Level.N1),
        "sam": _staff(ws_a, "sam", Role.SUPERVISOR, Level.N3),
        "frank": _staff(ws_b, "frank", Role.AGENT, Level.N1),
    }
    create_team(workspace=ws_a, code="n2", name="Especialistas", members=[], now=NOW)
    acme = create_customer(workspace=ws_a, code="acme", name="ACME", now=NOW)
    globex = create_customer(workspace=ws_a, code="globex", name="Globex", now=NOW)
    zeta = create_customer(workspace=ws_b, code="zeta", name="Zeta", now=NOW)
    contacts = {
        "carol": create_contact(
            customer=acme, name="Carol", email="carol@example.com", portal_password=PASSWORD, now=NOW
        ),
        "dave": create_contact(
            customer=acme, name="Dave", email="dave@example.com", portal_password=PASSWORD, key_user=True, now=NOW
        ),
        "erin": create_contact(
            customer=globex, name="Erin", email="erin@example.com", portal_password=PASSWORD, now=NOW
        ),
        "grace": create_contact(
            customer=zeta, name="Grace", email="grace@example.com", portal_password=PASSWORD, now=NOW
        ),
    }
    for name, contact in contacts.items():
        assert contact.user is not None
        users[name] = contact.user
    cast = Cast(ws_a=ws_a, ws_b=ws_b, acme=acme, globex=globex, zeta=zeta, users=users, contacts=contacts, tickets={})
    doc = [Upload(filename="captura.png", data=b"\x89PNG fake image bytes")]
    cast.tickets["A-1"] = _open(cast.actor("carol"), contacts["carol"], "Impresora de Carol", doc)
    cast.tickets["A-2"] = _open(cast.actor("dave"), contacts["dave"], "Usuario nuevo de Dave")
    cast.tickets["A-3"] = _open(cast.actor("erin"), contacts["erin"], "Factura de Erin", doc)
    cast.tickets["B-1"] = _open(cast.actor("grace"), contacts["grace"], "Telefonía de Grace", doc)
    actions.add_note(
        actor=cast.actor("bob"),
        ticket=cast.tickets["A-1"],
        body="Nota interna secreta",
        now=NOW,
        uploads=[Upload(filename="interno.txt", data=b"secreto")],
    )
    actions.add_reply(actor=cast.actor("bob"), ticket=cast.tickets["A-1"], body="Respuesta pública", now=NOW)
    return cast


def use_tmp_storage(settings: Any, tmp_path: Path) -> None:
    """Store the test's attachments under its own tmp_path."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }


@pytest.fixture
def smlmv_rates(db: Any) -> None:
    """The SMLMV rows the migration loads; transactional tests flush them away."""
    from decimal import Decimal

    from radicado.sla.models import SmlmvRate

    for year, value in ((2024, "1300000"), (2025, "1423500"), (2026, "1750905")):
        SmlmvRate.objects.get_or_create(year=year, defaults={"value": Decimal(value)})


@pytest.fixture(autouse=True, scope="session")
def _remove_sqlite_side_files() -> Any:
    """Django drops the test database file but not SQLite's WAL side files."""
    yield
    from django.conf import settings

    name = str(settings.DATABASES["default"].get("TEST", {}).get("NAME") or "")
    for suffix in ("-wal", "-shm", ""):
        Path(name + suffix).unlink(missing_ok=True) if name else None


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Any:
    """Argon2 is deliberately slow; tests that do not test hashing use a fast hasher."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def cast(db: Any, settings: Any, tmp_path: Path) -> Cast:
    use_tmp_storage(settings, tmp_path)
    return build_cast()


# --- child processes that share the test's database ------------------------------------


def database_url() -> str:
    """The test database (either backend) as a RADICADO_DATABASE_URL, for child processes."""
    from urllib.parse import quote

    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(str(s.get("USER") or ""), safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(str(s["PASSWORD"]), safe="")
    host = quote(str(s.get("HOST") or "localhost"), safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(str(s['NAME']), safe='')}"


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def message_id_of(raw: bytes) -> str:
    from email.parser import BytesParser
    from email.policy import default as default_policy

    return str(BytesParser(policy=default_policy).parsebytes(raw, headersonly=True)["Message-ID"])


def notice_mail(tag: str, n: int, sender: str) -> tuple[str, bytes]:
    """(Message-ID, raw bytes) of the n-th automatic registration notice from ``sender`` to a customer."""
    mid = f"<radicado.{tag}-{n:06d}.{tag.lower()}@radicado.test>"
    raw = (
        f"From: {sender}\r\nTo: cliente{n}@example.com\r\nSubject: [{tag}-{n:06d}] Aviso\r\n"
        f"Message-ID: {mid}\r\nAuto-Submitted: auto-generated\r\n\r\nSu solicitud fue registrada.\r\n"
    ).encode()
    return mid, raw
