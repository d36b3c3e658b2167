"""``radicado demo``: prepare the embedded database with sample data and serve it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from radicado.action import guarded
from radicado.web.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Create the database, load two sample workspaces and serve Radicado on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Only prepare the data.")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)  # schema work, not a domain write
        with guarded():
            logins = load_demo(now=timezone.now())
        if logins is None:
            self.stdout.write("Los datos de demostración ya estaban cargados.")
        else:
            self.stdout.write("Espacios de trabajo de demostración cargados.")
        self.stdout.write(f"Contraseña de todos los usuarios de demostración: {DEMO_PASSWORD}")
        for line in _login_table():
            self.stdout.write(line)
        if opts["no_serve"]:
            return
        port = opts["port"]
        self.stdout.write(f"Radicado en http://127.0.0.1:{port}/  (Ctrl+C para detener)")
        sys.stdout.flush()
        # The job consumer (periodic sweeps, mail) runs beside the web server, and both stop
        # together on Ctrl+C or SIGTERM.
        serve(port=port, workers=opts["workers"])


def serve(*, port: int, workers: int) -> None:
    """Run gunicorn and the Huey consumer as children; stop both when either ends or on a signal."""
    children = [
        subprocess.Popen([sys.executable, "-m", "radicado", "run_huey", "--quiet"]),
        subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--chdir",
                str(settings.BASE_DIR),
                "--access-logfile",
                "-",
            ]
        ),
    ]

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _login_table() -> list[str]:
    from radicado.workspaces.models import Membership

    rows = Membership.objects.select_related("workspace", "user").order_by("workspace__slug", "role", "user__email")
    return [f"  {m.workspace.slug:16} {m.get_role_display():14} {m.level or '':3} {m.user.email}" for m in rows]
