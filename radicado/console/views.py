"""The agent console: the queue, the ticket view and its edits, phone intake."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from radicado.channels.actions import NotRetryable, OutboundNotFound, retry_outbound
from radicado.channels.queries import CHANNELS, outbox_page
from radicado.customers.access import (
    ContactNotFound,
    access_contact,
    contacts_visible_to,
    customers_visible_to,
)
from radicado.errors import UserError
from radicado.sla.queries import matrix_choices
from radicado.tickets import actions
from radicado.tickets.access import access_ticket_for_agent, tickets_visible_to
from radicado.tickets.confirmations import request_confirmation
from radicado.tickets.intake import raw_messages_for_review, reprocess_raw
from radicado.tickets.models import Category, Channel, ConfirmationKind
from radicado.tickets.queries import QueueFilter, queue_page, timeline, workspace_choices
from radicado.tickets.sla import ans_of
from radicado.web.helpers import ActorRequest, now, uploads_from, with_actor
from radicado.workspaces.models import Level

PAGE = 50


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _filter_from(request: HttpRequest) -> QueueFilter:
    g = request.GET
    return QueueFilter(
        status=g.get("status", ""),
        category=g.get("category", ""),
        priority=g.get("priority", ""),
        type=g.get("type", ""),
        customer=_int(g.get("customer")),
        assignee=_int(g.get("assignee")),
        team=g.get("team", ""),
        level=g.get("level", ""),
        q=g.get("q", "")[:100],
    )


def _queue_context(request: ActorRequest) -> dict[str, object]:
    f = _filter_from(request)
    offset = _int(request.GET.get("offset")) or 0
    rows = queue_page(tickets_visible_to(request.actor), f, limit=PAGE, offset=offset)
    query = request.GET.copy()
    query.pop("offset", None)
    return {
        "rows": rows[:PAGE],
        "has_more": len(rows) > PAGE,
        "next_offset": offset + PAGE,
        "offset": offset,
        "filter": f,
        "query": query.urlencode(),
    }


@with_actor(staff=True)
def queue(request: ActorRequest) -> HttpResponse:
    ctx = _queue_context(request)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "console/_rows.html", ctx)
    ctx["choices"] = workspace_choices(workspace_id=request.actor.workspace.id)
    ctx["customers"] = list(customers_visible_to(request.actor).order_by("name").only("id", "name"))
    ctx["levels"] = Level.choices
    ctx["categories"] = Category.choices
    return render(request, "console/queue.html", ctx)


@with_actor(staff=True)
def rows(request: ActorRequest) -> HttpResponse:
    return render(request, "console/_rows.html", _queue_context(request))


def _ticket_context(request: ActorRequest, number: int, error: str = "") -> dict[str, object]:
    ticket = access_ticket_for_agent(actor=request.actor, number=number)
    choices = workspace_choices(workspace_id=request.actor.workspace.id)
    return {
        "ticket": ticket,
        "entries": timeline(actor=request.actor, ticket=ticket),
        "transitions": actions.available_transitions(actor=request.actor, ticket=ticket),
        "choices": choices,
        "labels": choices.labels(),
        "ans": ans_of(ticket, now=now()),
        "levels": Level.choices,
        "confirmation_kinds": ConfirmationKind.choices,
        "error": error,
    }


@with_actor(staff=True)
def ticket_view(request: ActorRequest, number: int) -> HttpResponse:
    return render(request, "console/ticket.html", _ticket_context(request, number))


def _after_edit(request: ActorRequest, number: int, error: str) -> HttpResponse:
    ctx = _ticket_context(request, number, error)
    status = 400 if error else 200
    if request.htmx:  # type: ignore[attr-defined]
        if not error:
            ctx["body"] = ""
        else:
            ctx["body"] = request.POST.get("body", "")
        return render(request, "console/_ticket_main.html", ctx, status=status)
    if error:
        ctx["body"] = request.POST.get("body", "")
        return render(request, "console/ticket.html", ctx, status=status)
    return redirect("console:ticket", ws=request.actor.workspace.slug, number=number)


@with_actor(staff=True)
@require_POST
def post_message(request: ActorRequest, number: int) -> HttpResponse:
    ticket = access_ticket_for_agent(actor=request.actor, number=number)
    kind = request.POST.get("kind", "reply")
    action = actions.add_note if kind == "note" else actions.add_reply
    error = ""
    try:
        action(
            actor=request.actor,
            ticket=ticket,
            body=request.POST.get("body", ""),
            uploads=uploads_from(request),
            now=now(),
        )
    except UserError as exc:
        error = str(exc)
    return _after_edit(request, number, error)


@with_actor(staff=True)
@require_POST
def update(request: ActorRequest, number: int) -> HttpResponse:
    """Apply one field change from the side panel: status, priority, type, assignee, team, level."""
    actor = request.actor
    ticket = access_ticket_for_agent(actor=actor, number=number)
    field, value = request.POST.get("field", ""), request.POST.get("value", "")
    choices = workspace_choices(workspace_id=actor.workspace.id)
    error = ""
    try:
        if field == "status":
            actions.transition_ticket(actor=actor, ticket=ticket, to_state=value, now=now())
        elif field == "priority":
            priority = next(p for p in choices.priorities if p.code == value)
            actions.set_priority(actor=actor, ticket=ticket, priority=priority, now=now())
        elif field == "type":
            ticket_type = next(t for t in choices.types if t.code == value)
            actions.set_ticket_type(actor=actor, ticket=ticket, ticket_type=ticket_type, now=now())
        elif field == "assignee":
            member = next((m for m in choices.agents if str(m.id) == value), None)
            actions.assign_ticket(actor=actor, ticket=ticket, assignee=member, now=now())
        elif field == "team":
            team = next((t for t in choices.teams if t.code == value), None)
            actions.set_team(actor=actor, ticket=ticket, team=team, now=now())
        elif field == "level":
            if value not in Level.values:
                raise StopIteration
            actions.set_level(actor=actor, ticket=ticket, level=Level(value), now=now())
        else:
            error = "?"
    except StopIteration:
        error = "?"
    except UserError as exc:
        error = str(exc)
    return _after_edit(request, number, error)


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def phone_intake(request: ActorRequest) -> HttpResponse:
    """Log a phone call as a ticket on behalf of a contact (I1)."""
    actor = request.actor
    choices = workspace_choices(workspace_id=actor.workspace.id)
    contacts = list(contacts_visible_to(actor).select_related("customer").order_by("customer__name", "name"))
    matrix = matrix_choices(workspace_id=actor.workspace.id)
    fields = ("contact", "type", "priority", "urgency", "impact", "subject", "description")
    values = {k: request.POST.get(k, "") for k in fields}
    error = ""
    if request.method == "POST":
        try:
            contact = access_contact(actor=actor, contact_id=_int(values["contact"]) or 0)
            ticket_type = next(t for t in choices.types if t.code == values["type"])
            priority = next((p for p in choices.priorities if p.code == values["priority"]), None)
            ticket = actions.create_ticket(
                actor=actor,
                requester=contact,
                ticket_type=ticket_type,
                priority=priority,
                subject=values["subject"],
                description=values["description"],
                urgency=values["urgency"],
                impact=values["impact"],
                channel=Channel.PHONE,
                uploads=uploads_from(request),
                now=now(),
            )
        except StopIteration:
            error = "type"
        except UserError as exc:
            error = str(exc)
        except ContactNotFound:
            error = "contact"
        else:
            return redirect("console:ticket", ws=actor.workspace.slug, number=ticket.number)
    return render(
        request,
        "console/new.html",
        {"choices": choices, "contacts": contacts, "values": values, "error": error, "matrix": matrix},
        status=400 if error else 200,
    )


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def mail_review(request: ActorRequest) -> HttpResponse:
    """Admins see inbound mail that did not become work (quarantined, held, rejected) and retry it."""
    actor = request.actor
    if not actor.is_admin and actor.role != "supervisor":
        raise Http404
    message = ""
    if request.method == "POST":
        result = reprocess_raw(workspace_id=actor.workspace.id, raw_id=_int(request.POST.get("raw")) or 0, now=now())
        message = f"{result.outcome} {result.ticket or ''}".strip()
    rows = raw_messages_for_review(workspace_id=actor.workspace.id)
    return render(request, "console/mail_review.html", {"rows": rows, "message": message})


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def outbox(request: ActorRequest) -> HttpResponse:
    """Admins and supervisors see outgoing e-mail and WhatsApp messages and retry failed or pending ones."""
    actor = request.actor
    if not actor.is_admin and actor.role != "supervisor":
        raise Http404
    message, status = "", 200
    if request.method == "POST":
        try:
            retry_outbound(
                workspace=actor.workspace,
                actor=actor.user,
                channel=request.POST.get("channel", ""),
                row_id=_int(request.POST.get("id")) or 0,
                now=now(),
            )
        except OutboundNotFound:
            raise Http404 from None
        except NotRetryable:
            message, status = _("That message is no longer pending or failed; nothing was changed."), 409
        else:
            message = _("Queued again: it goes out on the next send.")
    g = request.GET
    page = outbox_page(
        workspace_id=actor.workspace.id,
        status=g.get("status", ""),
        channel=g.get("channel", ""),
        cursor=g.get("before", "")[:100],
        limit=PAGE,
    )
    query = g.copy()
    query.pop("before", None)
    ctx = {
        "rows": page.rows,
        "next_cursor": page.next_cursor,
        "first_page": "before" not in g,
        "query": query.urlencode(),
        "status": g.get("status", ""),
        "channel": g.get("channel", ""),
        "channels": list(CHANNELS.items()),
        "message": message,
    }
    return render(request, "console/outbox.html", ctx, status=status)


@with_actor(staff=True)
@require_POST
def ask_confirmation(request: ActorRequest, number: int) -> HttpResponse:
    """Ask the customer to approve an estimate, a quote, a survey or an access (H3, H5)."""
    ticket = access_ticket_for_agent(actor=request.actor, number=number)
    error = ""
    try:
        request_confirmation(
            actor=request.actor,
            ticket=ticket,
            kind=_confirmation_kind(request.POST.get("kind", "estimate")),
            description=request.POST.get("description", ""),
            hours=_decimal(request.POST.get("hours")),
            amount=_decimal(request.POST.get("amount")),
            now=now(),
        )
    except UserError as exc:  # ConfirmationError, NotPermitted
        error = str(exc)
    return _after_edit(request, number, error)


def _confirmation_kind(value: str) -> ConfirmationKind:
    if value not in ConfirmationKind.values:
        raise UserError(_("Choose what the customer is asked to approve."))
    return ConfirmationKind(value)


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(value.replace(",", ".")) if value and value.strip() else None
    except InvalidOperation:
        raise UserError(_("Write the number of hours or the amount with digits only.")) from None
