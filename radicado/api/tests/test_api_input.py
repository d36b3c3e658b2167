"""Invalid API input is a 4xx naming the field (422 for the schema), never a 500 and never a write."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Cast
from radicado.api.api import api as ninja_api
from radicado.api.tests.test_api import Api, token_for
from radicado.customers.models import Customer
from radicado.tickets.models import Channel, Reply, Ticket

HUGE = 10**30


@pytest.fixture
def bob(cast: Cast) -> Api:
    return Api(token_for("bob@example.com", "andes"))


@pytest.fixture
def carol(cast: Cast) -> Api:
    return Api(token_for("carol@example.com", "andes"))


def rejected(response: Any, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.content
    if status == 422:
        assert any(field in issue["loc"] for issue in response.json()["detail"]), response.json()


def ticket(cast: Cast, **fields: Any) -> dict[str, Any]:
    return {
        "type": "incidente",
        "subject": "Asunto",
        "description": "Detalle",
        "requester_id": cast.contacts["carol"].id,
        **fields,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "s" * 251),
        ("subject", "a\x00b"),
        ("description", "d\x00"),
        ("description", "d" * 100_001),
        ("type", "t" * 51),
        ("type", "in cidente"),
        ("priority", "p\x00"),
        ("urgency", "u" * 51),
        ("requester_id", HUGE),
        ("requester_id", -1),
        ("requester_id", "١"),
        ("channel", "fax"),
        ("channel", "api\x00"),
    ],
)
def test_a_bad_ticket_payload_is_a_422_naming_the_field(cast: Cast, bob: Api, field: str, value: Any) -> None:
    before = Ticket.objects.count()
    rejected(bob.post("/tickets", ticket(cast, **{field: value})), field)
    assert Ticket.objects.count() == before


def test_only_staff_set_the_channel(cast: Cast, bob: Api, carol: Api) -> None:
    base = {"type": "incidente", "subject": "Canal", "description": "d"}
    refused = carol.post("/tickets", {**base, "channel": "phone"})
    assert refused.status_code == 403 and "canal" in refused.json()["detail"]
    assert not Ticket.objects.filter(subject="Canal").exists()
    assert carol.post("/tickets", {**base, "channel": "api"}).json()["channel"] == Channel.API
    assert carol.post("/tickets", base).json()["channel"] == Channel.API
    assert bob.post("/tickets", ticket(cast, channel="phone")).json()["channel"] == Channel.PHONE
    assert bob.post("/tickets", ticket(cast)).json()["channel"] == Channel.API


def test_channel_codes_of_the_schema_are_the_models(db: Any) -> None:
    from typing import get_args

    from radicado.api.schemas import ChannelCode

    assert set(get_args(ChannelCode)) == set(Channel.values)


@pytest.mark.parametrize("url", ["/replies", "/notes"])
@pytest.mark.parametrize("body", ["b\x00", "b" * 100_001])
def test_a_bad_message_body_is_a_422(cast: Cast, bob: Api, url: str, body: str) -> None:
    before = Reply.objects.count()
    rejected(bob.post(f"/tickets/1{url}", {"body": body}), "body")
    assert Reply.objects.count() == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        (f"limit={HUGE}", "limit"),
        ("limit=%C2%B2", "limit"),
        ("limit=%D9%A1", "limit"),
        (f"customer={HUGE}", "customer"),
        ("customer=%D9%A1", "customer"),
        ("assignee=-1", "assignee"),
        ("level=n9", "level"),
        ("q=" + "q" * 101, "q"),
        ("q=a%00", "q"),
        ("cursor=" + "c" * 101, "cursor"),
    ],
)
def test_bad_list_parameters_are_a_422(bob: Api, query: str, field: str) -> None:
    rejected(bob.get(f"/tickets?{query}"), field)


@pytest.mark.parametrize("url", [f"/tickets/{HUGE}", "/tickets/0", f"/customers/{HUGE}", f"/contacts/{HUGE}"])
def test_huge_or_zero_ids_in_the_path_are_a_422_not_a_500(bob: Api, url: str) -> None:
    assert bob.get(url).status_code == 422


def test_a_huge_customer_filter_on_contacts_is_a_422(bob: Api) -> None:
    rejected(bob.get(f"/contacts?customer_id={HUGE}"), "customer_id")


@pytest.mark.parametrize("cursor", ["%%%", "MTIzNA==", "wrk=", "MS7ZoQ=="])  # "1234", bad bytes, "1.١"
def test_a_cursor_the_api_did_not_make_is_a_400(bob: Api, cursor: str) -> None:
    assert bob.get(f"/tickets?cursor={cursor}").status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contract_value", "NaN"),
        ("contract_value", "Infinity"),
        ("contract_value", "-1"),
        ("contract_value", "1e30"),
        ("contract_value", "1.234"),
        ("contract_value", "١"),
        ("code", "c" * 51),
        ("code", "a b"),
        ("name", "n\x00"),
        ("name", "n" * 201),
        ("currency", "pesos"),
    ],
)
def test_a_bad_customer_is_a_422(cast: Cast, cast_admin: Api, field: str, value: str) -> None:
    before = Customer.objects.count()
    payload = {"code": "nuevo", "name": "Nuevo", field: value}
    rejected(cast_admin.post("/customers", payload), field)
    assert Customer.objects.count() == before


@pytest.fixture
def cast_admin(cast: Cast) -> Api:
    return Api(token_for("alice@example.com", "andes"))


def test_a_customer_with_a_contract_value_is_created(cast_admin: Api) -> None:
    created = cast_admin.post("/customers", {"code": "nuevo", "name": "Nuevo", "contract_value": "1500000.50"})
    assert created.status_code == 201 and created.json()["contract_value"] == "1500000.50"


@pytest.mark.parametrize(
    ("field", "value"), [("name", "n" * 201), ("email", "e\x00@x.co"), ("phone", "9" * 41), ("customer_id", HUGE)]
)
def test_a_bad_contact_is_a_422(cast: Cast, cast_admin: Api, field: str, value: Any) -> None:
    payload = {"customer_id": cast.acme.id, "name": "N", "email": "n@example.com", field: value}
    rejected(cast_admin.post("/contacts", payload), field)


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "e\x00", "password": "x", "workspace": "andes"},
        {"email": "e@x.co", "password": "p" * 5000, "workspace": "andes"},
        {"email": "e@x.co", "password": "x", "workspace": "w" * 51},
        {"email": "e@x.co", "password": "x", "workspace": "andes", "name": "n" * 101},
    ],
)
def test_a_bad_token_request_is_a_422(db: Any, payload: dict[str, str]) -> None:
    from django.test import Client

    response = Client().post("/api/v1/auth/token", payload, content_type="application/json")
    assert response.status_code == 422


def test_every_endpoint_documents_its_4xx_answers(db: Any) -> None:
    schema = ninja_api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = {str(c) for c in operation["responses"]}
            assert "422" in codes, (method, path)
            assert "401" in codes or path == "/api/v1/auth/token", (method, path)
            assert any(c.startswith("4") and c not in ("401", "422") for c in codes) or (
                method == "get" and ("{" not in path)
            ), (method, path, codes)
