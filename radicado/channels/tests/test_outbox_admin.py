"""The outbox page: admins and supervisors inspect outgoing e-mail and WhatsApp and retry what failed."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import NOW, Cast
from radicado.channels.email.tests.servers import SmtpSink
from radicado.channels.models import OutboundMail, OutboundStatus, WhatsAppMessage
from radicado.channels.outbox import queue_mail, send_due
from radicado.channels.queries import outbox_page
from radicado.workspaces.models import AuditEntry, Workspace

PAGE_A = "/w/andes/console/salida/"
_serial = iter(range(1, 1_000_000))


def mail_row(
    ws: Workspace,
    *,
    to: str = "carol@example.com",
    status: str = OutboundStatus.PENDING,
    error: str = "",
    ticket_id: int | None = None,
    at: dt.datetime = NOW,
    event: str = "ticket.reply",
) -> OutboundMail:
    n = next(_serial)
    msg = EmailMessage()
    msg["From"] = "soporte@andes.example.com"
    msg["To"] = to
    msg["Subject"] = f"Aviso {n}"
    msg["Message-ID"] = f"<outbox.{n}@radicado.test>"
    msg.set_content("Hola")
    row = queue_mail(
        workspace_id=ws.id,
        ticket_id=ticket_id,
        message_id=msg["Message-ID"],
        mail_from="soporte@andes.example.com",
        rcpt_to=[to],
        raw=bytes(msg),
        automatic=True,
        now=at,
    )
    OutboundMail.objects.filter(id=row.id).update(
        event=event,
        status=status,
        last_error=error,
        attempts=8 if status == OutboundStatus.FAILED else 0,
        next_attempt_at=None if status == OutboundStatus.FAILED else at,
        sent_at=at if status == OutboundStatus.SENT else None,
    )
    row.refresh_from_db()
    return row


def whatsapp_row(ws: Workspace, *, number: str = "+573001112233", status: str = "pending", error: str = "") -> Any:
    return WhatsAppMessage.objects.create(
        workspace=ws,
        inbound=False,
        number=number,
        text="Su solicitud tiene respuesta",
        status=status,
        last_error=error,
        attempts=6 if status == "failed" else 0,
        next_attempt_at=NOW if status == "pending" else None,
        created_at=NOW,
        event="ticket.reply",
    )


def test_admins_and_supervisors_see_their_workspace_outbox_only(cast: Cast) -> None:
    mail_row(cast.ws_a, to="carol@example.com", ticket_id=cast.tickets["A-1"].id)
    whatsapp_row(cast.ws_a, number="+573001112233", status="failed", error="número inválido")
    mail_row(cast.ws_b, to="grace@example.com")
    whatsapp_row(cast.ws_b, number="+573009998877")
    WhatsAppMessage.objects.create(
        workspace=cast.ws_a, inbound=True, number="+573005550000", text="hola", status="received", created_at=NOW
    )
    for name in ("alice", "sam"):
        response = cast.client(name).get(PAGE_A)
        assert response.status_code == 200
        page = response.content.decode()
        assert "carol@example.com" in page and "+573001112233" in page and "número inválido" in page
        assert f'href="/w/andes/console/t/{cast.tickets["A-1"].number}/"' in page
        assert "grace@example.com" not in page and "+573009998877" not in page
        assert "+573005550000" not in page  # inbound WhatsApp is not the outbox
    assert "/w/andes/console/salida/" in cast.client("alice").get("/w/andes/console/").content.decode()
    assert "/w/andes/console/salida/" not in cast.client("bob").get("/w/andes/console/").content.decode()


@pytest.mark.parametrize("name", ["bob", "carol", "dave", "frank"])
def test_agents_contacts_and_strangers_get_404(cast: Cast, name: str) -> None:
    row = mail_row(cast.ws_a, status=OutboundStatus.FAILED, error="550 no")
    client = cast.client(name)
    assert client.get(PAGE_A).status_code == 404
    assert client.post(PAGE_A, {"channel": "email", "id": str(row.id)}).status_code == 404
    row.refresh_from_db()
    assert row.status == OutboundStatus.FAILED


def test_a_row_of_another_workspace_is_404_on_retry(cast: Cast) -> None:
    theirs = mail_row(cast.ws_b, status=OutboundStatus.FAILED, error="550 no")
    their_whatsapp = whatsapp_row(cast.ws_b, status="failed")
    alice = cast.client("alice")
    assert alice.post(PAGE_A, {"channel": "email", "id": str(theirs.id)}).status_code == 404
    assert alice.post(PAGE_A, {"channel": "whatsapp", "id": str(their_whatsapp.id)}).status_code == 404
    # An unknown channel is a bad value (400, beside nothing written), not a missing row.
    assert alice.post(PAGE_A, {"channel": "fax", "id": str(theirs.id)}).status_code == 400
    theirs.refresh_from_db()
    their_whatsapp.refresh_from_db()
    assert (theirs.status, theirs.attempts, their_whatsapp.status) == ("failed", 8, "failed")
    assert not AuditEntry.objects.filter(action="outbox.retried").exists()


def test_retry_needs_csrf(cast: Cast) -> None:
    from django.test import Client

    row = mail_row(cast.ws_a, status=OutboundStatus.FAILED, error="550 no")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users["alice"])
    assert client.post(PAGE_A, {"channel": "email", "id": str(row.id)}).status_code == 403
    row.refresh_from_db()
    assert row.status == OutboundStatus.FAILED


def test_a_retried_failed_mail_goes_out_on_the_next_send(cast: Cast, settings: Any) -> None:
    row = mail_row(cast.ws_a, status=OutboundStatus.FAILED, error="550 5.1.1 mailbox unavailable")
    later = NOW + dt.timedelta(hours=1)
    with SmtpSink() as sink:
        settings.SMTP_URL = f"smtp://{sink.host}:{sink.port}"
        assert send_due(now=later) == 0  # failed rows are never picked up by themselves
        response = cast.client("alice").post(PAGE_A, {"channel": "email", "id": str(row.id)})
        assert response.status_code == 200
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboundStatus.PENDING, 0)
        assert row.next_attempt_at is not None and row.next_attempt_at <= dt.datetime.now(dt.UTC)
        entry = AuditEntry.objects.get(action="outbox.retried")
        assert (entry.workspace_id, entry.actor_id, entry.target) == (
            cast.ws_a.id,
            cast.users["alice"].id,
            f"email:{row.id}",
        )
        assert entry.data["status"] == "failed" and "550" in entry.data["last_error"]
        assert send_due(now=dt.datetime.now(dt.UTC)) == 1
        (got,) = sink.wait_for(1)
    assert BytesParser(policy=default_policy).parsebytes(got.raw)["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboundStatus.SENT, "")


def test_retry_enqueues_the_send_after_commit(
    cast: Cast, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    row = mail_row(cast.ws_a, status=OutboundStatus.FAILED, error="451 try later")
    with SmtpSink() as sink:
        settings.SMTP_URL = f"smtp://{sink.host}:{sink.port}"
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            cast.client("sam").post(PAGE_A, {"channel": "email", "id": str(row.id)})
        assert len(callbacks) == 1
        sink.wait_for(1)
    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT


def test_a_failed_whatsapp_message_is_put_back_in_the_queue(cast: Cast) -> None:
    message = whatsapp_row(cast.ws_a, status="failed", error="timeout")
    cast.client("alice").post(PAGE_A, {"channel": "whatsapp", "id": str(message.id)})
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0)
    assert AuditEntry.objects.filter(action="outbox.retried", target=f"whatsapp:{message.id}").exists()


def test_a_sent_message_is_not_retried(cast: Cast) -> None:
    row = mail_row(cast.ws_a, status=OutboundStatus.SENT)
    response = cast.client("alice").post(PAGE_A, {"channel": "email", "id": str(row.id)})
    assert response.status_code == 409
    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT


def test_filters_by_status_and_channel(cast: Cast) -> None:
    mail_row(cast.ws_a, to="pendiente@example.com")
    mail_row(cast.ws_a, to="enviado@example.com", status=OutboundStatus.SENT)
    mail_row(cast.ws_a, to="fallido@example.com", status=OutboundStatus.FAILED, error="550")
    whatsapp_row(cast.ws_a, number="+571111111111", status="delivered")
    whatsapp_row(cast.ws_a, number="+572222222222", status="failed")
    alice = cast.client("alice")

    def shown(query: str) -> set[str]:
        page = alice.get(f"{PAGE_A}?{query}").content.decode()
        everyone = ("pendiente@", "enviado@", "fallido@", "+571111111111", "+572222222222")
        return {who for who in everyone if who in page}

    assert shown("") == {"pendiente@", "enviado@", "fallido@", "+571111111111", "+572222222222"}
    assert shown("status=failed") == {"fallido@", "+572222222222"}
    assert shown("status=sent") == {"enviado@", "+571111111111"}
    assert shown("status=pending") == {"pendiente@"}
    assert shown("channel=whatsapp") == {"+571111111111", "+572222222222"}
    assert shown("channel=email&status=failed") == {"fallido@"}
    assert shown("status=nonsense&channel=nonsense") == shown("")


def test_last_error_is_escaped(cast: Cast) -> None:
    mail_row(cast.ws_a, status=OutboundStatus.FAILED, error='<script>alert("x")</script><img src=x onerror=y>')
    page = cast.client("alice").get(PAGE_A).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert" in page


def test_pages_walk_every_row_once_newest_first(cast: Cast) -> None:
    rows = []
    for i in range(23):  # ties on created_at across both channels, too
        at = NOW + dt.timedelta(seconds=i // 3)
        rows.append(("email", mail_row(cast.ws_a, at=at).id, at))
        w = whatsapp_row(cast.ws_a)
        WhatsAppMessage.objects.filter(id=w.id).update(created_at=at)
        rows.append(("whatsapp", w.id, at))
    mail_row(cast.ws_b)
    seen: list[tuple[str, int]] = []
    cursor = ""
    while True:
        page = outbox_page(workspace_id=cast.ws_a.id, cursor=cursor, limit=7)
        seen += [(r.channel, r.id) for r in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted((c, i) for c, i, _ in rows) and len(seen) == len(set(seen))
    times = {(c, i): at for c, i, at in rows}
    assert [times[s] for s in seen] == sorted((times[s] for s in seen), reverse=True)


def test_a_page_costs_the_same_queries_at_any_size(cast: Cast) -> None:
    alice = cast.client("alice")
    mail_row(cast.ws_a, ticket_id=cast.tickets["A-1"].id)
    whatsapp_row(cast.ws_a)
    alice.get(PAGE_A)  # warm the session
    with CaptureQueriesContext(connection) as few:
        alice.get(PAGE_A)
    for _ in range(120):
        mail_row(cast.ws_a, ticket_id=cast.tickets["A-2"].id, status=OutboundStatus.FAILED, error="x")
        whatsapp_row(cast.ws_a, status="failed")
    with CaptureQueriesContext(connection) as many:
        page = alice.get(PAGE_A).content.decode()
    assert len(many) == len(few)
    assert page.count('name="id"') == 50 and "before=" in page
