"""The hazards of batched intake that issue 11 found, each as a user (or the next maintainer) would meet it.

Before ADR 0014 the batch's machinery leaked into domain code: an ordinary atomic action called in a
batch aborted it, a field changed after ``create_ticket`` was saved only in a batch, raw SQL without
quotes missed waiting rows, event ids were None in a batch, and a failed WhatsApp registration turned
the provider's retry into a "duplicate". Each test here failed on a81b1ff.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction

from conftest import NOW, Cast
from radicado import unit_of_work
from radicado.action import WriteOutsideAction, action, guarded, insert
from radicado.channels.models import Mailbox, WhatsAppAccount, WhatsAppMessage
from radicado.channels.whatsapp.transport import InboundMessage
from radicado.customers.models import Contact, Customer
from radicado.tickets import actions, notify
from radicado.tickets.events import record_event
from radicado.tickets.intake import ingest_email, ingest_many
from radicado.tickets.models import EventKind, Priority, Reply, Ticket, TicketEvent
from radicado.tickets.tests.test_mail_batch import _workspace, seen_by_users, stream
from radicado.tickets.whatsapp_in import receive_whatsapp

LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture
def pair(db: Any, settings: Any, tmp_path: Any) -> tuple[Mailbox, Mailbox]:
    from conftest import use_tmp_storage

    use_tmp_storage(settings, tmp_path)
    return _workspace("uno", "UNO"), _workspace("dos", "DOS")


def _new_ticket(cast: Cast, subject: str) -> Ticket:
    return actions.create_ticket(
        actor=cast.actor("erin"),
        requester=cast.contacts["erin"],
        ticket_type=cast.tickets["A-3"].type,
        subject=subject,
        description="No hay red.",
        channel="portal",
        now=NOW,
        announce=False,
    )


def test_an_ordinary_atomic_action_called_in_a_batch_leaves_the_batch_whole(
    pair: tuple[Mailbox, Mailbox], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Code written the plain Django way (``@transaction.atomic``) that writes while a batch routes mail:
    the batch is not aborted and redone one message at a time, and the write is there."""
    one, many = pair
    real = notify.announce_registration

    @transaction.atomic  # the way a new maintainer writes an action
    def raise_priority(ticket: Ticket) -> None:
        top = Priority.objects.filter(workspace_id=ticket.workspace_id).order_by("rank").first()
        assert top is not None
        Ticket.objects.filter(id=ticket.id).update(priority=top, priority_rank=top.rank)

    def announce(**kwargs: Any) -> int:
        raise_priority(kwargs["ticket"])
        return real(**kwargs)

    monkeypatch.setattr(notify, "announce_registration", announce)
    singly = [ingest_email(mailbox=one, raw=raw, source="imap", now=now) for raw, now in stream(one)[:3]]
    batched = ingest_many(mailbox=many, messages=stream(many)[:3], source="imap")

    assert "processed one by one" not in caplog.text
    assert [r.outcome for r in batched] == [r.outcome for r in singly]
    assert seen_by_users(many) == seen_by_users(one)
    top_rank = Priority.objects.filter(workspace=many.workspace).order_by("rank").values_list("rank", flat=True)[0]
    assert set(Ticket.objects.filter(workspace=many.workspace).values_list("priority_rank", flat=True)) == {top_rank}


def test_a_field_changed_after_create_ticket_is_saved_the_same_way_in_a_batch_as_outside(cast: Cast) -> None:
    """Changing the instance after the action returned does not write it, in a batch or not."""
    outside = _new_ticket(cast, "Fuera de lote")
    outside.subject = "cambiado en memoria"
    with transaction.atomic(), unit_of_work.unit_of_work():
        inside = _new_ticket(cast, "Dentro del lote")
        inside.subject = "cambiado en memoria"
    assert Ticket.objects.get(id=outside.id).subject == "Fuera de lote"
    assert Ticket.objects.get(id=inside.id).subject == "Dentro del lote"


def test_raw_sql_without_quotes_sees_the_rows_a_batch_has_yet_to_write(cast: Cast) -> None:
    ticket = cast.tickets["A-2"]
    with transaction.atomic(), unit_of_work.unit_of_work():
        insert(
            Reply(
                workspace_id=ticket.workspace_id,
                ticket=ticket,
                author_name="Carol",
                by_customer=True,
                body="en espera",
                created_at=NOW,
            )
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM tickets_reply WHERE body = %s", ["en espera"])
            assert cursor.fetchone() == (1,)
            cursor.execute("select count(*) from TICKETS_REPLY where body = %s", ["en espera"])
            assert cursor.fetchone() == (1,)


def test_an_event_has_its_id_when_it_is_recorded_even_in_a_batch(cast: Cast) -> None:
    """``notifications.md`` teaches ``key=f"ev{event.id}"``: the id must be there at once."""
    ticket = cast.tickets["A-1"]
    with transaction.atomic(), unit_of_work.unit_of_work():
        event = record_event(
            workspace_id=ticket.workspace_id, ticket_id=ticket.id, actor=None, kind=EventKind.NOTED, now=NOW
        )
        assert event.id is not None
        key = f"ev{event.id}"
    assert TicketEvent.objects.get(id=int(key[2:])).kind == EventKind.NOTED


def test_a_whatsapp_message_whose_registration_failed_is_registered_when_the_provider_retries(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    Contact.objects.filter(id=cast.contacts["erin"].id).update(phone_e164="+573001112233")
    Ticket.objects.filter(requester=cast.contacts["erin"]).update(category="closed")
    account = WhatsAppAccount.objects.create(workspace=cast.ws_a, provider="meta", number="+5716000000")
    message = InboundMessage(provider_message_id="wamid.1", from_number="+573001112233", text="Necesito ayuda", at=NOW)
    real = actions.create_ticket
    monkeypatch.setattr(actions, "create_ticket", lambda **kw: (_ for _ in ()).throw(RuntimeError("db hiccup")))
    with pytest.raises(RuntimeError):
        receive_whatsapp(account=account, message=message, now=NOW)
    assert not WhatsAppMessage.objects.filter(provider_message_id="wamid.1").exists()  # nothing half-done

    monkeypatch.setattr(actions, "create_ticket", real)
    result = receive_whatsapp(account=account, message=message, now=LATER)  # the provider's retry
    assert result.outcome == "created"
    assert Ticket.objects.filter(subject="Necesito ayuda", channel="whatsapp").count() == 1


@action
def _rename(customer: Customer, name: str) -> None:
    Customer.objects.filter(id=customer.id).update(name=name)


def test_a_domain_write_outside_an_action_is_refused_while_serving(cast: Cast, settings: Any) -> None:
    """The write guard (on in the suite): a new screen that writes directly fails its tests."""
    assert settings.RADICADO_STRICT_WRITES
    acme = cast.acme
    with guarded():
        with pytest.raises(WriteOutsideAction, match="customers_customer"), transaction.atomic():
            Customer.objects.filter(id=acme.id).update(name="Directo")
        _rename(acme, "Por una acción")  # the same write inside an action is fine
        assert Customer.objects.get(id=acme.id).name == "Por una acción"
    Customer.objects.filter(id=acme.id).update(name="Fuera de una petición")  # set-up code is not guarded


def test_actions_nest_in_one_transaction(cast: Cast) -> None:
    """An action called inside another joins it: if the outer one fails, the inner one's write is undone."""

    @action
    def outer() -> None:
        _rename(cast.acme, "Renombrada")
        raise RuntimeError("the outer action failed")

    with pytest.raises(RuntimeError):
        outer()
    assert Customer.objects.get(id=cast.acme.id).name == "ACME"


# --- found in review (each failed before its fix) ---------------------------------------------------


def test_a_row_written_in_a_batch_can_be_saved_again_like_one_saved_at_once(cast: Cast) -> None:
    from radicado.customers.actions import create_contact

    with transaction.atomic(), unit_of_work.unit_of_work() as uow:
        contact = create_contact(customer=cast.acme, name="Zoe", email="zoe@example.com", now=NOW)
        assert contact.created_at is not None  # stamped at once, as a save would
        uow.flush()
        contact.name = "Zoe Díaz"
        contact.save()  # an UPDATE of the written row, not a second INSERT
    assert Contact.objects.get(id=contact.id).name == "Zoe Díaz"


def test_a_rollback_to_a_savepoint_in_a_batch_forgets_what_was_made_inside_it(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    from radicado.action import on_commit_grouped
    from radicado.channels.models import AutoReply

    ran: list[Any] = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), unit_of_work.unit_of_work() as uow:
        try:
            with transaction.atomic():
                insert(AutoReply(workspace_id=cast.ws_a.id, address="x@example.com", sent_at=NOW))
                on_commit_grouped("nudge", 1, ran.append)
                raise RuntimeError("best effort failed")
        except RuntimeError:
            pass
        on_commit_grouped("nudge", 2, ran.append)
        assert uow.made(AutoReply) == []
    assert ran == [[2]]
    assert not AutoReply.objects.filter(address="x@example.com").exists()


@pytest.mark.parametrize(
    "write",
    [
        lambda cast: Customer.objects.bulk_create(  # SQLite: INSERT OR IGNORE INTO
            [Customer(workspace=cast.ws_a, code="nuevo", name="Nuevo")], ignore_conflicts=True
        ),
        lambda cast: cast.ws_a.teams.first().members.add(cast.ws_a.memberships.first()),  # a join table
    ],
    ids=["insert-or-ignore", "join-table"],
)
def test_the_write_guard_sees_every_form_of_write(cast: Cast, write: Any) -> None:
    with guarded(), pytest.raises(WriteOutsideAction), transaction.atomic():
        write(cast)
