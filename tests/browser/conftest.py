"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Each test gets the shared cast (see the root ``conftest.py``) in a real, committed database
(``transactional_db``) so that the live server thread sees it, and opens fresh browser contexts
(one per person) from a single Chromium started once per session. Every page fails its test on a
JavaScript dialog (``alert`` and friends) or an uncaught script error. When a test fails, a
screenshot and the HTML of every open page are kept in ``test-artifacts/browser/<test>/``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the main thread; Django then refuses ORM calls from it
# (the cast is built in the test thread) unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, BrowserContext, Dialog, Page, ViewportSize, expect, sync_playwright

from conftest import PASSWORD, Cast, build_cast, use_tmp_storage

CHROMIUM = Path(os.environ.get("RADICADO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
# The pictures go to a scratch folder, so running the tests changes no tracked file; to refresh the
# documentation's pictures: RADICADO_SCREENSHOTS_DIR=docs/screenshots uv run pytest -m browser.
SCREENSHOTS = Path(os.environ.get("RADICADO_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="radicado-screenshots-"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CONSOLE_VIEWPORT: ViewportSize = {"width": 1366, "height": 850}
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # generous: the live server shares the machine with other test runs
expect.set_options(timeout=TIMEOUT_MS)
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test body failed, so the ``people`` fixture can keep evidence."""
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # Locally a missing browser skips; in CI it must fail, never pass silently.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live_cast(transactional_db: Any, settings: Any, tmp_path: Path) -> Cast:
    """The shared cast, committed, with attachments stored under the test's tmp_path."""
    use_tmp_storage(settings, tmp_path)
    return build_cast()


@dataclass
class Person:
    """One person at one browser: their own context (cookies), page and what went wrong there."""

    name: str
    context: BrowserContext
    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Use the real login form, as a person would."""
        self.go("/entrar/")
        self.page.locator("#email").fill(email)
        self.page.locator("#password").fill(password)
        with self.page.expect_navigation():
            self.page.locator("main form button[type=submit]").click()
        assert "/entrar/" not in self.page.url, f"{email} could not sign in"

    def shot(self, name: str, *, full_page: bool = False, keep_focus: bool = False) -> Path:
        """Save a screenshot to SCREENSHOTS/<name>.png (the viewport, or the whole page)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        if not keep_focus:
            self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
        return path

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"{self.name}: a JavaScript dialog opened: {self.dialogs}"
        assert self.errors == [], f"{self.name}: uncaught script errors: {self.errors}"


@pytest.fixture
def people(browser: Browser, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Person]]:
    """Open a fresh context per person; ``people("carol", phone=True)``."""
    opened: list[Person] = []

    def open_person(name: str, *, phone: bool = False) -> Person:
        context = browser.new_context(
            viewport=PHONE_VIEWPORT if phone else CONSOLE_VIEWPORT,
            device_scale_factor=1,
            is_mobile=phone,
            has_touch=phone,
            locale="es-CO",
            timezone_id="America/Bogota",
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        person = Person(name=name, context=context, page=page, base_url=live_server.url)

        def on_dialog(dialog: Dialog) -> None:
            person.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: person.errors.append(str(exc)))
        # A resource or script the Content-Security-Policy blocked is a defect of ours (docs/security.md).
        page.on(
            "console",
            lambda msg: (
                person.errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        opened.append(person)
        return person

    yield open_person
    try:
        if request.node.stash.get(FAILED, False):
            _keep_evidence(request.node.name, opened)
        for person in opened:
            person.assert_clean()
    finally:
        for person in opened:
            person.context.close()


def _keep_evidence(test_name: str, opened: list[Person]) -> None:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for person in opened:
        try:
            person.page.screenshot(path=str(folder / f"{person.name}.png"), full_page=True)
            (folder / f"{person.name}.html").write_text(
                f"<!-- {person.page.url} -->\n{person.page.content()}", encoding="utf-8"
            )
        except Exception as exc:  # evidence is best effort; the real failure is reported anyway
            (folder / f"{person.name}.txt").write_text(f"could not capture: {exc}", encoding="utf-8")
    print(f"\nbrowser evidence kept in {folder}")  # noqa: T201


def tiny_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (11, 92, 173)) -> bytes:
    """A valid PNG of one colour, made without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
