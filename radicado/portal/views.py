"""The customer portal: register, follow, reply to and close requests."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from radicado.customers.access import access_contact
from radicado.errors import UserError
from radicado.sla.queries import matrix_choices
from radicado.tickets import actions
from radicado.tickets.access import access_ticket_for_contact, tickets_visible_to
from radicado.tickets.confirmations import ConfirmationError, answer_confirmation, confirmation_for_token
from radicado.tickets.models import Channel, Confirmation, ConfirmationStatus, Survey, Ticket, TicketType
from radicado.tickets.queries import requests_of, timeline, workspace_choices
from radicado.tickets.sla import ans_of
from radicado.tickets.surveys import SCORES, SurveyError, answer_survey, survey_for_token
from radicado.tickets.terms import TermsError, accept_terms
from radicado.web.helpers import ActorRequest, now, uploads_from, with_actor


def registered_message(ticket: Ticket, *, now: dt.datetime) -> str:
    """The receipt a customer reads at once: the number, and by when we will answer."""
    first = next((c for c in ans_of(ticket, now=now).clocks if c.kind == "first_response"), None)
    if first is None:
        return _("We registered your request %(ref)s.") % {"ref": ticket.reference}
    due = formats.date_format(timezone.localtime(first.due_at), "DATETIME_FORMAT")
    return _("We registered your request %(ref)s. We will answer at the latest on %(due)s.") % {
        "ref": ticket.reference,
        "due": due,
    }


@with_actor(staff=False)
def home(request: ActorRequest) -> HttpResponse:
    actor = request.actor
    show_all = request.GET.get("ver") == "todas"
    rows = requests_of(tickets_visible_to(actor), active_only=not show_all)
    return render(request, "portal/home.html", {"rows": rows, "show_all": show_all})


@with_actor(staff=False)
def help_page(request: ActorRequest) -> HttpResponse:
    return render(request, "portal/help.html")


@with_actor(staff=False)
@require_http_methods(["GET", "POST"])
def new_request(request: ActorRequest) -> HttpResponse:
    actor = request.actor
    types = list(TicketType.objects.filter(workspace_id=actor.workspace.id, in_portal=True))
    matrix = matrix_choices(workspace_id=actor.workspace.id)
    values = {
        "urgency": request.POST.get("urgency", ""),
        "impact": request.POST.get("impact", ""),
        "type": request.POST.get("type", ""),
        "subject": request.POST.get("subject", ""),
        "description": request.POST.get("description", ""),
    }
    error = ""
    if request.method == "POST":
        ticket_type = next((t for t in types if t.code == values["type"]), None)
        if ticket_type is None:
            error = "type"
        else:
            try:
                ticket = actions.create_ticket(
                    actor=actor,
                    requester=access_contact(actor=actor, contact_id=actor.contact_id or 0),
                    ticket_type=ticket_type,
                    subject=values["subject"],
                    description=values["description"],
                    urgency=values["urgency"],
                    impact=values["impact"],
                    channel=Channel.PORTAL,
                    uploads=uploads_from(request),
                    now=now(),
                )
            except UserError as exc:
                error = str(exc)
            else:
                messages.success(request, registered_message(ticket, now=now()))
                return redirect("portal:request", ws=actor.workspace.slug, number=ticket.number)
    status = 400 if error else 200
    return render(
        request,
        "portal/new.html",
        {"types": types, "values": values, "error": error, "matrix": matrix},
        status=status,
    )


def _detail_context(request: ActorRequest, number: int, error: str = "") -> dict[str, object]:
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    return {
        "ticket": ticket,
        "entries": timeline(actor=request.actor, ticket=ticket),
        "transitions": actions.available_transitions(actor=request.actor, ticket=ticket),
        "labels": workspace_choices(workspace_id=request.actor.workspace.id).labels(),
        "ans": ans_of(ticket, now=now()),
        "survey": Survey.objects.filter(ticket=ticket).first()
        if ticket.requester_id == request.actor.contact_id
        else None,
        "scores": SCORES,
        "confirmations": list(Confirmation.objects.filter(ticket=ticket, status=ConfirmationStatus.PENDING)),
        "error": error,
    }


@with_actor(staff=False)
def request_detail(request: ActorRequest, number: int) -> HttpResponse:
    return render(request, "portal/request.html", _detail_context(request, number))


@with_actor(staff=False)
@require_POST
def reply(request: ActorRequest, number: int) -> HttpResponse:
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    error = ""
    try:
        actions.add_reply(
            actor=request.actor,
            ticket=ticket,
            body=request.POST.get("body", ""),
            uploads=uploads_from(request),
            now=now(),
        )
    except UserError as exc:
        error = str(exc)
    if request.htmx and not error:  # type: ignore[attr-defined]
        return render(request, "portal/_conversation.html", _detail_context(request, number))
    if error:
        ctx = _detail_context(request, number, error)
        ctx["body"] = request.POST.get("body", "")
        return render(request, "portal/request.html", ctx, status=400)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@with_actor(staff=False)
@require_POST
def transition(request: ActorRequest, number: int) -> HttpResponse:
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    try:
        actions.transition_ticket(actor=request.actor, ticket=ticket, to_state=request.POST.get("to", ""), now=now())
    except UserError as exc:
        return render(request, "portal/request.html", _detail_context(request, number, str(exc)), status=400)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The satisfaction survey behind a link: no sign-in, answered once."""
    found = survey_for_token(token)
    if found is None:
        raise Http404
    error = ""
    if request.method == "POST" and found.answered_at is None:
        try:
            found = answer_survey(
                survey=found,
                score=_score(request.POST.get("score")),
                comment=request.POST.get("comment", ""),
                now=now(),
            )
        except SurveyError as exc:
            error = str(exc)
    return render(
        request,
        "portal/survey.html",
        {"survey": found, "ticket": found.ticket, "error": error, "scores": SCORES},
        status=400 if error else 200,
    )


@with_actor(staff=False)
@require_POST
def answer_in_portal(request: ActorRequest, number: int) -> HttpResponse:
    """The requester answers the survey inside the request page."""
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    found = Survey.objects.filter(ticket=ticket).first()
    if found is None or ticket.requester_id != request.actor.contact_id:
        raise Http404
    try:
        answer_survey(
            survey=found, score=_score(request.POST.get("score")), comment=request.POST.get("comment", ""), now=now()
        )
    except SurveyError as exc:
        return render(request, "portal/request.html", _detail_context(request, number, str(exc)), status=400)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


def _score(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@with_actor(staff=False)
@require_POST
def accept_terms_view(request: ActorRequest, number: int) -> HttpResponse:
    """The customer accepts the terms of attention posted on the request (H2)."""
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    try:
        accept_terms(actor=request.actor, ticket=ticket, now=now())
    except TermsError as exc:
        return render(request, "portal/request.html", _detail_context(request, number, str(exc)), status=400)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@with_actor(staff=False)
@require_POST
def answer_confirmation_view(request: ActorRequest, number: int, confirmation_id: int) -> HttpResponse:
    """The requester, or a key user of the company (H4), approves or declines inside the request."""
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    found = Confirmation.objects.filter(ticket=ticket, id=confirmation_id).first()
    if found is None:
        raise Http404
    try:
        answer_confirmation(
            confirmation=found,
            approve=request.POST.get("answer") == "approve",
            name=request.actor.display_name,
            actor=request.actor,
            now=now(),
        )
    except ConfirmationError as exc:
        return render(request, "portal/request.html", _detail_context(request, number, str(exc)), status=400)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@require_http_methods(["GET", "POST"])
def confirmation_link(request: HttpRequest, token: str) -> HttpResponse:
    """Approve or decline from the e-mail link, without signing in."""
    found = confirmation_for_token(token)
    if found is None:
        raise Http404
    error = ""
    if request.method == "POST":
        try:
            found = answer_confirmation(
                confirmation=found,
                approve=request.POST.get("answer") == "approve",
                name=found.ticket.requester.name,
                now=now(),
            )
        except ConfirmationError as exc:
            error = str(exc)
    return render(
        request,
        "portal/confirmation.html",
        {"c": found, "ticket": found.ticket, "error": error},
        status=400 if error else 200,
    )
