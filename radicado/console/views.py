"""The agent console: the queue, the ticket view and its edits, phone intake."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from radicado.channels.actions import NotRetryable, OutboundNotFound, retry_outbound
from radicado.channels.queries import CHANNELS, outbox_page
from radicado.console.forms import (
    AskConfirmationForm,
    FieldUpdateForm,
    MessageForm,
    OutboxFilterForm,
    OutboxRetryForm,
    PhoneIntakeForm,
    QueueFilterForm,
    ReprocessForm,
    RevokeTokenForm,
)
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
from radicado.web.forms import add_user_error, all_errors_text, field_errors, non_field_text
from radicado.web.helpers import ActorRequest, now, uploads_from, with_actor
from radicado.workspaces.access import access_token, tokens_visible_to
from radicado.workspaces.actions import revoke_api_token
from radicado.workspaces.models import Level

PAGE = 50


def _queue_context(request: ActorRequest) -> dict[str, object]:
    form = QueueFilterForm(request.GET)
    if form.is_valid():
        g = form.cleaned_data
        f = QueueFilter(
            status=g["status"],
            category=g["category"],
            priority=g["priority"],
            type=g["type"],
            customer=g["customer"],
            assignee=g["assignee"],
            team=g["team"],
            level=g["level"],
            q=g["q"],
        )
        offset = g["offset"] or 0
        rows = queue_page(tickets_visible_to(request.actor), f, limit=PAGE, offset=offset)
    else:  # a filter that cannot be read shows no rows, and why (status 400)
        f, offset, rows = QueueFilter(), 0, []
    query = request.GET.copy()
    query.pop("offset", None)
    return {
        "rows": rows[:PAGE],
        "has_more": len(rows) > PAGE,
        "next_offset": offset + PAGE,
        "offset": offset,
        "filter": f,
        "query": query.urlencode(),
        "error": all_errors_text(form) if not form.is_valid() else "",
        "field_errors": field_errors(form),
    }


@with_actor(staff=True)
def queue(request: ActorRequest) -> HttpResponse:
    ctx = _queue_context(request)
    status = 400 if ctx["error"] else 200
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "console/_rows.html", ctx, status=status)
    ctx["choices"] = workspace_choices(workspace_id=request.actor.workspace.id)
    ctx["customers"] = list(customers_visible_to(request.actor).order_by("name").only("id", "name"))
    ctx["levels"] = Level.choices
    ctx["categories"] = Category.choices
    return render(request, "console/queue.html", ctx, status=status)


@with_actor(staff=True)
def rows(request: ActorRequest) -> HttpResponse:
    ctx = _queue_context(request)
    return render(request, "console/_rows.html", ctx, status=400 if ctx["error"] else 200)


def _ticket_context(
    request: ActorRequest, number: int, error: str = "", errors: dict[str, list[str]] | None = None
) -> dict[str, object]:
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
        "field_errors": errors or {},
    }


@with_actor(staff=True)
def ticket_view(request: ActorRequest, number: int) -> HttpResponse:
    return render(request, "console/ticket.html", _ticket_context(request, number))


def _after_edit(
    request: ActorRequest, number: int, form: forms.Form, ids: dict[str, str] | None = None, name: str = ""
) -> HttpResponse:
    """The ticket again: refreshed after a change, or with the form's errors beside its fields (400)."""
    refused = not form.is_valid()
    if refused and ids is not None and any(name not in ids for name in form.errors if name != "__all__"):
        error, errors = all_errors_text(form), {}  # an input the page does not show: say it above
    elif refused:
        error, errors = non_field_text(form), field_errors(form, ids)
    else:
        error, errors = "", {}
    ctx = _ticket_context(request, number, error, errors)
    ctx["body"] = request.POST.get("body", "") if refused else ""
    if refused:
        ctx["values"], ctx["refused"] = request.POST, name
    status = 400 if refused else 200
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "console/_ticket_main.html", ctx, status=status)
    if refused:
        return render(request, "console/ticket.html", ctx, status=status)
    return redirect("console:ticket", ws=request.actor.workspace.slug, number=number)


@with_actor(staff=True)
@require_POST
def post_message(request: ActorRequest, number: int) -> HttpResponse:
    ticket = access_ticket_for_agent(actor=request.actor, number=number)
    form = MessageForm(request.POST)
    if form.is_valid():
        action = actions.add_note if form.cleaned_data["kind"] == "note" else actions.add_reply
        try:
            action(
                actor=request.actor,
                ticket=ticket,
                body=form.cleaned_data["body"],
                uploads=uploads_from(request),
                now=now(),
            )
        except UserError as exc:
            add_user_error(form, exc)
    return _after_edit(request, number, form, {"body": "body", "kind": "kind"})


@with_actor(staff=True)
@require_POST
def update(request: ActorRequest, number: int) -> HttpResponse:
    """Apply one field change from the side panel: status, priority, type, assignee, team, level."""
    actor = request.actor
    ticket = access_ticket_for_agent(actor=actor, number=number)
    form = FieldUpdateForm(
        request.POST,
        choices=workspace_choices(workspace_id=actor.workspace.id),
        transitions=actions.available_transitions(actor=actor, ticket=ticket),
    )
    if form.is_valid():
        field, target = form.cleaned_data["field"], form.cleaned_data["target"]
        change: dict[str, Any] = {"actor": actor, "ticket": ticket, "now": now()}
        try:
            if field == "status":
                actions.transition_ticket(to_state=target, **change)
            elif field == "priority":
                actions.set_priority(priority=target, **change)
            elif field == "type":
                actions.set_ticket_type(ticket_type=target, **change)
            elif field == "assignee":
                actions.assign_ticket(assignee=target, **change)
            elif field == "team":
                actions.set_team(team=target, **change)
            else:
                actions.set_level(level=target, **change)
        except UserError as exc:
            add_user_error(form, exc, "value")
    return _after_edit(request, number, form, {"value": f"f-{form.data.get('field', '')}"})


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def phone_intake(request: ActorRequest) -> HttpResponse:
    """Log a phone call as a ticket on behalf of a contact (I1)."""
    actor = request.actor
    choices = workspace_choices(workspace_id=actor.workspace.id)
    contacts = list(contacts_visible_to(actor).select_related("customer").order_by("customer__name", "name"))
    matrix = matrix_choices(workspace_id=actor.workspace.id)
    form = PhoneIntakeForm(
        request.POST if request.method == "POST" else None, contacts=contacts, choices=choices, matrix=matrix
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = actions.create_ticket(
                actor=actor,
                requester=access_contact(actor=actor, contact_id=form.contacts[data["contact"]].id),
                ticket_type=form.types[data["type"]],
                priority=form.priorities.get(data["priority"]),
                subject=data["subject"],
                description=data["description"],
                urgency=data["urgency"],
                impact=data["impact"],
                channel=Channel.PHONE,
                uploads=uploads_from(request),
                now=now(),
            )
        except ContactNotFound:
            form.add_error("contact", _("Choose the contact who called."))
        except UserError as exc:
            add_user_error(form, exc)
        else:
            return redirect("console:ticket", ws=actor.workspace.slug, number=ticket.number)
    fields = ("contact", "type", "priority", "urgency", "impact", "subject", "description")
    return render(
        request,
        "console/new.html",
        {
            "choices": choices,
            "contacts": contacts,
            "values": {k: request.POST.get(k, "") for k in fields},
            "error": non_field_text(form) if form.is_bound else "",
            "field_errors": field_errors(form),
            "matrix": matrix,
        },
        status=400 if form.is_bound else 200,
    )


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def mail_review(request: ActorRequest) -> HttpResponse:
    """Admins see inbound mail that did not become work (quarantined, held, rejected) and retry it."""
    actor = request.actor
    if not actor.is_admin and actor.role != "supervisor":
        raise Http404
    message, error, status = "", "", 200
    if request.method == "POST":
        form = ReprocessForm(request.POST)
        if form.is_valid():
            result = reprocess_raw(workspace_id=actor.workspace.id, raw_id=form.cleaned_data["raw"], now=now())
            message = f"{result.outcome} {result.ticket or ''}".strip()
        else:
            error, status = all_errors_text(form), 400
    rows = raw_messages_for_review(workspace_id=actor.workspace.id)
    return render(
        request, "console/mail_review.html", {"rows": rows, "message": message, "error": error}, status=status
    )


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def outbox(request: ActorRequest) -> HttpResponse:
    """Admins and supervisors see outgoing e-mail and WhatsApp messages and retry failed or pending ones."""
    actor = request.actor
    if not actor.is_admin and actor.role != "supervisor":
        raise Http404
    message, error, status = "", "", 200
    if request.method == "POST":
        retry = OutboxRetryForm(request.POST)
        if not retry.is_valid():
            error, status = all_errors_text(retry), 400
        else:
            try:
                retry_outbound(
                    workspace=actor.workspace,
                    actor=actor.user,
                    channel=retry.cleaned_data["channel"],
                    row_id=retry.cleaned_data["id"],
                    now=now(),
                )
            except OutboundNotFound:
                raise Http404 from None
            except NotRetryable:
                message, status = _("That message is no longer pending or failed; nothing was changed."), 409
            else:
                message = _("Queued again: it goes out on the next send.")
    g = request.GET
    filters = OutboxFilterForm(g)
    if filters.is_valid():
        f = filters.cleaned_data
        page = outbox_page(
            workspace_id=actor.workspace.id, status=f["status"], channel=f["channel"], cursor=f["before"], limit=PAGE
        )
        rows, next_cursor = page.rows, page.next_cursor
    else:
        f = {"status": "", "channel": ""}
        rows, next_cursor = [], None
        error, status = " ".join(filter(None, [error, all_errors_text(filters)])), 400
    query = g.copy()
    query.pop("before", None)
    ctx = {
        "rows": rows,
        "next_cursor": next_cursor,
        "first_page": "before" not in g,
        "query": query.urlencode(),
        "status": f["status"],
        "channel": f["channel"],
        "channels": list(CHANNELS.items()),
        "message": message,
        "error": error,
    }
    return render(request, "console/outbox.html", ctx, status=status)


@with_actor(staff=True)
@require_POST
def ask_confirmation(request: ActorRequest, number: int) -> HttpResponse:
    """Ask the customer to approve an estimate, a quote, a survey or an access (H3, H5)."""
    ticket = access_ticket_for_agent(actor=request.actor, number=number)
    form = AskConfirmationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            request_confirmation(
                actor=request.actor,
                ticket=ticket,
                kind=ConfirmationKind(data["kind"]),
                description=data["description"],
                hours=data["hours"],
                amount=data["amount"],
                now=now(),
            )
        except UserError as exc:  # ConfirmationError, NotPermitted
            add_user_error(form, exc)
    ids = {"kind": "c-kind", "description": "c-description", "hours": "c-hours", "amount": "c-amount"}
    return _after_edit(request, number, form, ids, "ask_confirmation")


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def api_tokens(request: ActorRequest) -> HttpResponse:
    """API tokens (ADR 0016): admins see and revoke every token of the workspace, other staff their own.

    A token's secret is shown once, when it is issued; never here.
    """
    actor = request.actor
    message, error, status = "", "", 200
    if request.method == "POST":
        form = RevokeTokenForm(request.POST)
        if not form.is_valid():
            error, status = all_errors_text(form), 400
        else:
            token = access_token(actor=actor, token_id=form.cleaned_data["token"])
            if revoke_api_token(token=token, actor=actor.user, now=now()):
                message = _("Token %(prefix)s revoked: it no longer opens the API.") % {"prefix": token.prefix}
            else:
                message = _("That token was already revoked.")
    at = now()
    rows = [
        {"token": t, "live": t.is_live(at), "expired": t.expires_at is not None and t.expires_at <= at}
        for t in tokens_visible_to(actor=actor)
    ]
    ctx = {"rows": rows, "message": message, "error": error}
    return render(request, "console/api_tokens.html", ctx, status=status)
