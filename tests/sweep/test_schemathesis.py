"""Schemathesis against the API's own OpenAPI schema, through the WSGI app (no network), as an agent.

Every operation gets a few generated requests (valid and invalid by the schema); none may answer a server
error. Bounded: few examples per operation, no deadline (the suite runs on SQLite and on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from conftest import Cast
from radicado.api.api import api
from tests.sweep.routes import World, build_world


@pytest.fixture
def world(cast: Cast) -> Iterator[World]:
    # Like Django's test client: a request through the WSGI handler must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield build_world(cast)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
schema.app = WSGIHandler()


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_answers_no_server_error_to_generated_requests(case: Any, world: World) -> None:
    # bob's token for every operation; obtaining a token (auth=None) ignores it
    case.call_and_validate(headers={"Authorization": f"Bearer {world.tokens['bob']}"}, checks=[not_a_server_error])
