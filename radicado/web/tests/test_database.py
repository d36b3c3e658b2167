"""How Radicado talks to PostgreSQL: parameters bound by the server, repeated statements prepared (ADR 0011)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from radicado.workspaces.models import Workspace

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_postgresql_prepares_a_statement_it_runs_again_and_again() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    for _ in range(6):
        list(Workspace.objects.filter(slug="nadie"))
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cur.fetchall()]
    assert any('FROM "workspaces_workspace"' in statement for statement in prepared), prepared


def _options(**environ: str) -> dict[str, Any]:
    code = (
        "import json; from config import settings; print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADICADO_")} | environ
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    options: dict[str, Any] = json.loads(out.stdout)
    return options


def test_prepared_statements_are_on_by_default_and_can_be_turned_off_for_pgbouncer() -> None:
    url = "postgres://radicado@db.example.com/radicado"
    assert _options(RADICADO_DATABASE_URL=url) == {"server_side_binding": True, "prepare_threshold": 5}
    assert _options(RADICADO_DATABASE_URL=url, RADICADO_DB_PREPARE_THRESHOLD="0") == {}
    assert "server_side_binding" not in _options(RADICADO_DATABASE_URL="sqlite:///radicado.sqlite3")
