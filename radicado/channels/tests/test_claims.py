"""Claims hold a row for the lease: the default five minutes, or what the sender asked for."""

from __future__ import annotations

import datetime as dt

import pytest

from radicado.channels.claims import LEASE, claim_due, lease
from radicado.channels.models import OutboundMail, OutboundStatus
from radicado.workspaces.actions import create_workspace

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def pending_row(n: int) -> OutboundMail:
    ws = create_workspace(slug=f"claims{n}", name="Claims", ticket_prefix="CL", timezone="America/Bogota", now=NOW)
    return OutboundMail.objects.create(
        workspace=ws,
        message_id=f"<claims.{n}@radicado.test>",
        mail_from="soporte@example.com",
        rcpt_to=["cliente@example.com"],
        raw=b"x",
        automatic=True,
        created_at=NOW,
        next_attempt_at=NOW,
    )


@pytest.mark.django_db
def test_a_claim_holds_the_row_for_the_lease_asked_for() -> None:
    first, second = pending_row(1), pending_row(2)
    qs = OutboundMail.objects.filter(status=OutboundStatus.PENDING)
    with lease(dt.timedelta(seconds=1)):
        claimed = [row.id for row in claim_due(qs.filter(id=first.id), now=NOW, limit=10)]
    assert claimed == [first.id]
    assert [row.id for row in claim_due(qs.filter(id=second.id), now=NOW, limit=10)] == [second.id]
    first.refresh_from_db()
    second.refresh_from_db()
    # The lease runs from the claim: the instant the sweep began plus the (tiny) time spent since.
    assert NOW + dt.timedelta(seconds=1) <= first.next_attempt_at < NOW + dt.timedelta(seconds=2)
    assert first.attempts == 1
    assert NOW + LEASE <= second.next_attempt_at < NOW + LEASE + dt.timedelta(seconds=1)
    # held: nobody else claims it before the lease ends; afterwards the next sender does
    assert list(claim_due(qs, now=NOW + dt.timedelta(milliseconds=500), limit=10)) == []
    assert [r.id for r in claim_due(qs, now=NOW + dt.timedelta(seconds=2), limit=10)] == [first.id]


@pytest.mark.django_db
def test_a_slow_batch_does_not_hand_out_rows_with_a_lease_already_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [pending_row(n) for n in (3, 4)]
    clock = iter([100.0, 100.0, 190.0])  # the batch starts; row 1 is claimed at once; row 2 after 90 s of sending
    monkeypatch.setattr("radicado.channels.claims.time.monotonic", lambda: next(clock))
    qs = OutboundMail.objects.filter(id__in=[r.id for r in rows])
    with lease(dt.timedelta(seconds=60)):
        claimed = list(claim_due(qs, now=NOW, limit=10))
    assert [r.id for r in claimed] == [r.id for r in rows]
    held = dict(OutboundMail.objects.filter(id__in=[r.id for r in rows]).values_list("id", "next_attempt_at"))
    assert held[rows[0].id] == NOW + dt.timedelta(seconds=60)
    assert held[rows[1].id] == NOW + dt.timedelta(seconds=150)  # 90 s into the batch, held 60 s from then


@pytest.mark.django_db
def test_one_run_at_a_time_polls_a_mailbox_until_its_lease_runs_out() -> None:
    from radicado.channels.actions import claim_polling, create_mailbox, release_polling, renew_polling

    ws = create_workspace(slug="poll", name="Poll", ticket_prefix="PO", timezone="America/Bogota", now=NOW)
    box = create_mailbox(workspace=ws, address="soporte@poll.example.com", display_name="Poll", now=NOW).id
    five = dt.timedelta(minutes=5)
    held = claim_polling(mailbox_id=box, now=NOW, lease=five)
    assert held == NOW + five
    assert claim_polling(mailbox_id=box, now=NOW + dt.timedelta(minutes=4), lease=five) is None  # another run
    # The holder renews before each poll of its drain; a stale value (not what it holds) renews nothing.
    assert renew_polling(mailbox_id=box, held=NOW, now=NOW + dt.timedelta(minutes=1), lease=five) is None
    renewed = renew_polling(mailbox_id=box, held=held, now=NOW + dt.timedelta(minutes=1), lease=five)
    assert renewed == NOW + dt.timedelta(minutes=6)
    # It stalls past its lease: another run takes the mailbox, and the first can neither renew nor free it.
    late = NOW + dt.timedelta(minutes=7)
    other = claim_polling(mailbox_id=box, now=late, lease=five)
    assert other == late + five
    assert renew_polling(mailbox_id=box, held=renewed, now=late, lease=five) is None
    release_polling(mailbox_id=box, held=renewed)
    assert claim_polling(mailbox_id=box, now=late, lease=five) is None  # still the other run's
    release_polling(mailbox_id=box, held=other)
    assert claim_polling(mailbox_id=box, now=late, lease=five) == late + five
