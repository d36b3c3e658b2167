"""Killing the mail sender with SIGKILL, again and again, loses nothing; duplicates are counted.

A real worker process runs the real send loop (``radicado mail send --loop … --lease 1``)
against a real SMTP server on loopback (SmtpSink) and the test's own database. The test kills
it with SIGKILL at random moments while it sends, starts a new one each time, and lets the last
one drain the outbox. Then:

* lost: every queued Message-ID reached the sink at least once and every row is ``sent`` — 0;
* duplicates: Message-IDs the sink received more than once. They can only come from the window
  between the relay accepting a message and the row being marked sent (the sender is killed
  after the 250 reply, before its UPDATE commits), one message per kill at most, so the count is
  measured and bounded by the number of kills.

Starting Django takes seconds on a small machine, so workers are forked from a parent that has
set Django up once and never touched the database (like a pre-forking server): each worker is
still a separate process with its own connections, killed by SIGKILL and reaped by its parent.
Set OUTBOX_KILL9_SEED to replay a run; ``-s`` shows the figures.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from conftest import database_url, message_id_of, notice_mail, wait_until
from radicado.channels.email.tests.servers import SmtpSink
from radicado.channels.models import OutboundMail, OutboundStatus
from radicado.workspaces.actions import create_workspace

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
KILLS = 30
LEASE_SECONDS = 1.0
LOOP_SECONDS = 0.02

# The worker parent: sets Django up once, then obeys "fork" / "kill" / "quit" lines on stdin.
PARENT = r"""
import os, signal, sys
import django
django.setup()
from django.core.management import call_command
from radicado.web.management.commands import mail  # noqa: F401  (import before forking)
loop, lease = sys.argv[1], sys.argv[2]
print("ready", flush=True)
child = 0
for line in sys.stdin:
    command = line.strip()
    if command == "fork":
        child = os.fork()
        if child == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            try:
                call_command("mail", "send", "--loop", loop, "--lease", lease)
            finally:
                os._exit(1)
        print(child, flush=True)
    elif command == "kill":
        os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
        print(status, flush=True)
    else:
        break
"""


def queue_notifications(n: int) -> list[str]:
    ws = create_workspace(
        slug="kill9", name="Kill 9", ticket_prefix="K9", timezone="America/Bogota", now=timezone.now()
    )
    now = timezone.now()
    rows = []
    for i in range(n):
        mid, raw = notice_mail("K9", i, "soporte@kill9.example.com")
        rows.append(
            OutboundMail(
                workspace=ws,
                message_id=mid,
                mail_from="soporte@kill9.example.com",
                rcpt_to=[f"cliente{i}@example.com"],
                raw=raw,
                automatic=True,
                created_at=now,
                next_attempt_at=now,
                event="ticket.created",
                idempotency_key=f"kill9:ticket.created:{i}",
            )
        )
    OutboundMail.objects.bulk_create(rows)
    return [r.message_id for r in rows]


class Workers:
    """The worker parent process and its one current child."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", PARENT, str(LOOP_SECONDS), str(LEASE_SECONDS)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self._ask(None) == "ready", log.read_text()

    def _ask(self, command: str | None) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def start(self) -> int:
        return int(self._ask("fork"))

    def kill(self) -> None:
        self._ask("kill")

    def close(self) -> None:
        try:
            self._ask("quit")
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()


@pytest.mark.django_db(transaction=True)
def test_kill_9_while_sending_loses_nothing(tmp_path: Path, record_property: Any) -> None:
    seed = int(os.environ.get("OUTBOX_KILL9_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    queued = queue_notifications(MESSAGES)
    started = time.monotonic()
    kills = 0
    with SmtpSink() as sink:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "RADICADO_DATABASE_URL": database_url(),
            "RADICADO_DATA_DIR": str(tmp_path),
            "RADICADO_SMTP_URL": f"smtp://{sink.host}:{sink.port}",
        }
        workers = Workers(env, tmp_path / "workers.log")
        try:
            while kills < KILLS:
                before = len(sink.received)
                workers.start()
                # Kill at a random moment once this worker is sending: during a claim, in the SMTP
                # dialogue, between the relay's 250 and the UPDATE, or while it starts the next one.
                if not wait_until(lambda before=before: len(sink.received) > before, timeout=10, every=0.005):
                    break  # nothing left to send: this worker stays and drains
                time.sleep(rng.uniform(0, 0.08))
                workers.kill()
                kills += 1
            else:
                workers.start()  # the last one drains the outbox (rows held by killed workers after their lease)
            drained = wait_until(
                lambda: not OutboundMail.objects.exclude(status=OutboundStatus.SENT).exists(), timeout=60, every=0.2
            )
            workers.kill()
        finally:
            workers.close()
        received = Counter(message_id_of(m.raw) for m in sink.received)
    elapsed = time.monotonic() - started

    lost = [mid for mid in queued if received[mid] == 0]
    duplicates = sum(1 for mid in queued if received[mid] > 1)
    extra_copies = sum(received[mid] - 1 for mid in queued if received[mid] > 1)
    figures = {
        "backend": connection.vendor,
        "messages": MESSAGES,
        "kills": kills,
        "lost": len(lost),
        "duplicated_messages": duplicates,
        "extra_copies": extra_copies,
        "seconds": round(elapsed, 1),
        "seed": seed,
    }
    sys.stdout.write(f"outbox kill -9: {json.dumps(figures)}\n")  # shown with -s
    for name, value in figures.items():
        record_property(name, value)

    assert drained, OutboundMail.objects.exclude(status=OutboundStatus.SENT).values("id", "status", "last_error")[:5]
    assert kills >= 20, figures  # the sender was really killed mid-flight, many times
    assert lost == [], figures
    assert set(received) == set(queued)
    assert extra_copies <= kills, figures  # at most the one message in flight per kill
    statuses = Counter(OutboundMail.objects.values_list("status", flat=True))
    assert statuses == {OutboundStatus.SENT: MESSAGES}
