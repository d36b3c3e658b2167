"""A customer and an agent work one request end to end, in a real browser.

Elements are found by id, name, role and stable classes, never by visible wording: the Spanish
catalogue is still being written. Status labels come from the workflow data (``name_es``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import Cast
from radicado.tickets.models import Ticket, WorkflowState

from .conftest import Person, tiny_png

pytestmark = pytest.mark.browser

XSS_SUBJECT = "<script>alert(1)</script> Falla <img src=x onerror=alert(1)>"
XSS_BODY = "Texto con <script>alert(1)</script> y <img src=x onerror=alert(1)> dentro.\nSegunda línea."


def _state_label(cast: Cast, code: str) -> str:
    return (
        WorkflowState.objects.filter(workspace=cast.ws_a, code=code).values_list("name_es", flat=True).first() or code
    )


def test_journey_contact_registers_agent_answers_contact_reads(
    live_cast: Cast, people: Callable[..., Person], tmp_path: Path
) -> None:
    ws = live_cast.ws_a.slug
    screenshot = tiny_png(rgb=(200, 30, 30))
    upload = tmp_path / "error-impresora.png"
    upload.write_bytes(screenshot)

    # Carol, on her phone, registers a request with a screenshot attached.
    carol = people("carol", phone=True)
    carol.sign_in("carol@example.com")
    carol.go(f"/w/{ws}/solicitudes/nueva/")
    page = carol.page
    page.locator("input[name=type][value=incidente]").check()
    page.locator("#subject").fill("La impresora de admisiones no imprime")
    page.locator("#description").fill("Desde esta mañana sale una hoja en blanco.\nYa reiniciamos el equipo.")
    page.locator("#attachments").set_input_files(str(upload))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/w/{ws}/solicitudes/\d+/$"))
    number = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    ticket = Ticket.objects.get(workspace=live_cast.ws_a, number=number)
    reference = ticket.reference
    expect(page.locator("h1 .ref")).to_have_text(reference)
    expect(page.locator("h1")).to_contain_text("La impresora de admisiones no imprime")
    expect(page.locator("#ticket-state")).to_have_text(_state_label(live_cast, "nuevo"))
    first = page.locator("#conversation .msg").first
    expect(first.locator(".body")).to_contain_text("Desde esta mañana sale una hoja en blanco.")
    expect(first.locator(".files a")).to_have_text("error-impresora.png")

    # Bob, at his desk, finds it in the queue with the "/" search and opens it.
    bob = people("bob")
    bob.sign_in("bob@example.com")
    expect(bob.page).to_have_url(re.compile(rf"/w/{ws}/console/$"))
    queue = bob.page
    row_link = queue.locator("table.queue a.ref", has_text=reference)
    expect(row_link).to_be_visible()
    queue.keyboard.press("/")
    expect(queue.locator("#q")).to_be_focused()
    queue.keyboard.type(reference)
    expect(queue.locator("table.queue tbody tr")).to_have_count(1)
    expect(queue).to_have_url(re.compile(r"[?&]q="))  # the filter is in the address, to share or reload
    with queue.expect_navigation():
        row_link.click()
    expect(queue).to_have_url(re.compile(rf"/console/t/{number}/$"))
    expect(queue.locator("#ticket-main h1 .ref")).to_have_text(reference)
    expect(queue.locator("#ticket-main .msg").first.locator(".files a")).to_have_text("error-impresora.png")

    # He answers in public through htmx: the timeline updates without reloading the page.
    queue.evaluate("window.__sameDocument = true")
    queue.keyboard.press("r")
    expect(queue.locator("#body")).to_be_focused()
    expect(queue.locator("input[name=kind][value=reply]")).to_be_checked()
    answer = "Hola Carol, ya revisamos la cola de impresión. ¿Puede intentar de nuevo?"
    queue.locator("#body").fill(answer)
    queue.locator("form.reply-form button[type=submit]").click()
    expect(queue.locator("#ticket-main .msg.agent .body", has_text=answer)).to_be_visible()
    expect(queue.locator("#body")).to_have_value("")
    assert queue.evaluate("window.__sameDocument === true"), "sending a reply reloaded the whole page"
    # A staff reply on a new ticket moves it along by itself (workflow "on_agent_reply").
    expect(queue.locator("#ticket-state")).to_have_text(_state_label(live_cast, "en_curso"))

    # Then he asks Carol to confirm: status "waiting on customer", again without a reload.
    waiting = _state_label(live_cast, "esperando_cliente")
    queue.locator("#f-status").select_option("esperando_cliente")
    queue.locator("form.field:has(#f-status) button[type=submit]").click()
    expect(queue.locator("#ticket-state")).to_have_text(waiting)
    assert queue.evaluate("window.__sameDocument === true"), "changing the status reloaded the whole page"

    # Carol reloads her request: the answer and the new status are there; the file downloads intact.
    page.reload()
    expect(page.locator("#ticket-state")).to_have_text(waiting)
    agent_msg = page.locator("#conversation .msg.agent", has_text=answer)
    expect(agent_msg).to_be_visible()
    expect(agent_msg.locator(".who")).to_contain_text("Bob")
    with page.expect_download() as download_info:
        page.locator("#conversation .files a", has_text="error-impresora.png").click()
    download = download_info.value
    assert download.suggested_filename == "error-impresora.png"
    assert Path(download.path()).read_bytes() == screenshot

    # And the request is listed on her home page with its status.
    carol.go(f"/w/{ws}/")
    card = page.locator("#my-requests li", has_text=reference)
    expect(card).to_be_visible()
    expect(card.locator(".badge")).to_have_text(waiting)
    carol.assert_clean()
    bob.assert_clean()


def test_markup_in_subject_and_description_is_shown_as_text(live_cast: Cast, people: Callable[..., Person]) -> None:
    ws = live_cast.ws_a.slug
    carol = people("carol", phone=True)
    carol.sign_in("carol@example.com")
    carol.go(f"/w/{ws}/solicitudes/nueva/")
    page = carol.page
    page.locator("input[name=type][value=incidente]").check()
    page.locator("#subject").fill(XSS_SUBJECT)
    page.locator("#description").fill(XSS_BODY)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/w/{ws}/solicitudes/\d+/$"))
    number = int(page.url.rstrip("/").rsplit("/", 1)[-1])

    def shown_as_text(p: Person, title: str, body: str) -> None:
        expect(p.page.locator(title)).to_contain_text("<script>alert(1)</script>")
        expect(p.page.locator(title)).to_contain_text("<img src=x onerror=alert(1)>")
        expect(p.page.locator(body)).to_contain_text("<img src=x onerror=alert(1)> dentro.")
        # Nothing the customer typed became an element: no injected script or image anywhere in <main>.
        assert p.page.locator("main script, main img").count() == 0
        assert p.page.evaluate("document.querySelectorAll('img[src=x], img[onerror]').length") == 0

    shown_as_text(carol, "main h1", "#conversation .msg .body")
    carol.go(f"/w/{ws}/")
    expect(page.locator("#my-requests")).to_contain_text("<script>alert(1)</script>")

    bob = people("bob")
    bob.sign_in("bob@example.com")
    expect(bob.page.locator("table.queue tbody")).to_contain_text("<img src=x onerror=alert(1)>")
    assert bob.page.locator("main img, main script").count() == 0
    bob.go(f"/w/{ws}/console/t/{number}/")
    shown_as_text(bob, "#ticket-main h1", "#ticket-main .msg .body")

    # The agent quotes it back in a reply, via htmx: still text.
    bob.page.locator("#body").fill("Recibimos: <script>alert(1)</script>")
    bob.page.locator("form.reply-form button[type=submit]").click()
    expect(bob.page.locator("#ticket-main .msg.agent .body", has_text="<script>alert(1)</script>")).to_be_visible()
    carol.go(f"/w/{ws}/solicitudes/{number}/")
    expect(page.locator("#conversation .msg.agent .body")).to_have_text("Recibimos: <script>alert(1)</script>")

    # Give an onerror handler every chance to fire before concluding nothing ran.
    page.wait_for_timeout(200)
    bob.page.wait_for_timeout(200)
    assert carol.dialogs == [] and bob.dialogs == [], f"a dialog opened: {carol.dialogs + bob.dialogs}"
    carol.assert_clean()
    bob.assert_clean()


def test_login_labels_are_associated_and_slash_focuses_queue_search(
    live_cast: Cast, people: Callable[..., Person]
) -> None:
    bob = people("bob")
    bob.go("/entrar/")
    page = bob.page
    for field_id in ("email", "password"):
        label = page.locator(f"label[for={field_id}]")
        expect(label).to_have_count(1)
        text = label.inner_text().strip()
        assert text, f"the label of #{field_id} is empty"
        expect(page.get_by_label(text, exact=True)).to_have_attribute("id", field_id)
    expect(page.get_by_role("textbox", name=page.locator("label[for=email]").inner_text().strip())).to_have_attribute(
        "autocomplete", "username"
    )

    # Sign in with the keyboard only: Tab order reaches e-mail, password and the button.
    page.locator("#email").focus()
    page.keyboard.type("bob@example.com")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type("wrong password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # A wrong password: an alert tied to the field, and the e-mail is kept.
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#email")).to_have_value("bob@example.com")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", "login-error")

    bob.sign_in("bob@example.com")
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("#q")).not_to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("")  # the "/" itself is not typed into the field
    # The search field has an accessible name, and j moves a visible keyboard cursor in the queue.
    assert page.locator("#q").evaluate("el => !!(el.labels && el.labels.length)")
    page.locator("#q").blur()
    page.keyboard.press("j")
    expect(page.locator("table.queue tbody tr.kb")).to_have_count(1)
    expect(page.locator("table.queue tbody tr.kb a.ref")).to_be_focused()
    # The skip link is the first stop for keyboard users.
    page.goto(page.url)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # it shows itself when focused
    assert skip.evaluate("el => getComputedStyle(el).outlineStyle") != "none", "focus is not visible"
    bob.assert_clean()
