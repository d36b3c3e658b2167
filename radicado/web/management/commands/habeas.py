"""``radicado habeas export|anonymise --workspace SLUG --email E [--out FILE.zip]``: habeas data (Ley 1581).

``export`` writes everything about the person in the workspace (``datos.json`` and their files) to a zip;
``anonymise`` replaces their name, e-mail and phone everywhere in the workspace and disables their user
(``--yes`` is required: it cannot be undone). Both are audited. See docs/subsystems/habeas-data.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from radicado.action import guarded_call
from radicado.tickets.habeas import PersonNotFound, anonymise_person, export_person
from radicado.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Habeas data: export a person's data as a zip, or anonymise the person."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("operation", choices=["export", "anonymise"])
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--email", required=True, help="The person's e-mail.")
        parser.add_argument("--out", help="The zip to write (export).")
        parser.add_argument("--yes", action="store_true", help="Confirm anonymisation (cannot be undone).")

    @guarded_call
    def handle(self, *args: Any, **opts: Any) -> None:
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No existe el espacio de trabajo {opts['workspace']!r}.")
        try:
            if opts["operation"] == "export":
                if not opts["out"]:
                    raise CommandError("Indique --out ARCHIVO.zip.")
                data = export_person(workspace=workspace, email=opts["email"], actor=None, now=timezone.now())
                Path(opts["out"]).write_bytes(data)
                self.stdout.write(f"{opts['out']}: {len(data)} bytes")
            else:
                if not opts["yes"]:
                    raise CommandError("La anonimización no se puede deshacer: confirme con --yes.")
                name = anonymise_person(workspace=workspace, email=opts["email"], actor=None, now=timezone.now())
                self.stdout.write(f"Anonimizada: {name}")
        except PersonNotFound as exc:
            raise CommandError(str(exc)) from None
