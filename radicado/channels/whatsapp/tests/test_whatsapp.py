"""The WhatsApp layer: both transports against the strict local stand-in, signatures, webhook parsing."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radicado.channels.whatsapp import (
    InboundMessage,
    MetaCloudTransport,
    OutgoingMessage,
    StatusUpdate,
    TransportError,
    TwilioTransport,
    WebhookPayloadError,
    WhatsAppTransport,
    send_mode,
    status_advances,
)
from radicado.channels.whatsapp.tests.standin import (
    CUSTOMER,
    META_ACCESS_TOKEN,
    META_APP_SECRET,
    META_TEMPLATE,
    META_VERIFY_TOKEN,
    OTHER_CUSTOMER,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_CONTENT_SID,
    TWILIO_FROM,
    ProviderStandIn,
    meta_delivery,
    meta_image,
    meta_message_payload,
    meta_status_payload,
    meta_text,
    twilio_delivery,
    twilio_inbound_params,
    twilio_status_params,
)
from radicado.channels.whatsapp.transport import number_variants
from radicado.channels.whatsapp.webhooks import (
    compute_twilio_signature,
    parse_meta_webhook,
    parse_meta_webhook_body,
    parse_twilio_inbound,
    parse_twilio_status,
    verify_meta_signature,
    verify_meta_subscription,
    verify_twilio_signature,
)

CALLBACK_URL = "https://soporte.example.com/whatsapp/twilio/status"


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with ProviderStandIn() as server:
        yield server


def text_message(to: str = CUSTOMER, text: str = "Hola Carolina, ya revisamos su impresora.") -> OutgoingMessage:
    return OutgoingMessage(to=to, text=text, within_window=True)


def meta_template_message(to: str = CUSTOMER) -> OutgoingMessage:
    return OutgoingMessage(
        to=to,
        text="Su caso #1234 cambió a En curso.",
        within_window=False,
        template=META_TEMPLATE,
        template_language="es",
        template_params=["1234", "En curso"],
    )


def twilio_template_message(to: str = CUSTOMER) -> OutgoingMessage:
    return OutgoingMessage(
        to=to,
        text="Su caso #1234 cambió a En curso.",
        within_window=False,
        template=TWILIO_CONTENT_SID,
        template_params=["1234", "En curso"],
    )


def transport_for(standin: ProviderStandIn, provider: str, **kwargs: Any) -> WhatsAppTransport:
    return standin.meta_transport(**kwargs) if provider == "meta" else standin.twilio_transport(**kwargs)


# -- the 24-hour rule and status order (no HTTP) ------------------------------------------------


def test_send_mode_applies_the_24_hour_rule() -> None:
    assert send_mode(text_message()) == "text"
    assert send_mode(meta_template_message()) == "template"
    # Inside the window, text wins even when a template is at hand; with no text the template goes.
    assert send_mode(OutgoingMessage(to=CUSTOMER, text="Hola", within_window=True, template="x")) == "text"
    assert send_mode(OutgoingMessage(to=CUSTOMER, text=" ", within_window=True, template="x")) == "template"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (OutgoingMessage(to=CUSTOMER, text="Hola", within_window=False), "approved templates"),
        (OutgoingMessage(to=CUSTOMER, text="", within_window=True), "nothing to send"),
        (OutgoingMessage(to="3000000001", text="Hola", within_window=True), "E.164"),
        (OutgoingMessage(to="+57 300 000 0001", text="Hola", within_window=True), "E.164"),
    ],
)
def test_send_mode_refuses_permanently(message: OutgoingMessage, reason: str) -> None:
    with pytest.raises(TransportError, match=reason) as caught:
        send_mode(message)
    assert caught.value.permanent


def test_status_advances_only_forward() -> None:
    assert status_advances(None, "sent")
    assert status_advances("sent", "delivered")
    assert status_advances("delivered", "read")
    assert not status_advances("read", "delivered")  # late callback
    assert not status_advances("delivered", "delivered")  # repeated callback: idempotent
    assert not status_advances("delivered", "failed")  # a late failure does not undo a delivery
    assert status_advances("failed", "delivered")  # another device got it after all
    assert status_advances("sent", "failed")
    with pytest.raises(ValueError, match="unknown WhatsApp status"):
        status_advances("sent", "queued")


def test_number_variants_for_mexico_and_argentina() -> None:
    assert number_variants("+573000000001") == {"+573000000001"}
    assert number_variants("+525512345678") == {"+525512345678", "+5215512345678"}
    assert number_variants("+5215512345678") == {"+525512345678", "+5215512345678"}
    assert number_variants("+5491123456789") == {"+5491123456789", "+541123456789"}
    assert number_variants("+541123456789") == {"+5491123456789", "+541123456789"}


# -- Meta Cloud API -----------------------------------------------------------------------------


def test_meta_text_inside_the_window(standin: ProviderStandIn) -> None:
    standin.open_window(CUSTOMER)
    result = standin.meta_transport().send(text_message())

    assert result.provider == "meta"
    assert result.provider_message_id.startswith("wamid.")
    [request] = standin.accepted
    assert request.method == "POST"
    assert request.path == "/v21.0/109000000000001/messages"
    assert request.headers["authorization"] == f"Bearer {META_ACCESS_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "573000000001",
        "type": "text",
        "text": {"body": "Hola Carolina, ya revisamos su impresora.", "preview_url": False},
    }
    assert request.response["messages"][0]["id"] == result.provider_message_id
    assert request.response["contacts"] == [{"input": "573000000001", "wa_id": "573000000001"}]


def test_meta_template_outside_the_window(standin: ProviderStandIn) -> None:
    result = standin.meta_transport().send(meta_template_message())

    assert result.provider_message_id.startswith("wamid.")
    [request] = standin.accepted
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "573000000001",
        "type": "template",
        "template": {
            "name": "ticket_actualizado",
            "language": {"code": "es"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "1234"}, {"type": "text", "text": "En curso"}]}
            ],
        },
    }
    assert request.response["messages"][0]["message_status"] == "accepted"


def test_meta_text_when_the_window_has_closed_is_refused_with_131047(standin: ProviderStandIn) -> None:
    # We believed the customer wrote recently, but it was 25 hours ago: Meta refuses free-form text.
    standin.open_window(CUSTOMER, at=datetime.now(tz=UTC) - timedelta(hours=25))
    with pytest.raises(TransportError, match="131047") as caught:
        standin.meta_transport().send(text_message())
    assert caught.value.permanent
    assert caught.value.provider_code == "131047"
    assert caught.value.http_status == 400
    assert standin.accepted == []


@pytest.mark.parametrize(
    ("params", "code"),
    [(["1234"], "132000"), (["1234", "En curso", "extra"], "132000")],
)
def test_meta_template_parameters_must_match(standin: ProviderStandIn, params: list[str], code: str) -> None:
    message = OutgoingMessage(to=CUSTOMER, text="", within_window=False, template=META_TEMPLATE, template_params=params)
    with pytest.raises(TransportError) as caught:
        standin.meta_transport().send(message)
    assert caught.value.permanent
    assert caught.value.provider_code == code


def test_meta_unknown_template_or_language_is_permanent(standin: ProviderStandIn) -> None:
    for template, language in [("no_existe", "es"), (META_TEMPLATE, "pt_BR")]:
        message = OutgoingMessage(
            to=CUSTOMER,
            text="",
            within_window=False,
            template=template,
            template_language=language,
            template_params=["1234", "En curso"],
        )
        with pytest.raises(TransportError) as caught:
            standin.meta_transport().send(message)
        assert caught.value.permanent
        assert caught.value.provider_code == "132001"


def test_meta_wrong_access_token_is_permanent(standin: ProviderStandIn) -> None:
    with pytest.raises(TransportError) as caught:
        standin.meta_transport(access_token="EAAexpired").send(meta_template_message())
    assert caught.value.permanent
    assert (caught.value.http_status, caught.value.provider_code) == (401, "190")


def test_meta_transport_never_shows_its_token() -> None:
    transport = MetaCloudTransport(phone_number_id="109000000000001", access_token=META_ACCESS_TOKEN)
    assert META_ACCESS_TOKEN not in repr(transport)
    assert transport.messages_url == "https://graph.facebook.com/v21.0/109000000000001/messages"


# -- Twilio ----------------------------------------------------------------------------------


def test_twilio_text_inside_the_window(standin: ProviderStandIn) -> None:
    standin.open_window(CUSTOMER)
    result = standin.twilio_transport().send(text_message())

    assert result.provider == "twilio"
    assert result.provider_message_id.startswith("SM")
    assert len(result.provider_message_id) == 34
    [request] = standin.accepted
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    scheme, _, credentials = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "From": f"whatsapp:{TWILIO_FROM}",
        "To": "whatsapp:+573000000001",
        "Body": "Hola Carolina, ya revisamos su impresora.",
    }
    assert request.status == 201
    assert request.response["sid"] == result.provider_message_id
    assert request.response["status"] == "queued"


def test_twilio_template_outside_the_window_with_status_callback(standin: ProviderStandIn) -> None:
    result = standin.twilio_transport(status_callback_url=CALLBACK_URL).send(twilio_template_message())

    [request] = standin.accepted
    assert request.form == {
        "From": "whatsapp:+573000000000",
        "To": "whatsapp:+573000000001",
        "ContentSid": TWILIO_CONTENT_SID,
        "ContentVariables": '{"1": "1234", "2": "En curso"}',
        "StatusCallback": CALLBACK_URL,
    }
    assert json.loads(request.form["ContentVariables"]) == {"1": "1234", "2": "En curso"}
    assert request.response["sid"] == result.provider_message_id


def test_twilio_text_outside_the_window_is_refused_with_63016(standin: ProviderStandIn) -> None:
    with pytest.raises(TransportError, match="63016") as caught:
        standin.twilio_transport().send(text_message())  # we wrongly believe the window is open
    assert caught.value.permanent


def test_twilio_unknown_content_sid_is_permanent(standin: ProviderStandIn) -> None:
    message = OutgoingMessage(
        to=CUSTOMER, text="", within_window=False, template="HX" + "f" * 32, template_params=["1234", "En curso"]
    )
    with pytest.raises(TransportError) as caught:
        standin.twilio_transport().send(message)
    assert caught.value.permanent
    assert caught.value.provider_code == "21655"


def test_twilio_wrong_auth_token_is_permanent(standin: ProviderStandIn) -> None:
    with pytest.raises(TransportError) as caught:
        standin.twilio_transport(auth_token="wrong").send(twilio_template_message())
    assert caught.value.permanent
    assert (caught.value.http_status, caught.value.provider_code) == (401, "20003")


def test_twilio_transport_checks_its_sender_and_hides_its_token() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        TwilioTransport(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN, from_number="3000000000")
    transport = TwilioTransport(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN, from_number=TWILIO_FROM)
    assert TWILIO_AUTH_TOKEN not in repr(transport)
    assert transport.messages_url == f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"


# -- both transports: failures ------------------------------------------------------------------

PROVIDERS = ["meta", "twilio"]


def template_for(provider: str) -> OutgoingMessage:
    return meta_template_message() if provider == "meta" else twilio_template_message()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_template_outside_the_window_makes_no_request(standin: ProviderStandIn, provider: str) -> None:
    with pytest.raises(TransportError, match="24-hour") as caught:
        transport_for(standin, provider).send(OutgoingMessage(to=CUSTOMER, text="Hola", within_window=False))
    assert caught.value.permanent
    assert standin.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    ("status", "permanent", "meta_code", "twilio_code"),
    [(500, False, "131000", "20500"), (429, False, "130429", "20429"), (400, True, "100", "21610")],
)
def test_provider_errors_are_classified(
    standin: ProviderStandIn, provider: str, status: int, permanent: bool, meta_code: str, twilio_code: str
) -> None:
    standin.fail_next(1, status=status)
    transport = transport_for(standin, provider)
    with pytest.raises(TransportError) as caught:
        transport.send(template_for(provider))
    assert caught.value.permanent is permanent
    assert caught.value.http_status == status
    assert caught.value.provider_code == (meta_code if provider == "meta" else twilio_code)
    # The failure was one-off: the next attempt (the outbox's retry) goes through.
    assert transport.send(template_for(provider)).provider_message_id
    assert [r.status for r in standin.requests] == [status, 200 if provider == "meta" else 201]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_code_is_temporary_even_with_http_400(standin: ProviderStandIn, provider: str) -> None:
    # Meta reports throughput limits as error codes (130429, 131056) whatever the HTTP status.
    code = 131056 if provider == "meta" else 63018
    standin.fail_next(1, status=400, code=code)
    with pytest.raises(TransportError) as caught:
        transport_for(standin, provider).send(template_for(provider))
    assert not caught.value.permanent
    assert caught.value.provider_code == str(code)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_is_temporary(standin: ProviderStandIn, provider: str) -> None:
    standin.stall_next(2.0)
    with pytest.raises(TransportError, match="no answer") as caught:
        transport_for(standin, provider, timeout=0.2).send(template_for(provider))
    assert not caught.value.permanent
    assert caught.value.http_status is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_refused_connection_is_temporary(provider: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport: WhatsAppTransport
    if provider == "meta":
        transport = MetaCloudTransport(
            base_url=f"http://127.0.0.1:{port}/v21.0", phone_number_id="1", access_token="t", timeout=1
        )
    else:
        transport = TwilioTransport(
            base_url=f"http://127.0.0.1:{port}",
            account_sid=TWILIO_ACCOUNT_SID,
            auth_token="t",
            from_number=TWILIO_FROM,
            timeout=1,
        )
    with pytest.raises(TransportError, match="could not reach") as caught:
        transport.send(template_for(provider))
    assert not caught.value.permanent


# -- the stand-in itself is strict --------------------------------------------------------------


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_standin_refuses_what_meta_refuses(standin: ProviderStandIn) -> None:
    url = f"{standin.meta_base_url}/{standin.meta_phone_number_id}/messages"
    good = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "573000000001", "type": "text"}
    auth = {"Authorization": f"Bearer {META_ACCESS_TOKEN}", "Content-Type": "application/json"}
    standin.open_window(CUSTOMER)
    cases = [
        ({**good, "to": "+573000000001", "text": {"body": "x"}}, auth, "digits without '+'"),
        ({**good, "text": {"body": "x"}, "extra": 1}, auth, "unexpected parameters"),
        ({**good, "messaging_product": "sms", "text": {"body": "x"}}, auth, "messaging_product"),
        ({**good, "text": {"body": "x"}}, {**auth, "Content-Type": "text/plain"}, "application/json"),
        ({**good, "text": {"body": "x"}}, {**auth, "Authorization": "Bearer other"}, "Bearer"),
    ]
    for body, headers, _ in cases:
        status, answer = raw_post(url, json.dumps(body).encode(), headers)
        assert status in (400, 401)
        assert "error" in answer
    assert [reason in (r.rejection or "") for r, (_, _, reason) in zip(standin.rejected, cases, strict=True)] == [
        True
    ] * len(cases)
    status, answer = raw_post(
        f"{standin.meta_base_url}/999/messages", json.dumps({**good, "text": {"body": "x"}}).encode(), auth
    )
    assert status == 400
    assert answer["error"]["type"] == "GraphMethodException"


def test_standin_refuses_what_twilio_refuses(standin: ProviderStandIn) -> None:
    url = f"{standin.base_url}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    basic = base64.b64encode(f"{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}".encode()).decode()
    form_headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
    sender = "From=whatsapp%3A%2B573000000000"
    template = f"{sender}&ContentSid={TWILIO_CONTENT_SID}"
    variables = "&ContentVariables=%7B%221%22%3A+%221234%22%2C+%222%22%3A+%22En+curso%22%7D"
    cases = [
        (template + "&To=%2B573000000001" + variables, form_headers, 21211),  # no whatsapp: prefix
        (template + "&To=whatsapp%3A3000000001" + variables, form_headers, 21211),  # not E.164
        (
            template.replace(sender, "From=whatsapp%3A%2B573000000009") + "&To=whatsapp%3A%2B573000000001" + variables,
            form_headers,
            63007,
        ),
        (template + "&To=whatsapp%3A%2B573000000001", form_headers, 21656),  # variables missing
        (
            template + "&To=whatsapp%3A%2B573000000001" + variables,
            {**form_headers, "Content-Type": "application/json"},
            21604,
        ),
    ]
    for body, headers, code in cases:
        status, answer = raw_post(url, body.encode(), headers)
        assert (status, answer["code"]) == (400, code)
    status, answer = raw_post(url.replace(TWILIO_ACCOUNT_SID, "AC" + "1" * 32), b"", form_headers)
    assert (status, answer["code"]) == (404, 20404)
    assert standin.accepted == []


# -- Meta signatures and subscription -----------------------------------------------------------


def test_meta_signature() -> None:
    delivery = meta_delivery(meta_status_payload("wamid.X", "delivered"))
    header = delivery.headers["X-Hub-Signature-256"]
    expected = hmac.new(META_APP_SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"

    assert verify_meta_signature(delivery.body, header, META_APP_SECRET)
    assert verify_meta_signature(delivery.body, header.upper().replace("SHA256=", "sha256="), META_APP_SECRET)
    assert not verify_meta_signature(delivery.body.replace(b"delivered", b"read"), header, META_APP_SECRET)
    assert not verify_meta_signature(delivery.body, header, "another-app-secret")
    assert not verify_meta_signature(delivery.body, None, META_APP_SECRET)
    assert not verify_meta_signature(delivery.body, "", META_APP_SECRET)
    assert not verify_meta_signature(delivery.body, header.replace("sha256=", "sha1="), META_APP_SECRET)
    assert not verify_meta_signature(delivery.body, "sha256=ñ" + expected[1:], META_APP_SECRET)
    assert not verify_meta_signature(delivery.body, header, "")


def test_meta_subscription_handshake() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert verify_meta_subscription(params, META_VERIFY_TOKEN) == "1158201444"
    assert verify_meta_subscription({**params, "hub.verify_token": "guess"}, META_VERIFY_TOKEN) is None
    assert verify_meta_subscription({**params, "hub.mode": "unsubscribe"}, META_VERIFY_TOKEN) is None
    assert (
        verify_meta_subscription({k: v for k, v in params.items() if k != "hub.challenge"}, META_VERIFY_TOKEN) is None
    )
    assert verify_meta_subscription(params, "") is None


# -- Twilio signatures --------------------------------------------------------------------------


def test_twilio_signature_documented_example() -> None:
    # The worked example of Twilio's security docs and helper libraries.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    signed = (
        url
        + "CallSid"
        + "CA1234567890ABCDE"
        + "Caller+14158675309"
        + "Digits1234"
        + "From+14158675309"
        + "To+18005551212"
    )
    by_hand = base64.b64encode(hmac.new(b"12345", signed.encode(), hashlib.sha1).digest()).decode()
    assert by_hand == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert compute_twilio_signature(url, params, "12345") == by_hand
    assert verify_twilio_signature(url, params, by_hand, "12345")
    assert not verify_twilio_signature(url, {**params, "Digits": "1235"}, by_hand, "12345")
    assert not verify_twilio_signature(url.replace("foo=1", "foo=2"), params, by_hand, "12345")
    assert not verify_twilio_signature(url, params, by_hand, "54321")
    assert not verify_twilio_signature(url, params, None, "12345")
    assert not verify_twilio_signature(url, params, "", "12345")


def test_twilio_signature_of_a_status_callback() -> None:
    params = twilio_status_params("SM" + "a" * 32, "delivered")
    delivery = twilio_delivery(CALLBACK_URL, params)
    header = delivery.headers["X-Twilio-Signature"]
    assert delivery.content_type == "application/x-www-form-urlencoded"

    assert verify_twilio_signature(CALLBACK_URL, params, header, TWILIO_AUTH_TOKEN)
    # As Twilio's helper libraries do, the default port may or may not be part of what was signed.
    assert verify_twilio_signature(
        "https://soporte.example.com:443/whatsapp/twilio/status", params, header, TWILIO_AUTH_TOKEN
    )
    # Django's request.POST.getlist form: lists of one value sign the same.
    assert verify_twilio_signature(CALLBACK_URL, {k: [v] for k, v in params.items()}, header, TWILIO_AUTH_TOKEN)
    assert not verify_twilio_signature(CALLBACK_URL, {**params, "MessageStatus": "read"}, header, TWILIO_AUTH_TOKEN)
    assert not verify_twilio_signature(CALLBACK_URL.replace("https", "http"), params, header, TWILIO_AUTH_TOKEN)
    assert not verify_twilio_signature(CALLBACK_URL, {**params, "Extra": "1"}, header, TWILIO_AUTH_TOKEN)
    assert not verify_twilio_signature(CALLBACK_URL, params, header, "another-auth-token")


# -- Meta webhook parsing -----------------------------------------------------------------------

T0 = 1767225600  # 2026-01-01 00:00:00 UTC


def test_meta_statuses_delivered_read_failed() -> None:
    deliveries = [
        meta_status_payload("wamid.A", "sent", timestamp=T0),
        meta_status_payload("wamid.A", "delivered", timestamp=T0 + 5),
        meta_status_payload("wamid.A", "read", timestamp=T0 + 60),
        meta_status_payload(
            "wamid.B",
            "failed",
            timestamp=T0 + 7,
            error=(
                131047,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
        ),
    ]
    updates = [parse_meta_webhook_body(meta_delivery(d).body) for d in deliveries]
    assert all(messages == [] for _, messages in updates)
    statuses = [status for batch, _ in updates for status in batch]
    assert statuses == [
        StatusUpdate("wamid.A", "sent", datetime(2026, 1, 1, tzinfo=UTC)),
        StatusUpdate("wamid.A", "delivered", datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)),
        StatusUpdate("wamid.A", "read", datetime(2026, 1, 1, 0, 1, tzinfo=UTC)),
        StatusUpdate(
            "wamid.B",
            "failed",
            datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC),
            error="131047 Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            error_code="131047",
        ),
    ]


def test_meta_inbound_text_and_images() -> None:
    text = meta_message_payload(
        CUSTOMER, meta_text("La impresora sigue sin imprimir"), message_id="wamid.T", timestamp=T0
    )
    text["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {"from": "573000000000", "id": "wamid.OURS"}
    photo = meta_message_payload(
        OTHER_CUSTOMER, meta_image("1013859600285441", caption="Así sale la hoja"), message_id="wamid.P", timestamp=T0
    )
    bare = meta_message_payload(
        CUSTOMER, meta_image("1013859600285442", mime_type="image/png"), message_id="wamid.Q", timestamp=T0
    )

    assert parse_meta_webhook(text) == (
        [],
        [
            InboundMessage(
                provider_message_id="wamid.T",
                from_number="+573000000001",
                text="La impresora sigue sin imprimir",
                at=datetime(2026, 1, 1, tzinfo=UTC),
                profile_name="Carolina Pérez",
                in_reply_to="wamid.OURS",
            )
        ],
    )
    [with_caption] = parse_meta_webhook(photo)[1]
    assert with_caption.from_number == "+573000000002"
    assert with_caption.text == "Así sale la hoja"
    assert with_caption.kind == "image"
    assert [(m.ref, m.kind, m.content_type) for m in with_caption.media] == [
        ("1013859600285441", "image", "image/jpeg")
    ]
    [without_caption] = parse_meta_webhook(bare)[1]
    assert without_caption.text == "[imagen]"
    assert without_caption.media[0].content_type == "image/png"


def test_meta_documented_text_message_and_other_types() -> None:
    # The shape of Meta's "messages webhook reference" example (numbers made fictional).
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "209000000000001",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "573000000000", "phone_number_id": "109000000000001"},
                            "contacts": [{"profile": {"name": "Andrés"}, "wa_id": "573000000001"}],
                            "messages": [
                                {
                                    "from": "573000000001",
                                    "id": "wamid.1",
                                    "timestamp": "1749416383",
                                    "type": "text",
                                    "text": {"body": "¿Viene en otro color?"},
                                },
                                {
                                    "from": "573000000001",
                                    "id": "wamid.2",
                                    "timestamp": "1749416384",
                                    "type": "document",
                                    "document": {
                                        "filename": "factura.pdf",
                                        "mime_type": "application/pdf",
                                        "sha256": "x",
                                        "id": "555",
                                    },
                                },
                                {
                                    "from": "573000000001",
                                    "id": "wamid.3",
                                    "timestamp": "1749416385",
                                    "type": "location",
                                    "location": {"latitude": 4.6097, "longitude": -74.0817, "name": "Oficina"},
                                },
                                {
                                    "from": "573000000001",
                                    "id": "wamid.4",
                                    "timestamp": "1749416386",
                                    "type": "button",
                                    "button": {"text": "Sí, resuelto", "payload": "RESUELTO"},
                                    "context": {"from": "573000000000", "id": "wamid.T1"},
                                },
                                {
                                    "from": "573000000001",
                                    "id": "wamid.5",
                                    "timestamp": "1749416387",
                                    "type": "reaction",
                                    "reaction": {"message_id": "wamid.T1", "emoji": "👍"},
                                },
                                {
                                    "from": "573000000001",
                                    "id": "wamid.6",
                                    "timestamp": "1749416388",
                                    "type": "unsupported",
                                    "errors": [{"code": 131051, "title": "Message type unknown"}],
                                },
                            ],
                        },
                        "field": "messages",
                    },
                    {
                        "value": {"event": "APPROVED", "message_template_name": "x"},
                        "field": "message_template_status_update",
                    },
                ],
            }
        ],
    }
    statuses, messages = parse_meta_webhook(payload)
    assert statuses == []
    assert [(m.provider_message_id, m.kind, m.text, m.in_reply_to) for m in messages] == [
        ("wamid.1", "text", "¿Viene en otro color?", None),
        ("wamid.2", "document", "[documento: factura.pdf]", None),
        ("wamid.3", "location", "[ubicación] Oficina (4.6097, -74.0817)", None),
        ("wamid.4", "button", "Sí, resuelto", "wamid.T1"),
        ("wamid.5", "reaction", "[reacción 👍]", "wamid.T1"),
        ("wamid.6", "unsupported", "[mensaje no compatible]", None),
    ]
    assert {m.profile_name for m in messages} == {"Andrés"}
    assert messages[1].media[0].filename == "factura.pdf"
    assert messages[0].at == datetime.fromtimestamp(1749416383, tz=UTC)


def test_meta_unknown_statuses_are_skipped() -> None:
    payload = meta_status_payload("wamid.A", "deleted", timestamp=T0)
    assert parse_meta_webhook(payload) == ([], [])
    played = meta_status_payload("wamid.A", "played", timestamp=T0)
    assert [s.status for s in parse_meta_webhook(played)[0]] == ["read"]


def _meta_with(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (None, "payload must be a JSON object"),
        ([], "payload must be a JSON object"),
        ({"object": "page", "entry": []}, "whatsapp_business_account"),
        ({"object": "whatsapp_business_account", "entry": {}}, "payload.entry must be a JSON array"),
        ({"object": "whatsapp_business_account", "entry": ["x"]}, "entry[0] must be a JSON object"),
        ({"object": "whatsapp_business_account", "entry": [{"changes": "x"}]}, "entry[0].changes must be"),
        ({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}, "value must be"),
        (_meta_with({"statuses": [{"status": "read", "timestamp": "1"}]}), "statuses[0].id"),
        (_meta_with({"statuses": [{"id": "w", "status": "read", "timestamp": "ayer"}]}), "timestamp"),
        (_meta_with({"statuses": [{"id": "w", "status": "read"}]}), "timestamp"),
        (_meta_with({"statuses": [{"id": "w", "status": "failed", "timestamp": "1", "errors": ["x"]}]}), "errors[0]"),
        (
            _meta_with({"messages": [{"id": "w", "timestamp": "1", "type": "text", "text": {"body": "x"}}]}),
            "messages[0].from",
        ),
        (
            _meta_with(
                {"messages": [{"from": "abc", "id": "w", "timestamp": "1", "type": "text", "text": {"body": "x"}}]}
            ),
            "international format",
        ),
        (
            _meta_with({"messages": [{"from": "573000000001", "id": "w", "timestamp": "1", "type": "text"}]}),
            "messages[0].text must be",
        ),
        (
            _meta_with(
                {"messages": [{"from": "573000000001", "id": "w", "timestamp": "1", "type": "image", "image": {}}]}
            ),
            "image.id",
        ),
        (
            _meta_with(
                {
                    "messages": [
                        {"from": "573000000001", "id": "w", "timestamp": True, "type": "text", "text": {"body": "x"}}
                    ]
                }
            ),
            "timestamp",
        ),
        (_meta_with({"contacts": "x"}), "contacts"),
    ],
)
def test_malformed_meta_payloads(payload: Any, where: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_meta_webhook(payload)
    assert where in str(caught.value)


def test_meta_body_that_is_not_json() -> None:
    with pytest.raises(WebhookPayloadError, match="not JSON"):
        parse_meta_webhook_body(b"\xff{no")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.sampled_from(
        ["messages", "whatsapp_business_account", "text", "image", "failed", "1767225600", "573000000001"]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "object",
                    "entry",
                    "changes",
                    "field",
                    "value",
                    "statuses",
                    "messages",
                    "contacts",
                    "id",
                    "status",
                    "timestamp",
                    "from",
                    "type",
                    "text",
                    "body",
                    "image",
                    "errors",
                    "code",
                    "context",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_meta_parser_raises_only_payload_errors(payload: Any) -> None:
    with contextlib.suppress(WebhookPayloadError):
        parse_meta_webhook(payload)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    paths = [prefix] if prefix else []
    for key, child in children:
        paths.extend(_paths(child, (*prefix, key)))
    return paths


VALID_META = [
    meta_status_payload("wamid.A", "failed", timestamp=T0, error=(131026, "Message undeliverable", "x")),
    meta_message_payload(CUSTOMER, meta_text("Hola"), timestamp=T0),
    meta_message_payload(CUSTOMER, meta_image("1013859600285441", caption="Foto"), timestamp=T0),
]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_meta_parser_survives_any_part_replaced(data: st.DataObject) -> None:
    payload = copy.deepcopy(data.draw(st.sampled_from(VALID_META)))
    path = data.draw(st.sampled_from(_paths(payload)))
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(JSON)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    with contextlib.suppress(WebhookPayloadError):
        parse_meta_webhook(payload)


# -- Twilio webhook parsing ---------------------------------------------------------------------

RECEIVED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("twilio_status", "ours", "error_code"),
    [
        ("queued", "sent", None),
        ("sent", "sent", None),
        ("delivered", "delivered", None),
        ("read", "read", None),
        ("failed", "failed", "63016"),
        ("undelivered", "failed", "63024"),
    ],
)
def test_twilio_status_callbacks(twilio_status: str, ours: str, error_code: str | None) -> None:
    params = twilio_status_params("SM" + "b" * 32, twilio_status, error_code=error_code)
    update = parse_twilio_status(params, received_at=RECEIVED)
    assert update == StatusUpdate("SM" + "b" * 32, ours, RECEIVED, error=error_code, error_code=error_code)  # type: ignore[arg-type]


def test_twilio_status_without_time_is_stamped_now() -> None:
    before = datetime.now(tz=UTC)
    update = parse_twilio_status(twilio_status_params("SM" + "c" * 32, "delivered"))
    assert before <= update.at <= datetime.now(tz=UTC)


def test_twilio_inbound_text_and_image() -> None:
    text = parse_twilio_inbound(
        twilio_inbound_params(CUSTOMER, "Hola, ¿cómo va mi caso?", message_sid="SM" + "d" * 32), received_at=RECEIVED
    )
    assert text == InboundMessage(
        provider_message_id="SM" + "d" * 32,
        from_number="+573000000001",
        text="Hola, ¿cómo va mi caso?",
        at=RECEIVED,
        profile_name="Carolina Pérez",
    )
    media_url = (
        f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/MM{'e' * 32}/Media/ME{'f' * 32}"
    )
    image = parse_twilio_inbound(
        twilio_inbound_params(CUSTOMER, "", media=[(media_url, "image/jpeg")]), received_at=RECEIVED
    )
    assert image.text == "[imagen]"
    assert image.kind == "image"
    assert [(m.ref, m.kind, m.content_type) for m in image.media] == [(media_url, "image", "image/jpeg")]
    pdf = parse_twilio_inbound(twilio_inbound_params(CUSTOMER, "La factura", media=[(media_url, "application/pdf")]))
    assert (pdf.text, pdf.media[0].kind) == ("La factura", "document")


def test_twilio_inbound_location() -> None:
    params = {**twilio_inbound_params(CUSTOMER, ""), "Latitude": "4.6097", "Longitude": "-74.0817", "Label": "Oficina"}
    assert parse_twilio_inbound(params).text == "[ubicación] Oficina (4.6097, -74.0817)"


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"MessageStatus": "delivered"}, "without MessageSid"),
        ({"MessageSid": "SM1"}, "without MessageStatus"),
        ({"MessageSid": "SM1", "MessageStatus": "received"}, "not an outbound message status"),
        ({"MessageSid": "SM1", "MessageStatus": "bogus"}, "not an outbound message status"),
    ],
)
def test_malformed_twilio_status(params: dict[str, str], where: str) -> None:
    with pytest.raises(WebhookPayloadError, match=where):
        parse_twilio_status(params)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"MessageSid": None, "SmsMessageSid": None, "SmsSid": None}, "without MessageSid"),
        ({"From": "+573000000001"}, "whatsapp:"),
        ({"From": "whatsapp:573"}, "international format"),
        ({"NumMedia": "uno"}, "NumMedia"),
        ({"NumMedia": "1"}, "MediaUrl0"),
    ],
)
def test_malformed_twilio_inbound(change: dict[str, str | None], where: str) -> None:
    params = twilio_inbound_params(CUSTOMER, "Hola")
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    with pytest.raises(WebhookPayloadError, match=where):
        parse_twilio_inbound(params)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "MessageSid",
                "MessageStatus",
                "From",
                "Body",
                "NumMedia",
                "MediaUrl0",
                "ErrorCode",
                "Latitude",
                "Longitude",
            ]
        ),
        st.text(max_size=12),
    )
)
def test_twilio_parsers_raise_only_payload_errors(params: dict[str, str]) -> None:
    for parse in (parse_twilio_status, parse_twilio_inbound):
        with contextlib.suppress(WebhookPayloadError):
            parse(params)


# -- end to end: send, then the provider's signed status webhook finds the same message ---------


def test_send_then_signed_status_webhooks_round_trip(standin: ProviderStandIn) -> None:
    meta_id = standin.meta_transport().send(meta_template_message()).provider_message_id
    delivery = meta_delivery(meta_status_payload(meta_id, "delivered"))
    assert verify_meta_signature(delivery.body, delivery.headers["X-Hub-Signature-256"], META_APP_SECRET)
    [update], _ = parse_meta_webhook_body(delivery.body)
    assert (update.provider_message_id, update.status) == (meta_id, "delivered")

    twilio_id = (
        standin.twilio_transport(status_callback_url=CALLBACK_URL).send(twilio_template_message()).provider_message_id
    )
    params = twilio_status_params(twilio_id, "read")
    delivery = twilio_delivery(CALLBACK_URL, params)
    assert verify_twilio_signature(CALLBACK_URL, params, delivery.headers["X-Twilio-Signature"], TWILIO_AUTH_TOKEN)
    update = parse_twilio_status(params)
    assert (update.provider_message_id, update.status) == (twilio_id, "read")
