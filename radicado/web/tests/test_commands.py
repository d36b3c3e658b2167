"""The `radicado` command-line entry point and its subcommands, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CALENDAR = {
    "timezone": "America/Bogota",
    "week": {d: [["07:30", "12:30"], ["14:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [], "sun": []},
    "holidays": {"country": "CO", "subdivision": None},
}


def radicado(*args: str, stdin: str = "", data_dir: Path) -> subprocess.CompletedProcess[str]:
    # Always the embedded default: the demo is about SQLite in a fresh data folder.
    env = {k: v for k, v in os.environ.items() if k != "RADICADO_DATABASE_URL"}
    env["RADICADO_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "radicado", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_businesstime_deadline_across_a_holiday_monday(tmp_path: Path) -> None:
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps(CALENDAR), encoding="utf-8")
    # Friday 13 Nov 2026 17:30; Monday 16 Nov is a holiday: 30 min on Friday + 5 h 30 on Tuesday.
    out = radicado(
        "businesstime",
        "deadline",
        "--calendar",
        str(cal),
        data_dir=tmp_path,
        stdin='{"start": "2026-11-13T17:30:00-05:00", "minutes": 360}\n{"start": "x"}\n',
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0] == {"deadline": "2026-11-17T14:30:00-05:00"}
    assert lines[1]["line"] == 2 and "error" in lines[1]


def test_demo_no_serve_prepares_the_data_idempotently(tmp_path: Path) -> None:
    first = radicado("demo", "--no-serve", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "ana.lider@example.com" in first.stdout and "radicado-demo-2026" in first.stdout
    again = radicado("demo", "--no-serve", data_dir=tmp_path)
    assert again.returncode == 0 and "ya estaban cargados" in again.stdout
    assert (tmp_path / "radicado.sqlite3").exists()


def test_sla_sweep_runs_once_and_reports(tmp_path: Path) -> None:
    assert radicado("demo", "--no-serve", data_dir=tmp_path).returncode == 0
    out = radicado("sla_sweep", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "eventos de ANS disparados" in out.stdout


def test_the_job_schedule_registers_each_sweep_once_a_minute(db: object) -> None:
    from huey.contrib.djhuey import HUEY

    from radicado.web import tasks

    periodic = {t.name for t in HUEY._registry.periodic_tasks}
    assert {"sla_sweep", "outbound_mail_sweep", "poll_mailboxes"} <= periodic
    assert tasks.sla_sweep.call_local() == 0  # nothing due in an empty database
    assert tasks.outbound_mail_sweep.call_local() == 0
