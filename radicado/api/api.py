"""REST API v1 (Django Ninja): same access rules as the portal and console."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from typing import Any

from csp.decorators import csp_update
from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Router
from ninja.errors import HttpError
from ninja.params import functions as param
from ninja.responses import Status

from radicado.api import schemas as s
from radicado.api.auth import TokenAuth
from radicado.customers import actions as customer_actions
from radicado.customers.access import (
    access_contact,
    access_customer,
    contacts_visible_to,
    customers_visible_to,
)
from radicado.customers.models import Contact, Customer
from radicado.errors import NotPermitted, UserError
from radicado.tickets import actions
from radicado.tickets.access import access_ticket, tickets_visible_to
from radicado.tickets.models import Channel, Ticket
from radicado.tickets.queries import (
    LOOKUP_RELATIONS,
    QueueFilter,
    filter_tickets,
    priority_by_code,
    ticket_type_by_code,
    timeline,
)
from radicado.tickets.sla import ans_of
from radicado.tickets.terms import accept_terms
from radicado.web.helpers import client_address, now
from radicado.workspaces import actions as ws_actions
from radicado.workspaces.access import Actor, is_staff_somewhere, membership_for
from radicado.workspaces.models import ApiToken


def docs_gate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The interactive docs: for staff (signed in to the console) unless ``API_DOCS_PUBLIC``; Swagger UI
    served from the package's static files, with inline styles allowed on this page alone (it sets them)."""
    styled = csp_update({"style-src": ["'self'", "'unsafe-inline'"]})(view)

    @functools.wraps(view)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_PUBLIC and not is_staff_somewhere(request.user):
            raise Http404
        return styled(request, *args, **kwargs)  # type: ignore[return-value]

    return gated


api = NinjaAPI(
    title="Radicado API",
    version="1",
    description="Tickets, customers and contacts of one workspace. Authenticate with "
    "`Authorization: Bearer <token>`; obtain a token with POST /api/v1/auth/token.",
    auth=TokenAuth(),
    urls_namespace="api",
    docs_decorator=docs_gate,
)


@api.exception_handler(UserError)
def user_error(request: HttpRequest, exc: UserError) -> Any:
    """A request the domain refused, with its message; any other exception is a bug (a 500)."""
    return api.create_response(request, {"detail": str(exc)}, status=exc.status)


def actor_of(request: HttpRequest) -> Actor:
    actor = request.auth  # type: ignore[attr-defined]
    assert isinstance(actor, Actor)
    return actor


# Path parameters: bounded like the columns they look up (a huge number is a 422, not an overflow).
NUMBER: Any = param.Path(..., ge=1, le=s.MAX_ID, description="Ticket number")
ID: Any = param.Path(..., ge=1, le=s.MAX_ID)
PREFIX: Any = param.Path(..., max_length=16, pattern=r"^[-A-Za-z0-9_]+$")


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise HttpError(403, "Solo el equipo de soporte puede hacer esto.")


# --- auth -----------------------------------------------------------------
auth = Router(tags=["auth"])


@auth.post("/token", auth=None, response={201: s.TokenOut, **s.errors(400, 429)})
def obtain_token(request: HttpRequest, payload: s.TokenIn) -> Any:
    """Exchange an e-mail and password for a token of one workspace (throttled)."""
    try:
        user = ws_actions.sign_in(
            email=payload.email,
            password=payload.password,
            address=client_address(request),
            now=now(),
        )
        membership = membership_for(user=user, workspace_slug=payload.workspace)
    except ws_actions.LoginThrottled:
        return Status(429, {"detail": "Demasiados intentos fallidos. Espere 15 minutos."})
    except (ws_actions.InvalidCredentials, Http404):
        return Status(400, {"detail": "Credenciales o espacio de trabajo no válidos."})
    token, raw = ws_actions.issue_api_token(workspace=membership.workspace, user=user, name=payload.name, now=now())
    return Status(
        201,
        {
            "token": raw,
            "prefix": token.prefix,
            "workspace": membership.workspace.slug,
            "expires_at": token.expires_at,
        },
    )


@auth.post("/tokens", response={201: s.TokenOut, **s.errors(403)})
def issue_token(request: HttpRequest, payload: s.TokenIssueIn) -> Any:
    """Issue another token for yourself. A token is issued only to its own user (ADR 0016): naming
    anyone else in ``user_email`` is refused (403), admins included."""
    actor = actor_of(request)
    assert actor.user is not None
    email = payload.user_email.strip().lower()
    if email and email != actor.user.email:
        return Status(403, {"detail": "Un token solo se emite para su propio usuario."})
    token, raw = ws_actions.issue_api_token(
        workspace=actor.workspace, user=actor.user, name=payload.name, now=now(), actor=actor.user
    )
    return Status(
        201,
        {"token": raw, "prefix": token.prefix, "workspace": actor.workspace.slug, "expires_at": token.expires_at},
    )


@auth.get("/tokens", response={200: list[s.TokenInfo], **s.errors()})
def list_tokens(request: HttpRequest) -> Any:
    """Admins see every token of the workspace; others their own."""
    actor = actor_of(request)
    qs = ApiToken.objects.filter(workspace_id=actor.workspace.id).select_related("user").order_by("id")
    if not actor.is_admin:
        qs = qs.filter(user=actor.user)
    return [
        {
            "prefix": t.prefix,
            "name": t.name,
            "user_email": t.user.email,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
        }
        for t in qs
    ]


@auth.delete("/tokens/{prefix}", response={204: None, **s.errors(404)})
def revoke_token(request: HttpRequest, prefix: str = PREFIX) -> Any:
    """Revoke a token: admins any of the workspace, others their own."""
    actor = actor_of(request)
    qs = ApiToken.objects.filter(workspace_id=actor.workspace.id, prefix=prefix)
    if not actor.is_admin:
        qs = qs.filter(user=actor.user)
    token = qs.select_related("workspace").first()
    if token is None:
        return Status(404, {"detail": "No existe."})
    ws_actions.revoke_api_token(token=token, actor=actor.user, now=now())
    return Status(204, None)


# --- tickets --------------------------------------------------------------
tickets = Router(tags=["tickets"])


def ticket_out(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "reference": t.reference,
        "subject": t.subject,
        "type": {"code": t.type.code, "name": t.type.label},
        "priority": {"code": t.priority.code, "name": t.priority.label},
        "status": {"code": t.state.code, "name": t.state.label},
        "category": t.category,
        "channel": t.channel,
        "level": t.level,
        "customer_id": t.customer_id,
        "customer_name": t.customer.name,
        "requester_id": t.requester_id,
        "requester_name": t.requester.name,
        "assignee_id": t.assignee_id,
        "terms_pending": t.terms_pending.version if t.terms_pending else None,
        "team": t.team.code if t.team else None,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def _encode_cursor(t: Ticket) -> str:
    return base64.urlsafe_b64encode(f"{t.priority_rank}.{t.number}".encode()).decode()


_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:  # explicit local parsing of a cursor this API made
        found = _CURSOR.fullmatch(base64.urlsafe_b64decode(cursor.encode()).decode("ascii"))
    except (binascii.Error, ValueError):  # bad base64 or not ASCII (UnicodeDecodeError is a ValueError)
        found = None
    if found is None:
        raise HttpError(400, "Cursor no válido.")
    return int(found.group(1)), int(found.group(2))


@tickets.get("", response={200: s.TicketPage, **s.errors(400)})
def list_tickets(request: HttpRequest, filters: Query[s.TicketFilters]) -> Any:
    """Tickets by priority then arrival; ``status=all`` includes closed ones. Keyset cursor."""
    actor = actor_of(request)
    limit = filters.limit
    f = QueueFilter(
        status=filters.status,
        priority=filters.priority,
        type=filters.type,
        customer=filters.customer,
        assignee=filters.assignee,
        team=filters.team,
        level=filters.level,
        q=filters.q[:100],
    )
    qs = filter_tickets(tickets_visible_to(actor), f)
    if filters.cursor:
        rank, number = _decode_cursor(filters.cursor)
        # The redundant lower bound lets the index scan start at the cursor's priority.
        qs = qs.filter(Q(priority_rank__gt=rank) | Q(priority_rank=rank, number__gt=number), priority_rank__gte=rank)
    rows = list(
        qs.select_related("customer", "requester")
        .prefetch_related(*LOOKUP_RELATIONS)  # not joined: see queries.LOOKUP_RELATIONS
        .order_by("priority_rank", "number")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [ticket_out(t) for t in rows],
        "next_cursor": _encode_cursor(rows[-1]) if more and rows else None,
    }


@tickets.post("", response={201: s.TicketOut, **s.errors(400, 403, 404)})
def create(request: HttpRequest, payload: s.TicketIn) -> Any:
    """Register a ticket; customers for themselves, staff for any contact."""
    actor = actor_of(request)
    ticket_type = ticket_type_by_code(workspace_id=actor.workspace.id, code=payload.type)
    if ticket_type is None:
        return Status(400, {"detail": f"Tipo desconocido: {payload.type}"})
    priority = None
    if payload.priority:
        priority = priority_by_code(workspace_id=actor.workspace.id, code=payload.priority)
        if priority is None:
            return Status(400, {"detail": f"Prioridad desconocida: {payload.priority}"})
    contact_id = payload.requester_id or actor.contact_id
    if contact_id is None:
        return Status(400, {"detail": "requester_id es obligatorio para el equipo de soporte."})
    # Where a request came from is the support team's to say: a customer's request is an API request.
    if actor.is_customer and payload.channel not in (None, Channel.API):
        raise NotPermitted("Solo el equipo de soporte puede indicar el canal.")
    channel = Channel(payload.channel or "api")
    ticket = actions.create_ticket(
        actor=actor,
        requester=access_contact(actor=actor, contact_id=contact_id),
        ticket_type=ticket_type,
        subject=payload.subject,
        description=payload.description,
        channel=channel,
        priority=priority,
        urgency=payload.urgency,
        impact=payload.impact,
        now=now(),
    )
    return Status(201, ticket_out(ticket))  # as registered: its type, priority, state and people are in hand


@tickets.get("/{number}", response={200: s.TicketDetail, **s.errors(404)})
def get_ticket(request: HttpRequest, number: int = NUMBER) -> Any:
    actor = actor_of(request)
    ticket = access_ticket(actor=actor, number=number)
    messages, events = [], []
    for entry in timeline(actor=actor, ticket=ticket):
        e = entry.event
        if e.reply_id and e.reply:
            messages.append(
                {
                    "kind": "reply",
                    "author": e.reply.author_name,
                    "by_customer": e.reply.by_customer,
                    "body": e.reply.body,
                    "created_at": e.created_at,
                }
            )
        elif e.note_id and e.note:
            messages.append(
                {
                    "kind": "note",
                    "author": e.note.author_name,
                    "by_customer": False,
                    "body": e.note.body,
                    "created_at": e.created_at,
                }
            )
        events.append(
            {
                "kind": e.kind,
                "actor": e.actor_name,
                "from_value": e.from_value,
                "to_value": e.to_value,
                "created_at": e.created_at,
            }
        )
    ans = ans_of(ticket, now=now())
    clocks = [
        {
            "kind": c.kind,
            "state": c.state,
            "due_at": c.due_at,
            "remaining_minutes": int(c.remaining.total_seconds() // 60),
            "completed_at": c.completed_at,
            "paused": c.paused,
            "target": c.target,
            "calendar": c.calendar_name,
            "explanation": c.explanation,
        }
        for c in ans.clocks
    ]
    return {
        **ticket_out(ticket),
        "description": ticket.description,
        "ans_in_arrears": ans.in_arrears,
        "clocks": clocks,
        "messages": messages,
        "events": events,
    }


@tickets.post("/{number}/replies", response={201: s.MessageOut, **s.errors(400, 403, 404, 409)})
def reply(request: HttpRequest, payload: s.BodyIn, number: int = NUMBER) -> Any:
    actor = actor_of(request)
    r = actions.add_reply(
        actor=actor,
        ticket=access_ticket(actor=actor, number=number),
        body=payload.body,
        now=now(),
    )
    return Status(
        201,
        {
            "kind": "reply",
            "author": r.author_name,
            "by_customer": r.by_customer,
            "body": r.body,
            "created_at": r.created_at,
        },
    )


@tickets.post("/{number}/notes", response={201: s.MessageOut, **s.errors(400, 403, 404, 409)})
def note(request: HttpRequest, payload: s.BodyIn, number: int = NUMBER) -> Any:
    actor = actor_of(request)
    ticket = access_ticket(actor=actor, number=number)
    n = actions.add_note(actor=actor, ticket=ticket, body=payload.body, now=now())
    return Status(
        201,
        {
            "kind": "note",
            "author": n.author_name,
            "by_customer": False,
            "body": n.body,
            "created_at": n.created_at,
        },
    )


@tickets.post("/{number}/transition", response={200: s.TicketOut, **s.errors(400, 403, 404, 409)})
def transition(request: HttpRequest, payload: s.TransitionIn, number: int = NUMBER) -> Any:
    actor = actor_of(request)
    ticket = access_ticket(actor=actor, number=number)
    actions.transition_ticket(actor=actor, ticket=ticket, to_state=payload.to, now=now())
    return Status(200, ticket_out(access_ticket(actor=actor, number=number)))


@tickets.post("/{number}/terms/accept", response={200: s.TicketOut, **s.errors(400, 403, 404, 409)})
def accept_ticket_terms(request: HttpRequest, number: int = NUMBER) -> Any:
    """The customer accepts the terms of attention posted on the ticket (H2)."""
    actor = actor_of(request)
    ticket = access_ticket(actor=actor, number=number)
    accept_terms(actor=actor, ticket=ticket, now=now())  # a TermsError is a UserError: its status
    return Status(200, ticket_out(access_ticket(actor=actor, number=number)))


# --- customers and contacts -----------------------------------------------
customers = Router(tags=["customers"])


def customer_out(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "code": c.code,
        "name": c.name,
        "tier": c.tier,
        "standing": c.standing,
        "contract_value": str(c.contract_value) if c.contract_value is not None else None,
        "currency": c.currency,
    }


def contact_out(c: Contact) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "name": c.name,
        "email": c.email,
        "phone": c.phone,
    }


@customers.get("/customers", response={200: list[s.CustomerOut], **s.errors()})
def list_customers(request: HttpRequest) -> Any:
    return [customer_out(c) for c in customers_visible_to(actor_of(request)).order_by("name")[:500]]


@customers.get("/customers/{customer_id}", response={200: s.CustomerOut, **s.errors(404)})
def get_customer(request: HttpRequest, customer_id: int = ID) -> Any:
    return customer_out(access_customer(actor=actor_of(request), customer_id=customer_id))


@customers.post("/customers", response={201: s.CustomerOut, **s.errors(400, 403)})
def create_customer(request: HttpRequest, payload: s.CustomerIn) -> Any:
    actor = actor_of(request)
    _require_staff(actor)
    if Customer.objects.filter(workspace_id=actor.workspace.id, code=payload.code).exists():
        return Status(400, {"detail": f"Ya existe un cliente con el código {payload.code}."})
    c = customer_actions.create_customer(
        workspace=actor.workspace,
        code=payload.code,
        name=payload.name,
        contract_value=payload.contract_value,
        currency=payload.currency,
        now=now(),
        actor=actor.user,
    )
    return Status(201, customer_out(c))


@customers.get("/contacts", response={200: list[s.ContactOut], **s.errors()})
def list_contacts(request: HttpRequest, customer_id: int | None = param.Query(None, ge=1, le=s.MAX_ID)) -> Any:
    qs = contacts_visible_to(actor_of(request))
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return [contact_out(c) for c in qs.order_by("name")[:500]]


@customers.get("/contacts/{contact_id}", response={200: s.ContactOut, **s.errors(404)})
def get_contact(request: HttpRequest, contact_id: int = ID) -> Any:
    return contact_out(access_contact(actor=actor_of(request), contact_id=contact_id))


@customers.post("/contacts", response={201: s.ContactOut, **s.errors(403, 404)})
def create_contact(request: HttpRequest, payload: s.ContactIn) -> Any:
    actor = actor_of(request)
    _require_staff(actor)
    customer = access_customer(actor=actor, customer_id=payload.customer_id)
    c = customer_actions.create_contact(
        customer=customer,
        name=payload.name,
        email=payload.email,
        phone=payload.phone,
        now=now(),
        actor=actor.user,
    )
    return Status(201, contact_out(c))


api.add_router("/auth", auth)
api.add_router("/tickets", tickets)
api.add_router("/", customers)
