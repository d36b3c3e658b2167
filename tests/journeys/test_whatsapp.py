"""WhatsApp end to end against the local provider stand-in (T7, T13; issue 4 item 4).

Follow-ups go out as an approved template outside the 24-hour window and as text inside it;
signed status webhooks update the outbox row once; a message from a known contact lands in
her open request; a WhatsApp failure never touches the ticket or its e-mail.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from conftest import NOW, Cast
from radicado.channels.actions import create_mailbox
from radicado.channels.models import OutboundMail, WebhookDelivery, WhatsAppAccount, WhatsAppMessage
from radicado.channels.whatsapp.tests import standin as s
from radicado.channels.whatsapp_outbox import send_due
from radicado.customers.models import Contact
from radicado.tickets import actions
from radicado.tickets.models import Reply, Ticket

META_HOOK = "/webhooks/whatsapp/andes/meta/"


@pytest.fixture
def provider() -> Any:
    with s.ProviderStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def line(cast: Cast, provider: s.ProviderStandIn) -> WhatsAppAccount:
    Contact.objects.filter(id=cast.contacts["carol"].id).update(phone_e164=s.CUSTOMER)
    return WhatsAppAccount.objects.create(
        workspace=cast.ws_a,
        provider="meta",
        number=s.TWILIO_FROM,
        api_base_url=provider.meta_base_url,
        phone_number_id=s.META_PHONE_NUMBER_ID,
        access_token=s.META_ACCESS_TOKEN,
        app_secret=s.META_APP_SECRET,
        verify_token=s.META_VERIFY_TOKEN,
        followup_template=s.META_TEMPLATE,
    )


def post_signed(delivery: s.SignedDelivery, url: str = META_HOOK) -> Any:
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery.headers.items() if k != "Content-Type"}
    return Client().post(url, delivery.body, content_type=delivery.content_type, **headers)


def test_meta_subscription_handshake(line: WhatsAppAccount) -> None:
    ok = Client().get(
        META_HOOK, {"hub.mode": "subscribe", "hub.verify_token": s.META_VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert (ok.status_code, ok.content) == (200, b"1158201444")
    assert (
        Client().get(META_HOOK, {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}).status_code
        == 403
    )


def test_follow_ups_use_the_template_outside_the_window_and_text_inside(
    cast: Cast, line: WhatsAppAccount, provider: s.ProviderStandIn
) -> None:
    ticket = Ticket.objects.get(id=cast.tickets["A-1"].id)  # with Carol's new phone
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Ya revisamos su impresora", now=NOW)
    assert send_due(now=NOW) == 1
    (request,) = provider.accepted
    sent = json.loads(request.body)
    assert sent["type"] == "template" and sent["template"]["name"] == s.META_TEMPLATE
    assert [p["text"] for p in sent["template"]["components"][0]["parameters"]] == [ticket.reference, ticket.subject]
    message = WhatsAppMessage.objects.get(inbound=False)
    assert message.status == "sent" and message.provider_message_id.startswith("wamid.")

    # Carol answers by WhatsApp: it lands in her open request (T13), once.
    inbound = s.meta_delivery(s.meta_message_payload(s.CUSTOMER, s.meta_text("Ya la reinicié"), message_id="wamid.c1"))
    assert post_signed(inbound).status_code == 200
    assert post_signed(inbound).status_code == 200  # the provider retries: nothing doubles
    assert list(Reply.objects.filter(ticket=ticket, by_customer=True).values_list("body", flat=True)) == [
        "Ya la reinicié"
    ]
    provider.open_window(s.CUSTOMER)

    later = NOW + dt.timedelta(hours=1)
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Perfecto, cerramos", now=later)
    assert send_due(now=later) == 1
    text = json.loads(provider.accepted[-1].body)
    assert text["type"] == "text" and text["text"]["body"].startswith(f"[{ticket.reference}] Perfecto")


def test_status_webhooks_are_signed_idempotent_and_ordered(cast: Cast, line: WhatsAppAccount) -> None:
    actions.add_reply(
        actor=cast.actor("bob"), ticket=Ticket.objects.get(id=cast.tickets["A-1"].id), body="Hola", now=NOW
    )
    send_due(now=NOW)
    message = WhatsAppMessage.objects.get(inbound=False)
    delivered = s.meta_delivery(s.meta_status_payload(message.provider_message_id, "delivered"))
    read = s.meta_delivery(s.meta_status_payload(message.provider_message_id, "read"))
    assert post_signed(read).status_code == 200
    assert post_signed(delivered).status_code == 200  # late and out of order: ignored
    message.refresh_from_db()
    assert message.status == "read"
    forged = s.meta_delivery(s.meta_status_payload(message.provider_message_id, "failed"), app_secret="wrong")
    assert post_signed(forged).status_code == 403
    message.refresh_from_db()
    assert message.status == "read"
    assert WebhookDelivery.objects.filter(signature_ok=False, outcome="rejected").count() == 1


def test_a_whatsapp_failure_never_touches_the_ticket_or_its_mail(
    cast: Cast, line: WhatsAppAccount, provider: s.ProviderStandIn
) -> None:
    create_mailbox(workspace=cast.ws_a, address="soporte@andes.example.com", display_name="S", now=NOW)
    ticket = Ticket.objects.get(id=cast.tickets["A-1"].id)  # with Carol's new phone
    provider.fail_next(1, status=500)
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Respuesta", now=NOW)
    assert send_due(now=NOW) == 0
    message = WhatsAppMessage.objects.get(inbound=False)
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    assert send_due(now=NOW + dt.timedelta(minutes=5)) == 1  # retried after the backoff
    provider.fail_next(1, status=400)
    actions.add_reply(actor=cast.actor("bob"), ticket=ticket, body="Otra", now=NOW)
    send_due(now=NOW + dt.timedelta(minutes=10))
    assert WhatsAppMessage.objects.filter(status="failed").count() == 1
    assert Reply.objects.filter(ticket=ticket, body__in=["Respuesta", "Otra"]).count() == 2
    assert OutboundMail.objects.filter(ticket=ticket).count() == 2


def test_unknown_numbers_and_malformed_payloads_are_kept_without_a_ticket(cast: Cast, line: WhatsAppAccount) -> None:
    before = Ticket.objects.count()
    stranger = s.meta_delivery(s.meta_message_payload(s.OTHER_CUSTOMER, s.meta_text("hola"), message_id="wamid.x"))
    assert post_signed(stranger).status_code == 200
    assert Ticket.objects.count() == before
    assert WhatsAppMessage.objects.get(provider_message_id="wamid.x").ticket is None
    junk = s.meta_delivery({"object": "whatsapp_business_account", "entry": "nope"})
    assert post_signed(junk).status_code == 200
    assert WebhookDelivery.objects.filter(outcome="malformed").count() == 1


def test_twilio_inbound_registers_a_request_when_none_is_open(cast: Cast) -> None:
    Contact.objects.filter(id=cast.contacts["erin"].id).update(phone_e164=s.CUSTOMER)
    Ticket.objects.filter(requester=cast.contacts["erin"]).update(category="closed")
    url = "https://radicado.example.com/webhooks/whatsapp/andes/twilio/"
    WhatsAppAccount.objects.create(
        workspace=cast.ws_a,
        provider="twilio",
        number=s.TWILIO_FROM,
        account_sid=s.TWILIO_ACCOUNT_SID,
        auth_token=s.TWILIO_AUTH_TOKEN,
        webhook_url=url,
    )
    params = s.twilio_inbound_params(s.CUSTOMER, "Necesito otra factura")
    assert post_signed(s.twilio_delivery(url, params), "/webhooks/whatsapp/andes/twilio/").status_code == 200
    ticket = Ticket.objects.get(subject="Necesito otra factura")
    assert (ticket.channel, ticket.requester_id) == ("whatsapp", cast.contacts["erin"].id)
    forged = s.twilio_delivery(url, params, auth_token="wrong")
    assert post_signed(forged, "/webhooks/whatsapp/andes/twilio/").status_code == 403
