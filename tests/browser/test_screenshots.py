"""Screenshots of the screens that matter most, for docs/screenshots/ (and a glance at the layout).

The cast is dressed up with a few requests like the demo's so the pictures show a working desk.
Besides saving the pictures, each test checks the basics of what is on screen and that nothing
overflows the phone's width.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import NOW, Cast
from radicado.tickets import actions
from radicado.tickets.attachments import Upload
from radicado.tickets.models import Channel, Priority, Ticket, TicketType

from .conftest import Person, tiny_png

pytestmark = pytest.mark.browser

MAX_BYTES = 300 * 1024


def _open(
    cast: Cast,
    who: str,
    type_code: str,
    subject: str,
    description: str,
    minutes: int,
    *,
    files: list[Upload] | None = None,
    priority: str = "",
    by: str = "",
) -> Ticket:
    ws = cast.ws_a
    actor = cast.actor(by or who)
    return actions.create_ticket(
        actor=actor,
        requester=cast.contacts[who],
        subject=subject,
        description=description,
        ticket_type=TicketType.objects.get(workspace=ws, code=type_code),
        priority=Priority.objects.get(workspace=ws, code=priority) if priority else None,
        channel=Channel.PHONE if by else Channel.PORTAL,
        uploads=files or [],
        now=NOW + dt.timedelta(minutes=minutes),
    )


@pytest.fixture
def desk(live_cast: Cast) -> dict[str, Ticket]:
    """A morning at the desk of workspace "andes", on top of the cast."""
    c = live_cast
    at = NOW + dt.timedelta(hours=1)
    bob = c.actor("bob")
    members = {m.user.email: m for m in c.ws_a.memberships.select_related("user")}
    printer = _open(
        c,
        "carol",
        "incidente",
        "No puedo imprimir las facturas electrónicas",
        "Desde ayer la impresora de admisiones no imprime las facturas electrónicas.\n"
        "Sale el mensaje «Error de cola 0x0000011b». Adjunto una captura.",
        60,
        files=[Upload("captura-error.png", tiny_png(64, 40, (230, 230, 230)))],
    )
    actions.assign_ticket(actor=bob, ticket=printer, assignee=members["bob@example.com"], now=at)
    actions.add_note(
        actor=bob,
        ticket=printer,
        now=at + dt.timedelta(minutes=5),
        body="Es el parche KB5005565 de Windows; revisar la GPO de impresoras.",
    )
    actions.add_reply(
        actor=bob,
        ticket=printer,
        now=at + dt.timedelta(minutes=20),
        body="Hola Carol, ya identificamos el problema: una actualización de Windows bloqueó "
        "la cola de impresión. ¿Puede reiniciar el equipo e intentar de nuevo?",
    )
    actions.transition_ticket(
        actor=bob, ticket=printer, to_state="esperando_cliente", now=at + dt.timedelta(minutes=21)
    )
    vpn = _open(
        c,
        "carol",
        "requerimiento",
        "Acceso a la VPN para Laura Gómez (nueva analista)",
        "Laura empieza el lunes en contabilidad y necesita VPN y correo.",
        95,
    )
    actions.set_priority(
        actor=bob,
        ticket=vpn,
        priority=Priority.objects.get(workspace=c.ws_a, code="alta"),
        now=at + dt.timedelta(minutes=40),
    )
    report = _open(
        c,
        "carol",
        "consulta",
        "¿Cómo exporto el informe mensual a Excel?",
        "Quisiera saber cómo exportar el informe de despachos a Excel.",
        130,
    )
    actions.add_reply(
        actor=bob,
        ticket=report,
        now=at + dt.timedelta(minutes=90),
        body="En Informes › Despachos elija «Exportar» y luego «Excel (.xlsx)».",
    )
    actions.transition_ticket(actor=bob, ticket=report, to_state="resuelto", now=at + dt.timedelta(minutes=91))
    slow = _open(
        c,
        "erin",
        "incidente",
        "El módulo de facturación está muy lento",
        "Las consultas tardan más de un minuto desde las 8:00.",
        150,
        priority="urgente",
        by="bob",
    )
    actions.assign_ticket(actor=bob, ticket=slow, assignee=members["sam@example.com"], now=at + dt.timedelta(hours=2))
    _open(
        c,
        "dave",
        "requerimiento",
        "Cambiar el logo en las facturas",
        "Adjuntamos el logo nuevo en PDF.",
        170,
        files=[Upload("logo-nuevo.pdf", b"%PDF-1.4\n%%EOF\n")],
    )
    return {"printer": printer, "vpn": vpn, "report": report, "slow": slow}


def _no_sideways_scroll(p: Person) -> None:
    overflow = p.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone screen"


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    assert 0 < size < MAX_BYTES, f"{path}: {size} bytes"


def test_portal_screens_on_a_phone(desk: dict[str, Ticket], people: Callable[..., Person]) -> None:
    ws = desk["printer"].workspace.slug
    carol = people("carol", phone=True)
    carol.sign_in("carol@example.com")
    page = carol.page

    carol.go(f"/w/{ws}/")
    expect(page.locator("#my-requests li")).to_have_count(3)  # open ones only; the resolved one is under "All"
    expect(page.locator("#my-requests")).to_contain_text(desk["printer"].reference)
    _no_sideways_scroll(carol)
    _check_size(carol.shot("portal-home"))

    carol.go(f"/w/{ws}/solicitudes/nueva/")
    page.locator("input[name=type][value=incidente]").check()
    page.locator("#subject").fill("El lector de código de barras no responde")
    page.locator("#description").fill("En la caja 2 el lector no enciende desde esta mañana.")
    _no_sideways_scroll(carol)
    _check_size(carol.shot("portal-new-request", full_page=True))

    carol.go(f"/w/{ws}/solicitudes/{desk['printer'].number}/")
    expect(page.locator("#conversation .msg.agent")).to_have_count(1)
    expect(page.locator("#conversation")).not_to_contain_text("KB5005565")  # internal notes stay internal
    _no_sideways_scroll(carol)
    _check_size(carol.shot("portal-request", full_page=True))


def test_console_screens_on_a_wide_screen(desk: dict[str, Ticket], people: Callable[..., Person]) -> None:
    ws = desk["printer"].workspace.slug
    bob = people("bob")
    bob.sign_in("bob@example.com")
    page = bob.page
    expect(page.locator("table.queue tbody tr")).to_have_count(7)  # active tickets: not the resolved one
    # Served by priority: the urgent ticket comes first.
    expect(page.locator("table.queue tbody tr").first).to_contain_text(desk["slow"].reference)
    page.keyboard.press("j")
    page.keyboard.press("j")
    _check_size(bob.shot("console-queue", keep_focus=True))

    bob.go(f"/w/{ws}/console/t/{desk['printer'].number}/")
    expect(page.locator("#ticket-main .msg.note")).to_contain_text("KB5005565")
    _check_size(bob.shot("console-ticket"))


def test_an_admin_rewords_a_notification_and_previews_it(live_cast: Cast, people: Callable[..., Person]) -> None:
    alice = people("alice")
    alice.sign_in("alice@example.com")
    page = alice.page
    page.get_by_role("link", name="Avisos").click()
    expect(page.locator("#notification-rules")).to_contain_text("Respuesta pública de un agente")
    page.locator("#notification-rules tr", has_text="Respuesta pública de un agente").filter(
        has_text="Correo"
    ).get_by_role("link", name="Editar").click()
    page.locator("textarea[name=body_es]").fill(
        "Hola {{ recipient.name }}:\n\n{{ reply.body }}\n\nSiga su solicitud en {{ ticket.url }}"
    )
    page.get_by_role("button", name="Vista previa").click()
    expect(page.locator("#preview")).to_contain_text("Hola Laura Gómez:")
    expect(page.locator("#preview")).to_contain_text("Ya restablecimos su acceso.")
    _check_size(alice.shot("console-notification-rule", full_page=True))
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("#notification-rules")).to_be_visible()
    alice.assert_clean()
