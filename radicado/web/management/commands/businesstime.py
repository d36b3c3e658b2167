"""``radicado businesstime deadline|elapsed --calendar FILE``: JSON lines in, JSON lines out."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radicado.businesstime.cli import run


class Command(BaseCommand):
    help = (
        "Business-time arithmetic on a calendar file: `deadline` reads {start, minutes} lines, "
        "`elapsed` reads {start, end} lines; one JSON answer per line."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query", nargs=argparse.REMAINDER, help="deadline|elapsed --calendar FILE")

    def handle(self, *args: Any, **opts: Any) -> None:
        status = run(list(opts["query"]), sys.stdin, sys.stdout)
        if status:
            raise CommandError(f"exit status {status}", returncode=status)
