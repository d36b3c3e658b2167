"""``radicado demo``: prepare the embedded database with sample data and serve it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from radicado.web.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Create the database, load two sample workspaces and serve Radicado on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Only prepare the data.")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
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
        # The ANS sweep runs beside the web server until the job runner arrives;
        # it shares the terminal's process group, so Ctrl+C stops both.
        subprocess.Popen([sys.executable, "-m", "radicado", "sla_sweep", "--loop", "30"])
        os.execvp(  # noqa: S606 - replaces this process with the web server
            sys.executable,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(opts["workers"]),
                "--chdir",
                str(settings.BASE_DIR),
                "--access-logfile",
                "-",
            ],
        )


def _login_table() -> list[str]:
    from radicado.workspaces.models import Membership

    rows = Membership.objects.select_related("workspace", "user").order_by("workspace__slug", "role", "user__email")
    return [f"  {m.workspace.slug:16} {m.get_role_display():14} {m.level or '':3} {m.user.email}" for m in rows]
