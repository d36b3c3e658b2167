"""Ticket actions: workflows as data, the timeline, closed is final, limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import translation

from conftest import NOW, PROFILE, Cast
from radicado.tickets import actions
from radicado.tickets.attachments import AttachmentRejected, Upload
from radicado.tickets.models import EventKind, Priority, TicketEvent, TicketType
from radicado.tickets.workflows import WorkflowSpecError, validate_workflow
from radicado.workspaces.models import Level

LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are matched in English here; the Spanish catalogue has its own test."""
    with translation.override("en"):
        yield


def kinds(ticket_id: int) -> list[str]:
    return list(TicketEvent.objects.filter(ticket_id=ticket_id).order_by("id").values_list("kind", flat=True))


def test_every_change_is_recorded_with_who_and_from_to(cast: Cast) -> None:
    bob, ticket = cast.actor("bob"), cast.tickets["A-2"]
    actions.set_priority(
        actor=bob, ticket=ticket, now=LATER, priority=Priority.objects.get(workspace=cast.ws_a, code="alta")
    )
    actions.set_level(actor=bob, ticket=ticket, level=Level.N2, now=LATER)
    actions.transition_ticket(actor=bob, ticket=ticket, to_state="esperando_cliente", now=LATER)
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("id"))
    assert [(e.kind, e.from_value, e.to_value) for e in events[1:]] == [
        ("priority_changed", "normal", "alta"),
        ("level_changed", "n1", "n2"),
        ("transitioned", "nuevo", "esperando_cliente"),
    ]
    assert {e.actor_name for e in events[1:]} == {"Bob"}
    ticket.refresh_from_db()
    assert (ticket.priority_rank, ticket.category, ticket.level) == (2, "waiting", "n2")


def test_events_are_append_only(cast: Cast) -> None:
    event = TicketEvent.objects.filter(ticket=cast.tickets["A-1"]).first()
    assert event is not None
    event.to_value = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_replies_move_the_ticket_as_the_workflow_says(cast: Cast) -> None:
    bob, carol, ticket = cast.actor("bob"), cast.actor("carol"), cast.tickets["A-1"]
    ticket.refresh_from_db()
    assert ticket.state.code == "en_curso"  # bob's public reply in the cast moved it out of "nuevo"
    actions.transition_ticket(actor=bob, ticket=ticket, to_state="esperando_cliente", now=LATER)
    actions.add_reply(actor=carol, ticket=ticket, body="Aquí está la captura", now=LATER)
    ticket.refresh_from_db()
    assert ticket.state.code == "en_curso"


def test_customers_may_only_make_their_transitions(cast: Cast) -> None:
    carol, ticket = cast.actor("carol"), cast.tickets["A-1"]
    with pytest.raises(actions.TransitionNotAllowed):
        actions.transition_ticket(actor=carol, ticket=ticket, to_state="resuelto", now=LATER)
    assert {t.to_state.code for t in actions.available_transitions(actor=carol, ticket=ticket)} == {"cerrado"}
    with pytest.raises(actions.NotPermitted):
        actions.set_level(actor=carol, ticket=ticket, level=Level.N3, now=LATER)


def test_a_closed_ticket_is_final(cast: Cast) -> None:
    carol, bob, ticket = cast.actor("carol"), cast.actor("bob"), cast.tickets["A-1"]
    actions.transition_ticket(actor=carol, ticket=ticket, to_state="cerrado", now=LATER)
    ticket.refresh_from_db()
    assert ticket.closed_at == LATER and ticket.is_closed
    assert actions.available_transitions(actor=bob, ticket=ticket) == []
    with pytest.raises(actions.TicketClosed, match="AND-000001"):
        actions.add_reply(actor=carol, ticket=ticket, body="¿Sigue abierto?", now=LATER)
    with pytest.raises(actions.TicketClosed):
        actions.transition_ticket(actor=bob, ticket=ticket, to_state="en_curso", now=LATER)


def test_changing_type_to_another_workflow_keeps_the_category(cast: Cast) -> None:
    from radicado.tickets.models import Workflow
    from radicado.tickets.workflows import _install_workflow

    bob, ticket = cast.actor("bob"), cast.tickets["A-3"]
    wf = _install_workflow(cast.ws_a, "problema", PROFILE["workflows"]["estandar"] | {"name": "Problema"})
    problem = TicketType.objects.create(workspace=cast.ws_a, code="problema", name_es="Problema", workflow=wf)
    actions.set_ticket_type(actor=bob, ticket=ticket, ticket_type=problem, now=LATER)
    ticket.refresh_from_db()
    assert ticket.type.code == "problema" and ticket.state.workflow_id == wf.id and ticket.category == "new"
    assert Workflow.objects.filter(workspace=cast.ws_a).count() == 2
    assert kinds(ticket.id)[-1] == EventKind.TYPE_CHANGED


def test_objects_of_another_workspace_are_refused(cast: Cast) -> None:
    foreign = Priority.objects.get(workspace=cast.ws_b, code="alta")
    with pytest.raises(actions.NotPermitted):
        actions.set_priority(actor=cast.actor("bob"), ticket=cast.tickets["A-1"], priority=foreign, now=LATER)
    with pytest.raises(actions.NotPermitted):
        actions.create_ticket(
            actor=cast.actor("bob"),
            requester=cast.contacts["grace"],
            subject="x",
            description="y",
            channel="phone",  # type: ignore[arg-type]
            ticket_type=TicketType.objects.get(workspace=cast.ws_a, code="incidente"),
            now=LATER,
        )


def test_a_contact_cannot_register_for_someone_else(cast: Cast) -> None:
    incident = TicketType.objects.get(workspace=cast.ws_a, code="incidente")
    with pytest.raises(actions.NotPermitted):
        actions.create_ticket(
            actor=cast.actor("carol"),
            requester=cast.contacts["erin"],
            ticket_type=incident,
            subject="x",
            description="y",
            channel="portal",
            now=LATER,
        )  # type: ignore[arg-type]
    # a key user may register for a colleague of the same company
    ticket = actions.create_ticket(
        actor=cast.actor("dave"),
        requester=cast.contacts["carol"],
        ticket_type=incident,
        subject="Para Carol",
        description="y",
        channel="portal",
        now=LATER,
    )  # type: ignore[arg-type]
    assert ticket.requester_id == cast.contacts["carol"].id


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (Upload(filename="virus.exe", data=b"MZ"), "not accepted"),
        (Upload(filename="page.html", data=b"<script>"), "not accepted"),
        (Upload(filename="vacio.pdf", data=b""), "empty"),
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_written(cast: Cast, upload: Upload, message: str) -> None:
    before = TicketEvent.objects.count()
    with pytest.raises(AttachmentRejected, match=message):
        actions.add_reply(
            actor=cast.actor("carol"), ticket=cast.tickets["A-1"], body="adjunto", uploads=[upload], now=LATER
        )
    assert TicketEvent.objects.count() == before


def test_oversized_attachment_names_the_limit(cast: Cast, settings: object) -> None:
    settings.ATTACHMENT_MAX_BYTES = 10  # type: ignore[attr-defined]
    with pytest.raises(AttachmentRejected, match=r"captura\.png is too large"):
        actions.add_reply(
            actor=cast.actor("carol"),
            ticket=cast.tickets["A-1"],
            body="x",
            now=LATER,
            uploads=[Upload(filename="../../captura.png", data=b"x" * 11)],
        )


def test_workflow_specs_are_validated_before_anything_is_written() -> None:
    spec = PROFILE["workflows"]["estandar"]
    leaving_closed = spec | {"transitions": [{"from": ["cerrado"], "to": "en_curso", "roles": ["agent"]}]}
    with pytest.raises(WorkflowSpecError, match="terminal"):
        validate_workflow("x", leaving_closed)
    two_initial = spec | {"states": [s | {"initial": True} for s in spec["states"]]}
    with pytest.raises(WorkflowSpecError, match="initial"):
        validate_workflow("x", two_initial)
