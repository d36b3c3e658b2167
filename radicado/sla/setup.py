"""Install a workspace's ANS configuration from the ``sla`` section of a profile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from radicado.action import action
from radicado.businesstime import Calendar, CalendarError
from radicado.errors import UserError
from radicado.sla.models import BusinessCalendar, Policy, PriorityMatrix, Target, TargetKind, TargetUnit, Tier
from radicado.workspaces.actions import audit
from radicado.workspaces.models import Workspace

TARGET_MATCH_FIELDS = ("tier", "customer", "ticket_type", "priority", "catalog_item", "channel")


class SlaSpecError(UserError):
    """The ANS section of a profile is inconsistent; the message names the entry."""


def validate_sla(spec: dict[str, Any]) -> None:
    """Raise SlaSpecError unless every calendar parses and every target is coherent."""
    calendars = spec.get("calendars", {})
    for code, cal in calendars.items():
        try:
            Calendar.from_json(cal["calendar"])
        except (CalendarError, KeyError) as exc:
            raise SlaSpecError(f"sla.calendars.{code}: {exc}") from exc
    for p_code, policy in spec.get("policies", {}).items():
        for i, t in enumerate(policy.get("targets", [])):
            where = f"sla.policies.{p_code}.targets[{i}]"
            if t.get("kind") not in TargetKind.values:
                raise SlaSpecError(f"{where}: unknown kind {t.get('kind')!r}")
            if t.get("unit") not in TargetUnit.values:
                raise SlaSpecError(f"{where}: unknown unit {t.get('unit')!r}")
            if t.get("calendar") not in calendars:
                raise SlaSpecError(f"{where}: unknown calendar {t.get('calendar')!r}")
            if t["unit"] == TargetUnit.DAYS and t.get("pause_categories"):
                raise SlaSpecError(f"{where}: business-day terms cannot be paused")
            if not Decimal(str(t.get("amount", 0))) > 0:
                raise SlaSpecError(f"{where}: amount must be positive")
            unknown = set(t.get("match", {})) - set(TARGET_MATCH_FIELDS)
            if unknown:
                raise SlaSpecError(f"{where}: unknown match fields {sorted(unknown)}")


@action
def install_sla_setup(*, workspace: Workspace, spec: dict[str, Any], now: dt.datetime) -> None:
    """Create calendars, tiers, the priority matrix and policies declared in ``spec``."""
    validate_sla(spec)
    calendars = {
        code: BusinessCalendar.objects.create(
            workspace=workspace, code=code, name=c.get("name", code), spec=c["calendar"]
        )
        for code, c in spec.get("calendars", {}).items()
    }
    for code, t in spec.get("tiers", {}).items():
        above = t.get("above_smlmv")
        Tier.objects.create(
            workspace=workspace,
            code=code,
            name_es=t["name_es"],
            name_en=t.get("name_en", ""),
            above_smlmv=Decimal(str(above)) if above is not None else None,
            for_no_contract=t.get("for_no_contract", False),
            allowed_priorities=t.get("allowed_priorities", []),
        )
    if "priority_matrix" in spec:
        m = spec["priority_matrix"]
        PriorityMatrix.objects.create(
            workspace=workspace, urgencies=m["urgencies"], impacts=m["impacts"], cells=m["cells"]
        )
    for order, (p_code, p) in enumerate(spec.get("policies", {}).items()):
        policy = Policy.objects.create(workspace=workspace, code=p_code, name=p.get("name", p_code), order=order)
        for t_order, t in enumerate(p.get("targets", [])):
            Target.objects.create(
                workspace=workspace,
                policy=policy,
                order=t_order,
                kind=t["kind"],
                amount=Decimal(str(t["amount"])),
                unit=t["unit"],
                calendar=calendars[t["calendar"]],
                pause_categories=t.get("pause_categories", []),
                warn_percent=t.get("warn_percent"),
                escalations=t.get("escalations", []),
                **{f: t.get("match", {}).get(f, "") for f in TARGET_MATCH_FIELDS},
            )
    audit(
        workspace=workspace,
        actor=None,
        action="sla.setup_installed",
        target="profile",
        now=now,
        data={"calendars": sorted(calendars), "policies": sorted(spec.get("policies", {}))},
    )
