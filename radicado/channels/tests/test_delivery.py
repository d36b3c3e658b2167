"""One outbox mechanism: e-mail and WhatsApp rows are claimed, retried, and given up on the same way.

Every test runs against both channels with their real transports: an SMTP server on loopback
(``SmtpSink``) and the WhatsApp provider stand-in. Each channel has a transport that works, one
that fails temporarily (SMTP 451, HTTP 500) and one that fails permanently (SMTP 554, HTTP 400);
a test points the channel at one of them, as an operator's relay or a provider would behave.
What is asserted is what an admin sees on the outbox page: status, attempts, next attempt, error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from types import ModuleType
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model

from radicado.channels import delivery, outbox, whatsapp_outbox
from radicado.channels.email.tests.servers import SmtpSink
from radicado.channels.models import (
    IntakeOutcome,
    OutboundMail,
    OutboundStatus,
    WhatsAppAccount,
    WhatsAppMessage,
    WhatsAppStatus,
)
from radicado.channels.queries import outbox_page
from radicado.channels.whatsapp.tests import standin as s
from radicado.workspaces.actions import create_workspace
from radicado.workspaces.models import Workspace

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
_serial = itertools.count(1)
# The labels the outbox page shows (in the active language), the same for both channels.
PENDING, SENT, FAILED = (status.label for status in OutboundStatus)


@dataclass
class Channel:
    """One outbox channel wired to real transports; ``use`` picks which one answers."""

    name: str
    model: type[Model]
    max_attempts: int
    send_due: Callable[..., int]
    queue: Callable[[], int]  # a new due row; its id
    use: Callable[[str], None]  # "working" | "temporary" | "permanent"
    delivered: Callable[[], list[str]]  # what the working transport received (one recipient per message)
    module: ModuleType  # the channel's outbox module ...
    transport: str  # ... and its function that sends one row, for tests that wrap it


def mail_channel(ws: Workspace, stack: ExitStack, settings: Any) -> Channel:
    sinks = {
        "working": stack.enter_context(SmtpSink()),
        "temporary": stack.enter_context(SmtpSink(data_reply="451 4.3.0 Try again later")),
        "permanent": stack.enter_context(SmtpSink(data_reply="554 5.7.1 Message refused")),
    }

    def use(which: str) -> None:
        settings.SMTP_URL = f"smtp://{sinks[which].host}:{sinks[which].port}"

    def queue() -> int:
        n = next(_serial)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "soporte@andes.example.com", f"c{n}@example.com", f"Aviso {n}"
        msg["Message-ID"] = f"<delivery.{n}@radicado.test>"
        msg.set_content("Hola")
        row = outbox.queue_mail(
            workspace_id=ws.id,
            ticket_id=None,
            message_id=msg["Message-ID"],
            mail_from="soporte@andes.example.com",
            rcpt_to=[f"c{n}@example.com"],
            raw=bytes(msg),
            automatic=True,
            now=NOW,
            event="ticket.reply",
        )
        return int(row.id)

    return Channel(
        name="email",
        model=OutboundMail,
        max_attempts=outbox.MAX_ATTEMPTS,
        send_due=outbox.send_due,
        queue=queue,
        use=use,
        delivered=lambda: [r for mail in sinks["working"].received for r in mail.rcpt_tos],
        module=outbox,
        transport="_send_mail",
    )


def whatsapp_channel(ws: Workspace, stack: ExitStack) -> Channel:
    providers = {which: stack.enter_context(s.ProviderStandIn()) for which in ("working", "temporary", "permanent")}
    providers["temporary"].fail_next(1000, status=500)
    providers["permanent"].fail_next(1000, status=400)
    account = WhatsAppAccount.objects.create(
        workspace=ws,
        provider="meta",
        number=s.TWILIO_FROM,
        phone_number_id=s.META_PHONE_NUMBER_ID,
        access_token=s.META_ACCESS_TOKEN,
        app_secret=s.META_APP_SECRET,
        verify_token=s.META_VERIFY_TOKEN,
        followup_template=s.META_TEMPLATE,
    )

    def use(which: str) -> None:
        WhatsAppAccount.objects.filter(id=account.id).update(api_base_url=providers[which].meta_base_url)

    def queue() -> int:
        n = next(_serial)
        row = whatsapp_outbox.queue_whatsapp(
            account=account,
            ticket_id=None,
            number=f"+5730000{n:05d}",
            text=f"Aviso {n}",
            template_params=[f"AN-{n}", "Impresora"],
            now=NOW,
            event="ticket.reply",
        )
        assert row is not None
        return row.id

    def delivered() -> list[str]:
        return ["+" + json.loads(r.body)["to"] for r in providers["working"].accepted]

    return Channel(
        name="whatsapp",
        model=WhatsAppMessage,
        max_attempts=whatsapp_outbox.MAX_ATTEMPTS,
        send_due=whatsapp_outbox.send_due,
        queue=queue,
        use=use,
        delivered=delivered,
        module=whatsapp_outbox,
        transport="_send_message",
    )


@pytest.fixture(params=["email", "whatsapp"])
def channel(request: pytest.FixtureRequest, db: None, settings: Any) -> Iterator[Channel]:
    ws = create_workspace(slug="entrega", name="Entrega", ticket_prefix="EN", timezone="America/Bogota", now=NOW)
    with ExitStack() as stack:
        made = mail_channel(ws, stack, settings) if request.param == "email" else whatsapp_channel(ws, stack)
        made.use("working")
        yield made


def shown(channel: Channel, row_id: int) -> tuple[str, str, int, dt.datetime | None, str]:
    """The row as the outbox page shows it: status, its label, attempts, next attempt, last error."""
    (row,) = [r for r in outbox_page(workspace_id=_workspace_id(channel, row_id)).rows if r.id == row_id]
    assert row.channel == channel.name
    return row.status, row.status_label, row.attempts, row.next_attempt_at, row.last_error


def _workspace_id(channel: Channel, row_id: int) -> int:
    return int(channel.model._default_manager.filter(id=row_id).values_list("workspace_id", flat=True).get())


def test_a_temporary_failure_is_retried_after_a_growing_backoff(channel: Channel) -> None:
    row = channel.queue()
    channel.use("temporary")
    assert channel.send_due(now=NOW) == 0
    status, label, attempts, next_at, error = shown(channel, row)
    assert (status, label, attempts, next_at) == ("pending", PENDING, 1, NOW + 2 * MINUTE)
    assert ("451" if channel.name == "email" else "500") in error
    assert channel.send_due(now=NOW + MINUTE) == 0  # not due yet: nobody tries it
    assert shown(channel, row)[2] == 1
    assert channel.send_due(now=NOW + 2 * MINUTE) == 0
    assert shown(channel, row)[2:4] == (2, NOW + 6 * MINUTE)  # 2 minutes, then 4
    channel.use("working")
    assert channel.send_due(now=NOW + 6 * MINUTE) == 1
    assert shown(channel, row) == ("sent", SENT, 3, None, "")
    assert len(channel.delivered()) == 1


def test_a_permanent_failure_stops_at_once(channel: Channel) -> None:
    row = channel.queue()
    channel.use("permanent")
    assert channel.send_due(now=NOW) == 0
    status, label, attempts, next_at, error = shown(channel, row)
    assert (status, label, attempts, next_at) == ("failed", FAILED, 1, None)
    assert ("554" if channel.name == "email" else "400") in error
    channel.use("working")
    assert channel.send_due(now=NOW + dt.timedelta(days=1)) == 0  # only an admin's retry brings it back
    assert shown(channel, row)[:3] == ("failed", FAILED, 1)
    assert channel.delivered() == []


def test_temporary_failures_give_up_after_the_channels_attempts(channel: Channel) -> None:
    row = channel.queue()
    channel.use("temporary")
    at = NOW
    for attempt in range(1, channel.max_attempts + 1):
        assert channel.send_due(now=at) == 0
        status, _, attempts, next_at, error = shown(channel, row)
        assert attempts == attempt and error
        if attempt < channel.max_attempts:
            assert status == "pending" and next_at == at + dt.timedelta(minutes=min(2**attempt, 240))
            at = next_at
    assert (status, next_at) == ("failed", None)
    channel.use("working")
    assert channel.send_due(now=at + dt.timedelta(days=1)) == 0
    assert channel.delivered() == []


def test_two_senders_never_send_the_same_row(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [channel.queue() for _ in range(3)]
    send_one = getattr(channel.module, channel.transport)
    second: list[int] = []

    def first_sender_transport(row: Any, **kwargs: Any) -> Any:
        # While the first sender holds its first row (and has already read all three as due),
        # a second sender sweeps the same outbox; its own sends go straight out.
        if not second:
            second.append(-1)
            second[0] = channel.send_due(now=NOW)
        return send_one(row, **kwargs)

    monkeypatch.setattr(channel.module, channel.transport, first_sender_transport)
    first = channel.send_due(now=NOW)
    assert (first, second) == (1, [2])
    delivered = channel.delivered()
    assert len(delivered) == 3 and len(set(delivered)) == 3  # each row once, none twice
    assert [shown(channel, r)[:3] for r in rows] == [("sent", SENT, 1)] * 3  # each claimed once


def test_both_channels_go_through_the_shared_mechanism(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    claimed: list[type[Model]] = []
    real_claim = delivery.claim_due

    def spying_claim(qs: Any, **kwargs: Any) -> Any:
        claimed.append(qs.model)
        return real_claim(qs, **kwargs)

    monkeypatch.setattr(delivery, "claim_due", spying_claim)
    channel.queue()
    assert channel.send_due(now=NOW) == 1
    assert claimed == [channel.model]


# --- e-mail only -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_relay_mail_waits_with_the_reason_and_goes_out_once_configured(settings: Any) -> None:
    ws = create_workspace(slug="sinrelay", name="Sin relay", ticket_prefix="SR", timezone="America/Bogota", now=NOW)
    with ExitStack() as stack:
        mail = mail_channel(ws, stack, settings)
        row = mail.queue()
        settings.SMTP_URL = ""
        assert mail.send_due(now=NOW) == 0
        status, _, attempts, next_at, error = shown(mail, row)
        assert (status, attempts, error) == ("pending", 1, "RADICADO_SMTP_URL no está configurado")
        assert next_at is not None and next_at >= NOW + dt.timedelta(minutes=5)  # held for the lease, then retried
        mail.use("working")
        assert mail.send_due(now=next_at) == 1
        assert shown(mail, row) == ("sent", SENT, 2, None, "")


@pytest.mark.django_db
def test_a_retry_goes_only_to_the_recipients_that_refused(settings: Any) -> None:
    ws = create_workspace(slug="parcial", name="Parcial", ticket_prefix="PA", timezone="America/Bogota", now=NOW)
    with SmtpSink(reject={"ocupada@example.com": "450 4.2.1 Mailbox busy"}) as busy, SmtpSink() as working:
        settings.SMTP_URL = f"smtp://{busy.host}:{busy.port}"
        row = outbox.queue_mail(
            workspace_id=ws.id,
            ticket_id=None,
            message_id="<parcial.1@radicado.test>",
            mail_from="soporte@parcial.example.com",
            rcpt_to=["carol@example.com", "ocupada@example.com"],
            raw=b"From: soporte@parcial.example.com\r\nSubject: Aviso\r\n\r\nHola\r\n",
            automatic=True,
            now=NOW,
        )
        assert outbox.send_due(now=NOW) == 0
        (first,) = busy.received
        assert first.rcpt_tos == ["carol@example.com"]
        row.refresh_from_db()
        assert (row.status, row.attempts, row.rcpt_to) == (OutboundStatus.PENDING, 1, ["ocupada@example.com"])
        assert "450" in row.last_error
        settings.SMTP_URL = f"smtp://{working.host}:{working.port}"
        assert outbox.send_due(now=NOW + 2 * MINUTE) == 1
        assert [m.rcpt_tos for m in working.received] == [["ocupada@example.com"]]  # carol does not get it twice


# --- statuses and outcomes as choices ------------------------------------------------------------


def test_whatsapp_statuses_include_every_status_the_mechanism_writes() -> None:
    assert set(OutboundStatus.values) <= set(WhatsAppStatus.values)
    assert {s: WhatsAppStatus(s).label for s in OutboundStatus.values} == {s.value: s.label for s in OutboundStatus}


def test_intake_outcomes_keep_their_stored_values() -> None:
    assert IntakeOutcome.values == ["created", "threaded", "ignored", "quarantined", "held", "rejected", "not found"]
    assert IntakeOutcome.CREATED == "created" and f"{IntakeOutcome.THREADED}" == "threaded"


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor refuses to run inside the test's transaction
def test_the_whatsapp_status_migration_changes_no_table() -> None:
    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("channels", "0007_whatsapp_status_choices")
    statements = executor.loader.collect_sql([(migration, False)])
    assert [sql for sql in statements if not sql.startswith("--")] == []
