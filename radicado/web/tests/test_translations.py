"""The Spanish catalogue is complete, compiled, and actually used when rendering.

* Completeness: the source tree is copied to a temporary directory with the
  checked-in ``django.po`` and ``makemessages`` runs there with the project's
  options, so every msgid the code uses now is merged in. Any entry left without
  a translation, or marked fuzzy by msgmerge, fails the test. The real catalogue
  is never touched.
* Freshness: the checked-in ``.po`` is compiled to a temporary ``.mo`` and both
  catalogues are loaded with ``gettext.GNUTranslations`` and compared, so a
  forgotten ``radicado compilemessages`` fails regardless of msgfmt's version.
* Rendering: pages come out in Spanish for es-CO (Django resolves es-co to the
  ``es`` catalogue) and in English when the browser or the language switch asks.

GNU gettext (msgfmt, msgmerge, xgettext) must be installed, as in CI.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "radicado"
PO = PACKAGE / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
MAKEMESSAGES = ["makemessages", "-l", "es", "--ignore=.venv", "--ignore=benchmarks", "--ignore=tests", "--ignore=var"]
COMPILE = "uv run --frozen radicado compilemessages --ignore=.venv"
REGENERATE = (
    f"run `uv run --frozen radicado {' '.join(MAKEMESSAGES)}`, translate the empty or fuzzy entries, then `{COMPILE}`"
)


# --- a tiny .po reader (no third-party dependency) ---------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def read_po(text: str) -> list[Entry]:
    """Parse the entries of a .po file; obsolete (``#~``) entries are kept but flagged."""
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int] | None = None
    started = False

    def finish() -> None:
        nonlocal current, started, target
        if started:
            entries.append(current)
        current, started, target = Entry(), False, None

    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):
                continue
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if started and target and target[0] == "msgstr":
                finish()  # a comment after msgstr starts the next entry (no blank line between)
            if line.startswith("#,"):
                current.flags.update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"continuation without keyword: {raw!r}")
            _append(current, target, ast.literal_eval(line))
            continue
        match = _KEYWORD.match(line)
        if not match:
            raise ValueError(f"cannot read .po line: {raw!r}")
        keyword, index, value = match.group(1), match.group(2), ast.literal_eval(match.group(3))
        if keyword in ("msgctxt", "msgid") and started and target and target[0] == "msgstr":
            finish()
        started = True
        current.obsolete = current.obsolete or obsolete
        if keyword.startswith("msgstr"):
            target = ("msgstr", int(index or 0))
            current.msgstr[target[1]] = ""
        else:
            target = (keyword, 0)
            setattr(current, keyword, "")
        _append(current, target, value)
    return entries


def _append(entry: Entry, target: tuple[str, int], value: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] += value
    else:
        setattr(entry, name, (getattr(entry, name) or "") + value)


def _live(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if not e.obsolete and e.msgid != ""]


def _header(entries: list[Entry]) -> Entry:
    return next(e for e in entries if e.msgid == "" and e.msgctxt is None and not e.obsolete)


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(cmd[0]) if not os.path.isabs(cmd[0]) else cmd[0]
    if tool is None:
        pytest.fail(f"{cmd[0]} not found: install GNU gettext (apt-get install gettext)")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _describe(entries: list[Entry]) -> str:
    return "\n".join(f"  {e.msgctxt + ' | ' if e.msgctxt else ''}{e.msgid!r}" for e in entries)


# --- completeness ------------------------------------------------------------------------------


def test_every_msgid_in_the_code_has_a_spanish_translation(tmp_path: Path) -> None:
    """Merge the current source's msgids into a copy of the catalogue; nothing may be left over."""
    for tool in ("xgettext", "msgmerge", "msguniq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install GNU gettext (apt-get install gettext)")
    src = tmp_path / "src"
    shutil.copytree(
        PACKAGE, src / "radicado", ignore=shutil.ignore_patterns("locale", "tests", "__pycache__", "*.pyc", "static")
    )
    work_po = src / "radicado" / "locale" / "es" / "LC_MESSAGES" / "django.po"
    work_po.parent.mkdir(parents=True)
    shutil.copyfile(PO, work_po)

    # The project's settings, with LOCALE_PATHS pointing into the copy, so the real file is never written.
    pyroot = tmp_path / "pyroot"
    pyroot.mkdir()
    (pyroot / "i18n_check_settings.py").write_text(
        "from pathlib import Path\n"
        "from config.settings import *  # noqa: F403\n"
        f"LOCALE_PATHS = [Path({str(work_po.parents[2])!r})]\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "i18n_check_settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(pyroot)]),
    }
    _run([sys.executable, "-m", "django", *MAKEMESSAGES], cwd=src, env=env)

    merged = read_po(work_po.read_text(encoding="utf-8"))
    live = _live(merged)
    assert len(live) >= 100, f"suspiciously few msgids extracted ({len(live)}): did makemessages scan the copy?"
    untranslated = [e for e in live if not e.msgstr or any(not s for s in e.msgstr.values())]
    fuzzy = [e for e in live if "fuzzy" in e.flags]
    problems = []
    if untranslated:
        problems.append(f"{len(untranslated)} msgid(s) without a Spanish translation:\n{_describe(untranslated)}")
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy entr(y/ies), review and drop the flag:\n{_describe(fuzzy)}")
    assert not problems, "\n".join(problems) + f"\nUpdate {_shown(PO)}: {REGENERATE}"


def test_checked_in_catalogue_is_clean() -> None:
    """No fuzzy header, a Language header, and placeholders and HTML tags kept in every translation."""
    entries = read_po(PO.read_text(encoding="utf-8"))
    header = _header(entries)
    assert "fuzzy" not in header.flags, "the .po header is marked fuzzy"
    assert "Language: es\n" in header.msgstr[0], header.msgstr[0]
    placeholder = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]|\{\w*\}")
    tag = re.compile(r"</?[a-zA-Z][^>]*>")
    broken = []
    for e in _live(entries):
        for i, text in e.msgstr.items():
            source = e.msgid if i == 0 or e.msgid_plural is None else e.msgid_plural
            for pattern in (placeholder, tag):
                if sorted(pattern.findall(source)) != sorted(pattern.findall(text)):
                    broken.append(f"  {e.msgid!r} -> {text!r}")
    assert not broken, "placeholders or HTML differ from the msgid:\n" + "\n".join(broken)


# --- freshness of the compiled catalogue -------------------------------------------------------


# Header fields that change how the catalogue behaves; dates and translator names do not make it stale,
# so merely re-running makemessages (which bumps POT-Creation-Date) does not force a recompile.
_HEADER_FIELDS = ("Content-Type:", "Language:", "Plural-Forms:")


def _catalog(mo: Path) -> dict[Any, str]:
    with mo.open("rb") as fp:
        catalog = dict(gettext.GNUTranslations(fp)._catalog)  # type: ignore[attr-defined]
    header = catalog.pop("", "")
    catalog[""] = "\n".join(line for line in header.splitlines() if line.startswith(_HEADER_FIELDS))
    return catalog


def test_checked_in_mo_matches_the_po(tmp_path: Path) -> None:
    """Compile the .po as compilemessages does and compare the loaded catalogues, not the bytes."""
    assert MO.exists(), f"{_shown(MO)} is missing: {REGENERATE}"
    fresh = tmp_path / "django.mo"
    _run(["msgfmt", "--check-format", "-o", str(fresh), str(PO)])
    expected, actual = _catalog(fresh), _catalog(MO)
    if expected != actual:
        missing = sorted(str(k) for k in expected.keys() - actual.keys())
        extra = sorted(str(k) for k in actual.keys() - expected.keys())
        changed = sorted(str(k) for k in expected.keys() & actual.keys() if expected[k] != actual[k])
        pytest.fail(
            f"{_shown(MO)} is stale: run `{COMPILE}`.\n"
            f"not compiled yet: {missing}\nremoved from .po: {extra}\nchanged: {changed}"
        )


# --- rendering ---------------------------------------------------------------------------------


def test_es_co_resolves_to_the_spanish_catalogue() -> None:
    assert settings.LANGUAGE_CODE == "es-co"
    with translation.override("es-co"):
        assert translation.gettext("Queue") == "Bandeja"
        assert translation.pgettext("requests", "Open") == "Abiertas"
    with translation.override("en"):
        assert translation.gettext("Queue") == "Queue"


PAGES = {
    # who, path: (Spanish that must appear, English that must appear)
    "portal home": (
        "carol",
        "/w/andes/",
        ["Mis solicitudes", "Nueva solicitud", "Abiertas", "registrada el", "Ayuda", "Salir"],
        ["My requests", "New request", "registered", "Help", "Sign out"],
    ),
    "portal request": (
        "carol",
        "/w/andes/solicitudes/{n}/",
        ["Conversación", "Escriba una respuesta", "Enviar respuesta", "Adjuntos", "Soporte"],
        ["Conversation", "Write a reply", "Send reply", "Attachments", "Support"],
    ),
    "portal help": (
        "carol",
        "/w/andes/ayuda/",
        ["Cómo registrar una solicitud", "<strong>Nueva solicitud</strong>", "“Esperando al cliente”"],
        ["How to register and follow a request", "<strong>New request</strong>"],
    ),
    "console queue": (
        "bob",
        "/w/andes/console/",
        ["Bandeja", "Registrar llamada", "Responsable", "Prioridad", "Cualquiera", "Salir"],
        ["Queue", "Log a call", "Assignee", "Priority", "Any", "Sign out"],
    ),
    "console ticket": (
        "bob",
        "/w/andes/console/t/{n}/",
        ["Nota interna", "Tipo de mensaje", "Detalles del caso", "Cambiar estado", "Adjuntos"],
        ["Internal note", "Kind of message", "Ticket details", "Change status", "Attachments"],
    ),
}


def _as_text(words: list[str], html: str) -> list[str]:
    """The words that appear as a whole text node (so user data such as "Nota interna secreta" is ignored)."""
    return [w for w in words if re.search(rf">\s*{re.escape(w)}\s*<", html)]


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_in_spanish_for_es_co(cast: Any, page: str) -> None:
    who, path, spanish, english = PAGES[page]
    path = path.format(n=cast.tickets["A-1"].number)
    html = _text(cast.client(who).get(path, HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9"))
    assert '<html lang="es">' in html
    assert [w for w in spanish if w not in html] == []
    assert _as_text(english, html) == [], "English left in the Spanish page"


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_in_english_when_the_browser_asks(cast: Any, page: str) -> None:
    who, path, spanish, english = PAGES[page]
    path = path.format(n=cast.tickets["A-1"].number)
    html = _text(cast.client(who).get(path, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert '<html lang="en">' in html
    assert [w for w in english if w not in html] == []
    assert _as_text(spanish, html) == [], "Spanish left in the English page"


def test_language_switch_sets_the_cookie_and_wins_over_the_browser(cast: Any) -> None:
    client = cast.client("bob")
    response = client.post("/idioma/", {"language": "en", "next": "/w/andes/console/"}, HTTP_ACCEPT_LANGUAGE="es-CO")
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = _text(client.get("/w/andes/console/", HTTP_ACCEPT_LANGUAGE="es-CO"))
    assert "Log a call" in html and "Registrar llamada" not in html
    client.post("/idioma/", {"language": "es-co", "next": "/w/andes/console/"})
    html = _text(client.get("/w/andes/console/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Registrar llamada" in html and "Log a call" not in html


def test_login_page_is_spanish_by_default(db: Any, client: Any) -> None:
    html = _text(client.get("/entrar/"))
    assert "Ingresar" in html and "Contraseña" in html and "Correo electrónico" in html
