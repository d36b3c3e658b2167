"""Install a workspace's ticket setup (priorities, workflows, types) from a profile.

A profile is declarative data (see ``profiles/*.json``): organisations change
their workflows by editing data, never code. The spec is validated as a whole
before anything is written, and errors name the offending entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from radicado.action import action
from radicado.errors import UserError
from radicado.tickets.models import (
    TERMINAL_CATEGORIES,
    Category,
    Priority,
    TicketType,
    Workflow,
    WorkflowState,
    WorkflowTransition,
)
from radicado.workspaces.actions import audit
from radicado.workspaces.models import Role, Workspace


class WorkflowSpecError(UserError):
    """The ticket setup in a profile is inconsistent; the message says where."""


ROLE_CODES = {r.value for r in Role}


def _expand_roles(roles: list[str], groups: dict[str, list[str]], where: str) -> list[str]:
    out: list[str] = []
    for r in roles:
        expanded = groups.get(r, [r])
        for code in expanded:
            if code not in ROLE_CODES:
                raise WorkflowSpecError(f"{where}: unknown role {code!r}")
            if code not in out:
                out.append(code)
    return out


def validate_workflow(code: str, spec: dict[str, Any]) -> None:
    """Raise WorkflowSpecError unless the workflow is well formed."""
    states = spec.get("states") or []
    codes = [s["code"] for s in states]
    if len(set(codes)) != len(codes):
        raise WorkflowSpecError(f"workflows.{code}: duplicate state codes")
    if sum(1 for s in states if s.get("initial")) != 1:
        raise WorkflowSpecError(f"workflows.{code}: exactly one state must be initial")
    categories = {c.value for c in Category}
    by_code = {s["code"]: s for s in states}
    for s in states:
        if s.get("category") not in categories:
            raise WorkflowSpecError(f"workflows.{code}.{s['code']}: unknown category {s.get('category')!r}")
        for auto in ("on_customer_reply", "on_agent_reply"):
            if s.get(auto) and s[auto] not in by_code:
                raise WorkflowSpecError(f"workflows.{code}.{s['code']}.{auto}: unknown state {s[auto]!r}")
        _validate_auto(f"workflows.{code}.{s['code']}.auto", s.get("auto"), by_code)
    for i, t in enumerate(spec.get("transitions") or []):
        where = f"workflows.{code}.transitions[{i}]"
        for frm in t["from"]:
            if frm not in by_code or t["to"] not in by_code:
                raise WorkflowSpecError(f"{where}: unknown state")
            if by_code[frm]["category"] in TERMINAL_CATEGORIES:
                raise WorkflowSpecError(f"{where}: {frm!r} is terminal; nothing leaves it")


AUTO_UNITS = ("minutes", "hours", "days", "calendar_minutes", "calendar_hours")


def _validate_auto(where: str, auto: dict[str, Any] | None, states: dict[str, Any]) -> None:
    if not auto:
        return
    if auto.get("to") not in states:
        raise WorkflowSpecError(f"{where}.to: unknown state {auto.get('to')!r}")
    if auto.get("unit") not in AUTO_UNITS:
        raise WorkflowSpecError(f"{where}.unit: use one of {', '.join(AUTO_UNITS)}")
    if not float(auto.get("after", 0)) > 0:
        raise WorkflowSpecError(f"{where}.after: must be a positive amount")
    if not str(auto["unit"]).startswith("calendar_") and not auto.get("calendar"):
        raise WorkflowSpecError(f"{where}.calendar: business time needs a calendar")


@action
def install_ticket_setup(*, workspace: Workspace, spec: dict[str, Any], now: dt.datetime) -> None:
    """Create the priorities, workflows and ticket types a profile declares."""
    for code, wf in spec["workflows"].items():
        validate_workflow(code, wf)
    for p in spec["priorities"]:
        Priority.objects.create(
            workspace=workspace,
            code=p["code"],
            name_es=p["name_es"],
            name_en=p.get("name_en", ""),
            rank=p["rank"],
            is_default=p.get("default", False),
        )
    workflows = {code: _install_workflow(workspace, code, wf) for code, wf in spec["workflows"].items()}
    for order, t in enumerate(spec["types"]):
        if t["workflow"] not in workflows:
            raise WorkflowSpecError(f"types.{t['code']}: unknown workflow {t['workflow']!r}")
        TicketType.objects.create(
            workspace=workspace,
            code=t["code"],
            name_es=t["name_es"],
            name_en=t.get("name_en", ""),
            workflow=workflows[t["workflow"]],
            in_portal=t.get("in_portal", True),
            requires_terms=t.get("requires_terms", False),
            order=order,
        )
    audit(
        workspace=workspace,
        actor=None,
        action="tickets.setup_installed",
        target="profile",
        now=now,
        data={"workflows": sorted(workflows), "types": [t["code"] for t in spec["types"]]},
    )


def _install_workflow(workspace: Workspace, code: str, spec: dict[str, Any]) -> Workflow:
    wf = Workflow.objects.create(workspace=workspace, code=code, name=spec.get("name", code))
    states = {}
    for order, s in enumerate(spec["states"]):
        states[s["code"]] = WorkflowState.objects.create(
            workspace=workspace,
            workflow=wf,
            code=s["code"],
            name_es=s["name_es"],
            name_en=s.get("name_en", ""),
            category=s["category"],
            is_initial=s.get("initial", False),
            order=order,
            on_customer_reply=s.get("on_customer_reply", ""),
            on_agent_reply=s.get("on_agent_reply", ""),
            auto_to=(s.get("auto") or {}).get("to", ""),
            auto_after=(s.get("auto") or {}).get("after"),
            auto_unit=(s.get("auto") or {}).get("unit", ""),
            auto_calendar=(s.get("auto") or {}).get("calendar", ""),
        )
    groups = spec.get("roles", {})
    pairs: dict[tuple[str, str], list[str]] = {}
    for i, t in enumerate(spec.get("transitions") or []):
        roles = _expand_roles(t["roles"], groups, f"workflows.{code}.transitions[{i}]")
        for frm in t["from"]:
            merged = pairs.setdefault((frm, t["to"]), [])
            merged.extend(r for r in roles if r not in merged)
    WorkflowTransition.objects.bulk_create(
        WorkflowTransition(
            workspace=workspace,
            workflow=wf,
            from_state=states[frm],
            to_state=states[to],
            name_es=states[to].name_es,
            name_en=states[to].name_en,
            allowed_roles=roles,
        )
        for (frm, to), roles in pairs.items()
    )
    return wf
