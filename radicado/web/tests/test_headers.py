"""Headers and production settings (issue 19, item 6): a Content-Security-Policy without inline script,
HSTS and the https redirect from the environment, a clean ``check --deploy``, and the API docs served from
the package, to staff only. Each failed on a81b1ff (no CSP; no HSTS setting; public docs from a CDN)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client

from conftest import Cast

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "radicado" / "templates"

# The production environment docs/security.md documents (besides the database and the hosts).
PRODUCTION = {
    "RADICADO_DEBUG": "0",
    "RADICADO_SECURE_COOKIES": "1",
    "RADICADO_SSL_REDIRECT": "1",
    "RADICADO_HSTS_SECONDS": "31536000",
    "RADICADO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "RADICADO_HSTS_PRELOAD": "1",
    "RADICADO_ALLOWED_HOSTS": "mesa.example.com",
}


def test_every_page_carries_a_csp_without_inline_script(cast: Cast) -> None:
    for client, path in (
        (Client(), "/entrar/"),
        (cast.client("carol"), "/w/andes/"),
        (cast.client("bob"), "/w/andes/console/"),
    ):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives["script-src"] == "'self'"
        assert "unsafe" not in directives["script-src"] and "unsafe" not in directives["style-src"]
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_templates_hold_no_inline_script_or_handler() -> None:
    """What the policy would block: a <script> without src, on*= attributes, hx-on (evaluated by htmx)."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", r"\son[a-z]+\s*=", r"\shx-on[:-]"):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []


def test_the_documented_production_environment_passes_check_deploy(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **PRODUCTION,
        "RADICADO_DATA_DIR": str(tmp_path),
        "RADICADO_SECRET_KEY": secrets.token_urlsafe(64),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set in this process by the browser tests' live server
    result = subprocess.run(
        [sys.executable, "-m", "radicado", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert all(name in security for name in PRODUCTION)  # the page documents what the check needs


def test_https_settings_come_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, **PRODUCTION, "RADICADO_DATA_DIR": str(tmp_path)}
    code = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); {code}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["True", "31536000"], out.stderr


def test_api_docs_are_for_staff_and_come_from_the_package(cast: Cast, settings: Any) -> None:
    assert Client().get("/api/v1/docs").status_code == 404
    assert cast.client("carol").get("/api/v1/docs").status_code == 404  # a customer
    page = cast.client("bob").get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/ninja/swagger-ui-bundle" in html and "cdn" not in html.lower()
    settings.API_DOCS_PUBLIC = True
    assert Client().get("/api/v1/docs").status_code == 200
