"""Which ANS applies: calendars, tiers (T1/T2), the priority matrix (I5), target selection."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from radicado.action import cached
from radicado.businesstime import Calendar
from radicado.errors import UserError
from radicado.sla.models import BusinessCalendar, PriorityMatrix, SmlmvRate, Target, TargetKind, Tier


@dataclass(frozen=True)
class TicketFacts:
    """What the ANS rules need to know about a ticket, as stable codes (no models)."""

    workspace_id: int
    ticket_id: int
    created_at: dt.datetime
    category: str
    ticket_type: str
    priority: str
    channel: str
    customer_code: str
    contract_value: Decimal | None
    in_arrears: bool
    catalog_item: str = ""


class PriorityNotAllowed(UserError):
    """The customer's tier does not use this priority (T2)."""


_compiled: dict[tuple[int, int], tuple[dict[str, Any], Calendar]] = {}
_compiled_lock = threading.Lock()


def compiled(calendar: BusinessCalendar) -> Calendar:
    """The compiled businesstime Calendar of a row, cached per (id, version).

    The cached spec is compared too, so a reused id (SQLite may reuse the id of a
    deleted row) can never serve another calendar's compiled index.
    """
    key = (calendar.id, calendar.version)
    found = _compiled.get(key)
    if found is None or found[0] != calendar.spec:
        found = (calendar.spec, Calendar.from_json(calendar.spec))
        with _compiled_lock:
            _compiled[key] = found
    return found[1]


def smlmv(year: int) -> Decimal | None:
    """The SMLMV of a year, or of the latest year known before it."""
    rate = _smlmv_rate(year)
    return rate.value if rate else None


@cached
def _smlmv_rate(year: int) -> SmlmvRate | None:
    return SmlmvRate.objects.filter(year__lte=year).order_by("-year").first()


@cached
def _tiers(workspace_id: int) -> list[Tier]:
    return list(Tier.objects.filter(workspace_id=workspace_id))


@cached
def _targets(workspace_id: int) -> list[Target]:
    return list(
        Target.objects.filter(workspace_id=workspace_id)
        .select_related("policy", "calendar")
        .order_by("policy__order", "policy_id", "order", "id")
    )


def tier_for(*, workspace_id: int, contract_value: Decimal | None, on: dt.date) -> Tier | None:
    """The customer's tier (T1) from its monthly contract value in SMLMV of ``on``'s year."""
    tiers = _tiers(workspace_id)
    if not tiers:
        return None
    if not contract_value:
        return next((t for t in tiers if t.for_no_contract), None)
    wage = smlmv(on.year)
    if not wage:
        return None
    multiple = contract_value / wage
    eligible = [t for t in tiers if not t.for_no_contract and (t.above_smlmv is None or multiple > t.above_smlmv)]
    return max(eligible, key=lambda t: t.above_smlmv or Decimal(-1), default=None)


def check_priority(tier: Tier | None, priority_code: str) -> None:
    """Raise PriorityNotAllowed when the tier limits priorities and this is not one (T2)."""
    if tier is not None and tier.allowed_priorities and priority_code not in tier.allowed_priorities:
        raise PriorityNotAllowed(
            _("Customers of tier %(tier)s cannot use priority %(priority)s.")
            % {"tier": tier.name_es, "priority": priority_code}
        )


def priority_from_matrix(*, workspace_id: int, urgency: str, impact: str) -> str | None:
    """The priority code for urgency x impact (I5), or None without a matrix or a cell."""
    matrix = PriorityMatrix.objects.filter(workspace_id=workspace_id).first()
    if matrix is None:
        return None
    value = matrix.cells.get(urgency, {}).get(impact)
    return str(value) if value else None


def _matches(target: Target, facts: TicketFacts, tier_code: str) -> bool:
    wanted = (
        (target.tier, tier_code),
        (target.customer, facts.customer_code),
        (target.ticket_type, facts.ticket_type),
        (target.priority, facts.priority),
        (target.catalog_item, facts.catalog_item),
        (target.channel, facts.channel),
    )
    return all(not rule or rule == value for rule, value in wanted)


def select_targets(facts: TicketFacts, tier_code: str) -> dict[str, Target]:
    """The first matching target of each kind, in policy order then target order."""
    chosen: dict[str, Target] = {}
    targets = _targets(facts.workspace_id)
    for target in targets:
        if target.kind not in chosen and _matches(target, facts, tier_code):
            chosen[target.kind] = target
    return {k: chosen[k] for k in TargetKind.values if k in chosen}
