"""Two real Huey consumers on a real Redis share the outbound-mail queue: nothing lost, nothing sent twice.

ADR 0007 says the jobs scale out to several worker processes on Redis (``RADICADO_REDIS_URL``).
This journey runs exactly that, with nothing faked:

* a throw-away ``redis-server`` on 127.0.0.1 (free port, no persistence, its files in tmp_path);
* two ``radicado run_huey`` processes, configured only through the environment as an operator
  would (``RADICADO_REDIS_URL``, ``RADICADO_JOBS_IMMEDIATE=0``, the test's database, the SMTP
  relay in ``RADICADO_SMTP_URL``), periodic sweeps on as in production;
* a real SMTP server on loopback per consumer (SmtpSink). Each consumer gets its own relay URL,
  so the sink a message arrives at names the process that sent it: the per-process split is read
  from the wire, without adding anything to the production code for the test.

The test queues MAILS outbound mails through the real action (``outbox.queue_mail``) and commits
them, then enqueues every send job twice, back to back, so that both copies are usually taken by
different consumers at once. Then:

* every Message-ID reached the sinks exactly once (0 lost, 0 duplicates): the conditional UPDATE
  that claims a row lets only one of the two jobs send it;
* every row is ``sent``;
* every enqueued job was executed once, by one consumer (Huey's own "Executing" log lines);
* both consumers sent some of the mail.

``-s`` shows the figures.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from huey import RedisHuey

from conftest import database_url, message_id_of, notice_mail, wait_until
from radicado.channels.email.tests.servers import SmtpSink, free_port
from radicado.channels.models import OutboundMail, OutboundStatus
from radicado.channels.outbox import queue_mail
from radicado.workspaces.actions import create_workspace

ROOT = Path(__file__).resolve().parents[2]
REDIS_BINARY = "/usr/bin/redis-server"
MAILS = 100
COPIES = 2  # every send job is enqueued this many times
SEND_JOB = "radicado.channels.jobs.send_outbound"
EXECUTED = re.compile(rf"Executing {re.escape(SEND_JOB)}: ([0-9a-f-]{{32,36}})")

# The enqueuer stands in for the web process. It is configured from the environment exactly like
# one (Redis, not immediate) and calls the production task, ``send_outbound(mail_id)``, which is
# what ``transaction.on_commit`` runs after a ticket's transaction queued a mail. A child process
# is the least hacky way to get there: the test process itself runs with an immediate Huey (pytest
# sets RADICADO_JOBS_IMMEDIATE=1), and djhuey binds every task to its one Huey instance at import,
# so enqueueing onto Redis from here would mean swapping module globals behind Django's back.
ENQUEUER = r"""
import json, sys
import django
django.setup()
from huey.contrib.djhuey import HUEY
from radicado.channels.jobs import send_outbound
print(json.dumps({"huey": type(HUEY).__name__, "immediate": HUEY.immediate}), flush=True)
ids, copies = json.loads(sys.stdin.readline()), int(sys.argv[1])
for mail_id in ids:
    for _ in range(copies):  # back to back: two consumers usually pick up both copies at once
        send_outbound(mail_id)
print(len(ids) * copies, flush=True)
"""


def stop(process: subprocess.Popen[Any], sig: int | None, timeout: float = 15) -> int:
    """Send ``sig`` (None: it was sent already) and reap the child; SIGKILL if it hangs."""
    if process.poll() is None:
        if sig is not None:
            process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on 127.0.0.1 (no RDB, no AOF), stopped and forgotten after the test."""
    if not os.path.exists(REDIS_BINARY) and not os.environ.get("CI"):
        pytest.skip("redis-server is not installed (scripts/test installs it)")
    directory = tmp_path / "redis"
    directory.mkdir()
    log_path = directory / "redis.log"
    for _attempt in range(3):  # the free port may be taken before Redis binds it
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        # No RDB snapshots (--save ""), no AOF: nothing of the queue is written to disk.
        command = [REDIS_BINARY, "--bind", "127.0.0.1", "--port", str(port), "--daemonize", "no"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
        with log_path.open("ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

        def ready(client: redis.Redis = client, process: subprocess.Popen[bytes] = process) -> bool:
            if process.poll() is not None:
                return True  # exited: stop waiting
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        if wait_until(ready, timeout=10) and process.poll() is None:
            break
        client.close()
        stop(process, signal.SIGTERM)
    else:
        pytest.fail(f"redis-server did not start:\n{log_path.read_text()}")
    try:
        yield url
    finally:
        client.close()
        stop(process, signal.SIGTERM)


def queue_mails(n: int) -> dict[int, str]:
    """Queue ``n`` mails through the outbox action, committed; mail id to Message-ID."""
    now = timezone.now()
    ws = create_workspace(slug="redis", name="Redis", ticket_prefix="RD", timezone="America/Bogota", now=now)
    queued = {}
    with transaction.atomic():
        for i in range(n):
            mid, raw = notice_mail("RD", i, "soporte@redis.example.com")
            mail = queue_mail(
                workspace_id=ws.id,
                ticket_id=None,
                message_id=mid,
                mail_from="soporte@redis.example.com",
                rcpt_to=[f"cliente{i}@example.com"],
                raw=raw,
                automatic=True,
                now=now,
                event="ticket.created",
                idempotency_key=f"redis:ticket.created:{i}",
            )
            queued[mail.id] = mid
    return queued


@pytest.mark.django_db(transaction=True)
def test_two_consumers_on_redis_send_every_mail_exactly_once(
    tmp_path: Path, redis_url: str, record_property: Any
) -> None:
    started = time.monotonic()
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "RADICADO_DATABASE_URL": database_url(),
        "RADICADO_DATA_DIR": str(tmp_path),
        "RADICADO_REDIS_URL": redis_url,
        "RADICADO_JOBS_IMMEDIATE": "0",
    }
    base_env.pop("RADICADO_SMTP_URL", None)
    # The queue as the consumers see it, for its length only.
    queue = RedisHuey(settings.HUEY["name"], url=redis_url)
    processes: list[subprocess.Popen[Any]] = []
    logs: list[IO[str]] = []
    with SmtpSink() as sink_a, SmtpSink() as sink_b:
        sinks = {"a": sink_a, "b": sink_b}
        try:
            # All three Djangos start at once (seconds each on a small machine). The consumers skip
            # Django's system checks, which validate the project and change nothing they do.
            consumers = {}
            for name, sink in sinks.items():
                log = (tmp_path / f"consumer-{name}.log").open("w")
                logs.append(log)
                consumers[name] = subprocess.Popen(
                    [sys.executable, "-m", "radicado", "run_huey", "--skip-checks"],
                    cwd=ROOT,
                    env={**base_env, "RADICADO_SMTP_URL": f"smtp://{sink.host}:{sink.port}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                processes.append(consumers[name])
            enqueuer_log = (tmp_path / "enqueuer.log").open("w")
            logs.append(enqueuer_log)
            enqueuer = subprocess.Popen(
                [sys.executable, "-c", ENQUEUER, str(COPIES)],
                cwd=ROOT,
                env=base_env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=enqueuer_log,
                text=True,
            )
            processes.append(enqueuer)
            assert enqueuer.stdin is not None and enqueuer.stdout is not None
            configured = enqueuer.stdout.readline()
            assert configured, (tmp_path / "enqueuer.log").read_text()
            assert json.loads(configured) == {"huey": "RedisHuey", "immediate": False}

            def log_of(name: str) -> str:
                return (tmp_path / f"consumer-{name}.log").read_text()

            # Both consumers listen before the first job arrives, so that both can get work.
            assert wait_until(
                lambda: all("Huey consumer started" in log_of(n) or consumers[n].poll() is not None for n in sinks),
                timeout=60,
            ), {name: log_of(name)[-2000:] for name in sinks}
            for name, consumer in consumers.items():
                assert consumer.poll() is None, log_of(name)

            listening = time.monotonic()
            # Queued only now, as in production while the consumers run: the sweep each consumer runs
            # when it starts has found an empty outbox, and the jobs below do the sending (a sweep at
            # a minute boundary may still take some; the claims keep that exactly-once as well).
            queued = queue_mails(MAILS)
            enqueuer.stdin.write(json.dumps(sorted(queued)) + "\n")
            enqueuer.stdin.flush()
            enqueued = int(enqueuer.stdout.readline() or 0)
            assert enqueuer.wait(timeout=10) == 0, (tmp_path / "enqueuer.log").read_text()

            sending = time.monotonic()
            drained = wait_until(
                lambda: (
                    queue.pending_count() == 0 and not OutboundMail.objects.exclude(status=OutboundStatus.SENT).exists()
                ),
                timeout=30,
                every=0.1,
            )
            done = time.monotonic()
            # SIGINT is Huey's graceful stop: each consumer finishes the jobs it has taken.
            for consumer in consumers.values():
                consumer.send_signal(signal.SIGINT)
            exit_codes = {name: stop(consumer, None) for name, consumer in consumers.items()}
        finally:
            for process in processes:
                stop(process, signal.SIGKILL, timeout=5)
            for log in logs:
                log.close()
        received = {name: [message_id_of(m.raw) for m in sink.received] for name, sink in sinks.items()}
    elapsed = time.monotonic() - started

    executed = {name: set(EXECUTED.findall(log_of(name))) for name in sinks}
    copies = Counter(mid for mids in received.values() for mid in mids)
    expected = set(queued.values())
    figures = {
        "backend": connection.vendor,
        "mails": MAILS,
        "jobs_enqueued": enqueued,
        "jobs_executed": {name: len(ids) for name, ids in executed.items()},
        "mails_sent": {name: len(mids) for name, mids in received.items()},
        "lost": len(expected - set(copies)),
        "duplicates": sum(n - 1 for n in copies.values()),
        "seconds": round(elapsed, 1),
        "seconds_starting": round(listening - started, 1),
        "seconds_queueing": round(sending - listening, 1),
        "seconds_sending": round(done - sending, 1),
    }
    sys.stdout.write(f"redis workers: {json.dumps(figures)}\n")  # shown with -s
    for key, value in figures.items():
        record_property(key, value)

    assert drained, (figures, OutboundMail.objects.exclude(status=OutboundStatus.SENT).values("id", "last_error")[:5])
    assert exit_codes == {"a": 0, "b": 0}, {name: log_of(name)[-2000:] for name in sinks}
    assert enqueued == MAILS * COPIES
    # Every job ran, once, in one consumer (Huey's task ids are unique per enqueue).
    assert executed["a"].isdisjoint(executed["b"])
    assert len(executed["a"] | executed["b"]) == MAILS * COPIES, figures
    # Every mail reached a relay exactly once, although each was enqueued twice.
    assert figures["lost"] == 0, figures
    assert figures["duplicates"] == 0, figures
    assert set(copies) == expected, figures
    assert Counter(OutboundMail.objects.values_list("status", flat=True)) == {OutboundStatus.SENT: MAILS}
    # The work was shared: each consumer process sent some of the mail.
    assert all(received[name] for name in sinks), figures
