"""The ``radicado`` command: Django's management commands under one name."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run a management command, e.g. ``radicado demo`` or ``radicado migrate``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["radicado", *sys.argv[1:]])
