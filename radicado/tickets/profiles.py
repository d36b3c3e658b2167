"""Load declarative workspace profiles (``profiles/*.json``) and install them.

A profile may ``extend`` another: its top-level keys replace the parent's. The
ticket setup (priorities, workflows, types) and the ANS (``sla``) are installed in
one transaction, after both have been validated.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings

from radicado.action import action
from radicado.errors import UserError
from radicado.notifications.actions import RuleError, install_rules
from radicado.sla.setup import install_sla_setup, validate_sla
from radicado.tickets.terms import publish_terms
from radicado.tickets.workflows import install_ticket_setup
from radicado.workspaces.models import Workspace

PROFILES_DIR = Path(settings.BASE_DIR) / "profiles"


class ProfileError(UserError):
    pass


def load_profile(name: str, *, directory: Path = PROFILES_DIR, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a profile by name, resolving ``extends``; raise ProfileError if missing or cyclic."""
    if name in _seen:
        raise ProfileError(f"profile {name!r} extends itself through {' -> '.join(_seen)}")
    path = directory / f"{name}.json"
    if not path.is_file():
        raise ProfileError(f"no profile named {name!r} in {directory}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    parent = data.pop("extends", None)
    if parent:
        return {**load_profile(parent, directory=directory, _seen=(*_seen, name)), **data}
    return data


def _check_codes(profile: dict[str, Any]) -> None:
    """ANS rules name priorities and types by code: every code must exist in the profile."""
    sla = profile.get("sla", {})
    priorities = {p["code"] for p in profile.get("priorities", [])}
    types = {t["code"] for t in profile.get("types", [])}
    for urgency, row in sla.get("priority_matrix", {}).get("cells", {}).items():
        for impact, code in row.items():
            if code not in priorities:
                raise ProfileError(f"sla.priority_matrix.cells.{urgency}.{impact}: unknown priority {code!r}")
    for p_code, policy in sla.get("policies", {}).items():
        for i, target in enumerate(policy.get("targets", [])):
            match = target.get("match", {})
            where = f"sla.policies.{p_code}.targets[{i}]"
            if match.get("priority") and match["priority"] not in priorities:
                raise ProfileError(f"{where}: unknown priority {match['priority']!r}")
            if match.get("ticket_type") and match["ticket_type"] not in types:
                raise ProfileError(f"{where}: unknown ticket type {match['ticket_type']!r}")
    calendars = set(sla.get("calendars", {}))
    for wf_code, workflow in profile.get("workflows", {}).items():
        for state in workflow.get("states", []):
            calendar = (state.get("auto") or {}).get("calendar")
            if calendar and calendar not in calendars:
                raise ProfileError(f"workflows.{wf_code}.{state['code']}.auto.calendar: unknown calendar {calendar!r}")
    for code, tier in sla.get("tiers", {}).items():
        unknown = set(tier.get("allowed_priorities", [])) - priorities
        if unknown:
            raise ProfileError(f"sla.tiers.{code}: unknown priorities {sorted(unknown)}")


@action
def install_profile(*, workspace: Workspace, profile: dict[str, Any], now: dt.datetime) -> None:
    """Install a loaded profile's ticket setup and ANS into an empty workspace."""
    validate_sla(profile.get("sla", {}))
    _check_codes(profile)
    install_ticket_setup(workspace=workspace, spec=profile, now=now)
    if "terms" in profile:
        publish_terms(
            workspace=workspace,
            text_es=profile["terms"]["text_es"],
            text_en=profile["terms"].get("text_en", ""),
            now=now,
        )
    if "sla" in profile:
        install_sla_setup(workspace=workspace, spec=profile["sla"], now=now)
    try:
        install_rules(workspace=workspace, specs=profile.get("notifications"), now=now)
    except RuleError as exc:
        raise ProfileError(str(exc)) from exc
