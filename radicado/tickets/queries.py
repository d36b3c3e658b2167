"""Reads for interfaces: the queue, the timeline, the choices of a workspace.

Every function takes a queryset already scoped by ``radicado.tickets.access``
or the actor's workspace, and runs a fixed number of queries whatever the size.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from radicado.tickets.models import (
    ACTIVE_CATEGORIES,
    Attachment,
    Priority,
    Ticket,
    TicketEvent,
    TicketType,
    WorkflowState,
)
from radicado.workspaces.access import Actor
from radicado.workspaces.models import Membership, Team

# A ticket number in a search: ASCII digits that fit the column (int() also reads "١٢"; "²".isdigit()).
_TICKET_NUMBER = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class QueueFilter:
    """Queue filters as stable codes and ids; empty means "any"."""

    status: str = ""  # a state code, or "active" / "all"
    category: str = ""
    priority: str = ""
    type: str = ""
    customer: int | None = None
    assignee: int | None = None  # a membership id; 0 means unassigned
    team: str = ""
    level: str = ""
    q: str = ""


QUEUE_FIELDS = (
    "id",
    "number",
    "subject",
    "category",
    "channel",
    "level",
    "created_at",
    "updated_at",
    "priority_rank",
    "workspace_id",
    "type_id",
    "priority_id",
    "state_id",
    "team_id",
    "terms_pending_id",
    "customer__name",
    "requester__name",
    "assignee__user__name",
)
# A workspace's small lookup rows are fetched with one short query each instead of
# being joined: PostgreSQL spends ~30 ms planning a ten-table join on every request
# (for ~1 ms of execution), and a five-table join plans in ~1 ms. The query count
# stays fixed whatever the page size (benchmarks/web/README.md).
LOOKUP_RELATIONS = ("workspace", "type", "priority", "state", "team", "terms_pending")


def filter_tickets(qs: QuerySet[Ticket], f: QueueFilter) -> QuerySet[Ticket]:
    """Apply queue filters to an access-scoped queryset."""
    if f.status in ("", "active"):
        qs = qs.filter(category__in=ACTIVE_CATEGORIES)
    elif f.status != "all":
        qs = qs.filter(state__code=f.status)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.priority:
        qs = qs.filter(priority__code=f.priority)
    if f.type:
        qs = qs.filter(type__code=f.type)
    if f.customer:
        qs = qs.filter(customer_id=f.customer)
    if f.assignee is not None:
        qs = qs.filter(assignee__isnull=True) if f.assignee == 0 else qs.filter(assignee_id=f.assignee)
    if f.team:
        qs = qs.filter(team__code=f.team)
    if f.level:
        qs = qs.filter(level=f.level)
    if f.q:
        term = f.q.strip()
        number = term.rsplit("-", 1)[-1].lstrip("#")
        cond = Q(subject__icontains=term)
        if _TICKET_NUMBER.fullmatch(number):  # ASCII digits only ("²".isdigit()), never past the column
            cond |= Q(number=int(number))
        qs = qs.filter(cond)
    return qs


def queue_page(qs: QuerySet[Ticket], f: QueueFilter, *, limit: int = 50, offset: int = 0) -> list[Ticket]:
    """One page of the queue: by priority, then order of arrival (T9); a fixed number of queries."""
    rows = (
        filter_tickets(qs, f)
        .select_related("customer", "requester", "assignee__user")
        .prefetch_related(*LOOKUP_RELATIONS)
        .only(*QUEUE_FIELDS)
        .order_by("priority_rank", "number")[offset : offset + limit + 1]
    )
    return list(rows)


def requests_of(qs: QuerySet[Ticket], *, active_only: bool, limit: int = 100) -> list[Ticket]:
    """A customer's requests, newest first, for the portal home."""
    if active_only:
        qs = qs.filter(category__in=ACTIVE_CATEGORIES)
    return list(qs.select_related("workspace", "type", "state", "requester", "priority").order_by("-number")[:limit])


@dataclass
class TimelineEntry:
    event: TicketEvent
    attachments: list[Attachment] = field(default_factory=list)


def timeline(*, actor: Actor, ticket: Ticket) -> list[TimelineEntry]:
    """The ticket's history as the actor may see it, oldest first; three queries."""
    events = TicketEvent.objects.filter(ticket_id=ticket.id).select_related("reply", "note")
    files = Attachment.objects.filter(ticket_id=ticket.id)
    if not actor.is_staff:
        events = events.filter(is_public=True)
        files = files.filter(note__isnull=True)
    by_parent: dict[tuple[str, int | None], list[Attachment]] = defaultdict(list)
    for a in files.order_by("id"):
        parent: tuple[str, int | None] = (
            ("reply", a.reply_id) if a.reply_id else ("note", a.note_id) if a.note_id else ("ticket", None)
        )
        by_parent[parent].append(a)
    entries = []
    for e in events.order_by("created_at", "id"):
        key: tuple[str, int | None]
        if e.reply_id:
            key = ("reply", e.reply_id)
        elif e.note_id:
            key = ("note", e.note_id)
        elif e.kind == "created":
            key = ("ticket", None)
        else:
            key = ("none", None)
        entries.append(TimelineEntry(event=e, attachments=by_parent.get(key, [])))
    return entries


@dataclass(frozen=True)
class WorkspaceChoices:
    types: list[TicketType]
    priorities: list[Priority]
    states: list[WorkflowState]
    agents: list[Membership]
    teams: list[Team]

    def labels(self) -> dict[str, str]:
        """Labels by ``field:code`` for rendering stored codes in the timeline."""
        out = {f"state:{s.code}": s.label for s in self.states}
        out.update({f"priority:{p.code}": p.label for p in self.priorities})
        out.update({f"type:{t.code}": t.label for t in self.types})
        out.update({f"team:{t.code}": t.name for t in self.teams})
        out.update({f"assignee:{m.id}": m.user.name for m in self.agents})
        return out


def ticket_type_by_code(*, workspace_id: int, code: str) -> TicketType | None:
    """One request type of the workspace by its code (an API payload names it)."""
    return TicketType.objects.filter(workspace_id=workspace_id, code=code).first()


def priority_by_code(*, workspace_id: int, code: str) -> Priority | None:
    """One priority of the workspace by its code."""
    return Priority.objects.filter(workspace_id=workspace_id, code=code).first()


def workspace_choices(*, workspace_id: int) -> WorkspaceChoices:
    """Everything a filter bar or a field editor offers, in five small queries."""
    states = list(WorkflowState.objects.filter(workspace_id=workspace_id).order_by("order", "id"))
    unique_states: dict[str, WorkflowState] = {}
    for s in states:
        unique_states.setdefault(s.code, s)
    return WorkspaceChoices(
        types=list(TicketType.objects.filter(workspace_id=workspace_id)),
        priorities=list(Priority.objects.filter(workspace_id=workspace_id)),
        states=list(unique_states.values()),
        agents=list(
            Membership.objects.filter(
                workspace_id=workspace_id, is_active=True, role__in=["agent", "supervisor", "admin"]
            )
            .select_related("user")
            .order_by("user__name")
        ),
        teams=list(Team.objects.filter(workspace_id=workspace_id).order_by("name")),
    )
