"""``radicado sla_sweep [--loop SECONDS]``: fire due ANS warnings, breaches and escalations.

Safe to run in several processes at once: each clock event is claimed by exactly one.
The job runner of the notifications issue will schedule it; until then, run it from
cron or with ``--loop``.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from radicado.action import guarded_call
from radicado.tickets.sla import sweep_clocks


class Command(BaseCommand):
    help = "Fire every due ANS event (warnings, breaches, escalation levels)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", type=float, default=0, help="Repeat every SECONDS (0: once).")
        parser.add_argument("--limit", type=int, default=500, help="At most this many clocks per sweep.")

    @guarded_call
    def handle(self, *args: Any, **opts: Any) -> None:
        while True:
            fired = sweep_clocks(now=timezone.now(), limit=opts["limit"])
            if fired or not opts["loop"]:
                self.stdout.write(f"{fired} eventos de ANS disparados")
            if not opts["loop"]:
                return
            time.sleep(opts["loop"])
