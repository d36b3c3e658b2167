"""Admins edit notification rules in the console, preview them, and only in their workspace."""

from __future__ import annotations

from django.test import Client

from conftest import Cast
from radicado.notifications.models import NotificationRule
from radicado.workspaces.models import AuditEntry

URL = "/w/andes/console/avisos/"


def test_an_admin_lists_edits_and_previews_a_rule(cast: Cast) -> None:
    alice = cast.client("alice")
    listing = alice.get(URL).content.decode()
    assert 'id="notification-rules"' in listing and "Solicitud registrada" in listing
    rule = NotificationRule.objects.get(workspace=cast.ws_a, event="ticket.registered", channel="email")
    page = alice.get(f"{URL}{rule.id}/").content.decode()
    assert "Registramos su solicitud" in page  # the stored template, ready to edit
    form = {
        "event": rule.event,
        "audience": "requester",
        "channel": "email",
        "enabled": "on",
        "subject_es": "Recibimos {{ ticket.reference }}",
        "body_es": "Hola {{ requester.name }}, <b>gracias</b>.",
        "subject_en": "",
        "body_en": "",
    }
    preview = alice.post(f"{URL}{rule.id}/", {**form, "preview": "1"}).content.decode()
    assert 'id="preview"' in preview and "Recibimos SOP-000123" in preview
    assert "Hola Laura Gómez, &lt;b&gt;gracias&lt;/b&gt;." in preview  # shown as text, never as HTML
    rule.refresh_from_db()
    assert rule.subject_es != "Recibimos {{ ticket.reference }}"  # a preview saves nothing
    assert alice.post(f"{URL}{rule.id}/", {**form, "save": "1"}).status_code == 302
    rule.refresh_from_db()
    assert rule.subject_es == "Recibimos {{ ticket.reference }}"
    assert AuditEntry.objects.filter(workspace=cast.ws_a, action="notification_rule.saved").exists()


def test_a_broken_template_is_refused_with_a_reason_and_nothing_changes(cast: Cast) -> None:
    rule = NotificationRule.objects.get(workspace=cast.ws_a, event="reply.agent", channel="email")
    before = rule.body_es
    response = cast.client("alice").post(
        f"{URL}{rule.id}/",
        {"event": rule.event, "audience": "requester", "channel": "email", "body_es": "{% if %}", "save": "1"},
    )
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    rule.refresh_from_db()
    assert rule.body_es == before


def test_a_new_rule_starts_from_the_events_default_text_and_can_be_deleted(cast: Cast) -> None:
    alice = cast.client("alice")
    page = alice.get(f"{URL}nueva/?event=info.requested").content.decode()
    assert "necesitamos información de su parte" in page
    alice.post(
        f"{URL}nueva/",
        {
            "event": "info.requested",
            "audience": "requester",
            "channel": "email",
            "enabled": "on",
            "body_es": "Falta un dato.",
        },
    )
    rule = NotificationRule.objects.get(workspace=cast.ws_a, event="info.requested", channel="email")
    duplicate = alice.post(
        f"{URL}nueva/",
        {"event": "info.requested", "audience": "requester", "channel": "email", "body_es": "Otra vez"},
    )
    assert duplicate.status_code == 400
    assert alice.post(f"{URL}{rule.id}/eliminar/").status_code == 302
    assert not NotificationRule.objects.filter(id=rule.id).exists()


def test_only_admins_of_the_workspace_reach_the_rules(cast: Cast) -> None:
    other = NotificationRule.objects.filter(workspace=cast.ws_b).first()
    assert other is not None
    for name in ("bob", "sam", "carol"):
        assert cast.client(name).get(URL).status_code in (302, 404), name
    alice = cast.client("alice")
    assert alice.get(f"{URL}{other.id}/").status_code == 404
    assert alice.post(f"{URL}{other.id}/eliminar/").status_code == 404
    assert NotificationRule.objects.filter(id=other.id).exists()


def test_rule_changes_need_the_csrf_token(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users["alice"])
    rule = NotificationRule.objects.filter(workspace=cast.ws_a).first()
    assert rule is not None
    assert client.post(f"{URL}{rule.id}/eliminar/").status_code == 403


# --- no message without end (issue 19, item 4): each of these made a huge preview or save on a81b1ff ---------


def _preview(cast: Cast, body: str) -> tuple[int, str]:
    rule = NotificationRule.objects.get(workspace=cast.ws_a, event="reply.agent", channel="email")
    response = cast.client("alice").post(
        f"{URL}{rule.id}/",
        {"event": rule.event, "audience": "requester", "channel": "email", "body_es": body, "preview": "1"},
    )
    return response.status_code, response.content.decode()


def test_templates_that_multiply_their_output_are_refused_before_anything_renders(cast: Cast) -> None:
    for body in (
        '{{ ticket.subject|ljust:"20000000" }}',  # padding to a width: the 20 MB preview
        '{{ ticket.subject|center:"20000000" }}',
        "{% lorem 99999 w %}",  # generated text
        "{% for a in ticket.subject %}{% for b in ticket.subject %}{{ ticket.subject }}{% endfor %}{% endfor %}",
        "x" * 10_001,  # the template's own length
    ):
        status, page = _preview(cast, body)
        refused = ("La plantilla tiene un error", "La plantilla es demasiado larga")
        assert status < 500 and any(reason in page for reason in refused), body[:40]
        assert len(page) < 200_000


def test_a_rendered_message_is_cut_at_its_limit_and_still_sent() -> None:
    from radicado.notifications.rendering import MAX_RENDERED_CHARS, render

    text = render("{{ reply.body }}", {"reply": {"body": "palabra " * 20_000}})
    assert len(text) == MAX_RENDERED_CHARS and text.endswith("…")
    assert render("Hola {{ requester.name|upper }}", {"requester": {"name": "Laura"}}) == "Hola LAURA"
