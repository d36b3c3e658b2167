"""WhatsApp webhooks against strangers (issue 19, item 2): what a forged, huge, deep or replayed request
leaves behind and what it learns. Each of these failed on a81b1ff, where the body was stored whole
before the signature was checked, a workspace without a line answered 404, and deep JSON was a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import Cast
from radicado.channels.models import WebhookDelivery, WhatsAppAccount
from radicado.channels.whatsapp.tests import standin as s
from radicado.customers.models import Contact
from radicado.tickets.models import Ticket
from radicado.tickets.whatsapp_in import purge_refused_webhooks

HOOK = "/webhooks/whatsapp/{ws}/meta/"


@pytest.fixture
def line(cast: Cast) -> WhatsAppAccount:
    Contact.objects.filter(id=cast.contacts["erin"].id).update(phone_e164=s.CUSTOMER)
    Ticket.objects.filter(requester=cast.contacts["erin"]).update(category="closed")
    return WhatsAppAccount.objects.create(
        workspace=cast.ws_a,
        provider="meta",
        number=s.TWILIO_FROM,
        app_secret=s.META_APP_SECRET,
        verify_token=s.META_VERIFY_TOKEN,
    )


def post(delivery: s.SignedDelivery, ws: str = "andes") -> Any:
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery.headers.items() if k != "Content-Type"}
    return Client().post(HOOK.format(ws=ws), delivery.body, content_type=delivery.content_type, **headers)


def test_a_forged_request_leaves_a_bounded_summary_and_never_its_body(line: WhatsAppAccount) -> None:
    big = s.meta_delivery({"object": "whatsapp_business_account", "padding": "x" * 900_000}, app_secret="wrong")
    answer = post(big)
    assert answer.status_code == 403
    row = WebhookDelivery.objects.get()
    assert (row.signature_ok, row.outcome, bytes(row.body)) == (False, "rejected", b"")
    assert len(row.detail) <= 500 and "bad signature" in row.detail


def test_a_body_over_the_limit_is_refused_unread_and_leaves_nothing(line: WhatsAppAccount) -> None:
    huge = s.meta_delivery({"object": "whatsapp_business_account", "padding": "x" * (4 * 1024 * 1024)})
    assert post(huge).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_a_workspace_without_a_line_answers_exactly_as_a_bad_signature(cast: Cast, line: WhatsAppAccount) -> None:
    forged = s.meta_delivery(s.meta_message_payload(s.CUSTOMER, s.meta_text("hola")), app_secret="wrong")
    with_line = post(forged, "andes")
    without_line = post(forged, cast.ws_b.slug)
    nowhere = post(forged, "no-existe")
    assert {r.status_code for r in (with_line, without_line, nowhere)} == {403}
    assert with_line.content == without_line.content == nowhere.content
    challenge = Client().get(HOOK.format(ws=cast.ws_b.slug), {"hub.mode": "subscribe", "hub.challenge": "1"})
    assert (challenge.status_code, challenge.content) == (403, with_line.content)


def test_signed_deeply_nested_json_is_kept_as_malformed_not_a_server_error(line: WhatsAppAccount) -> None:
    body = b"[" * 5000 + b"]" * 5000
    deep = s.SignedDelivery(body, {"Content-Type": "application/json", "X-Hub-Signature-256": s.meta_signature(body)})
    assert post(deep).status_code == 200
    assert WebhookDelivery.objects.get().outcome == "malformed"


def test_a_replayed_old_message_is_acknowledged_without_effect(line: WhatsAppAccount) -> None:
    old = int(time.time()) - 8 * 24 * 3600  # older than Meta's 7 days of retries
    replay = s.meta_delivery(s.meta_message_payload(s.CUSTOMER, s.meta_text("Viejo"), timestamp=old))
    assert post(replay).status_code == 200
    assert not Ticket.objects.filter(subject="Viejo").exists()
    assert WebhookDelivery.objects.get().detail == "stale"
    fresh = s.meta_delivery(s.meta_message_payload(s.CUSTOMER, s.meta_text("Nuevo")))
    assert post(fresh).status_code == 200
    assert Ticket.objects.filter(subject="Nuevo", channel="whatsapp").count() == 1


def test_refusal_summaries_are_capped_per_hour_and_deleted_after_their_retention(
    line: WhatsAppAccount, settings: Any
) -> None:
    forged = s.meta_delivery({"object": "whatsapp_business_account"}, app_secret="wrong")
    for _ in range(105):
        assert post(forged).status_code == 403
    assert WebhookDelivery.objects.count() == 100
    later = timezone.now() + dt.timedelta(days=settings.WEBHOOK_REFUSED_RETENTION_DAYS, minutes=1)
    assert purge_refused_webhooks(now=later) == 100
    assert not WebhookDelivery.objects.exists()


def test_nesting_depth_ignores_brackets_inside_strings() -> None:
    from radicado.channels.whatsapp.webhooks import nesting_depth

    assert nesting_depth(json.dumps({"a": ["[[[[", {"b": "]]"}]}).encode()) == 3
    assert nesting_depth(b'"\\"[[["') == 0
