"""The customer portal: register, follow, reply to and close requests."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from radicado.customers.access import access_contact
from radicado.errors import UserError
from radicado.portal.forms import (
    AcceptTermsForm,
    ConfirmationAnswerForm,
    NewRequestForm,
    ReplyForm,
    SurveyForm,
    TransitionForm,
)
from radicado.sla.queries import matrix_choices
from radicado.tickets import actions
from radicado.tickets.access import access_ticket_for_contact, tickets_visible_to
from radicado.tickets.confirmations import answer_confirmation, confirmation_for_token
from radicado.tickets.models import Channel, Confirmation, ConfirmationStatus, Survey, Ticket, TicketType
from radicado.tickets.queries import requests_of, timeline, workspace_choices
from radicado.tickets.sla import ans_of
from radicado.tickets.surveys import SCORES, answer_survey, survey_for_token
from radicado.tickets.terms import accept_terms
from radicado.web.forms import add_user_error, all_errors_text, field_errors, non_field_text
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
    form = NewRequestForm(request.POST if request.method == "POST" else None, types=types, matrix=matrix)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = actions.create_ticket(
                actor=actor,
                requester=access_contact(actor=actor, contact_id=actor.contact_id or 0),
                ticket_type=form.ticket_type(),
                subject=data["subject"],
                description=data["description"],
                urgency=data["urgency"],
                impact=data["impact"],
                channel=Channel.PORTAL,
                uploads=uploads_from(request),
                now=now(),
            )
        except UserError as exc:
            add_user_error(form, exc)
        else:
            messages.success(request, registered_message(ticket, now=now()))
            return redirect("portal:request", ws=actor.workspace.slug, number=ticket.number)
    values = {k: request.POST.get(k, "") for k in ("urgency", "impact", "type", "subject", "description")}
    return render(
        request,
        "portal/new.html",
        {
            "types": types,
            "values": values,
            "error": non_field_text(form) if form.is_bound else "",
            "field_errors": field_errors(form),
            "matrix": matrix,
        },
        status=400 if form.is_bound else 200,
    )


def _detail_context(
    request: ActorRequest, number: int, error: str = "", errors: dict[str, list[str]] | None = None
) -> dict[str, object]:
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
        "field_errors": errors or {},
    }


def _refused(request: ActorRequest, number: int, form: forms.Form, ids: dict[str, str] | None = None) -> HttpResponse:
    """The request page again, with the form's errors: beside its field, or above (status 400)."""
    if ids is None:  # a form of buttons: every error goes in the page's alert
        ctx = _detail_context(request, number, all_errors_text(form))
    else:
        ctx = _detail_context(request, number, non_field_text(form), field_errors(form, ids))
    return render(request, "portal/request.html", ctx, status=400)


@with_actor(staff=False)
def request_detail(request: ActorRequest, number: int) -> HttpResponse:
    return render(request, "portal/request.html", _detail_context(request, number))


@with_actor(staff=False)
@require_POST
def reply(request: ActorRequest, number: int) -> HttpResponse:
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            actions.add_reply(
                actor=request.actor,
                ticket=ticket,
                body=form.cleaned_data["body"],
                uploads=uploads_from(request),
                now=now(),
            )
        except UserError as exc:
            add_user_error(form, exc)
    if form.is_valid():
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "portal/_conversation.html", _detail_context(request, number))
        return redirect("portal:request", ws=request.actor.workspace.slug, number=number)
    ctx = _detail_context(request, number, non_field_text(form), field_errors(form))
    ctx["body"] = request.POST.get("body", "")
    return render(request, "portal/request.html", ctx, status=400)


@with_actor(staff=False)
@require_POST
def transition(request: ActorRequest, number: int) -> HttpResponse:
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    form = TransitionForm(request.POST, transitions=actions.available_transitions(actor=request.actor, ticket=ticket))
    if form.is_valid():
        try:
            actions.transition_ticket(actor=request.actor, ticket=ticket, to_state=form.cleaned_data["to"], now=now())
        except UserError as exc:
            add_user_error(form, exc)
    if not form.is_valid():
        return _refused(request, number, form)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The satisfaction survey behind a link: no sign-in, answered once."""
    found = survey_for_token(token)
    if found is None:
        raise Http404
    form = SurveyForm(request.POST if request.method == "POST" and found.answered_at is None else None)
    if form.is_bound and form.is_valid():
        try:
            found = answer_survey(
                survey=found, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"], now=now()
            )
        except UserError as exc:
            add_user_error(form, exc)
    refused = form.is_bound and not form.is_valid()
    return render(
        request,
        "portal/survey.html",
        {
            "survey": found,
            "ticket": found.ticket,
            "error": non_field_text(form) if refused else "",
            "field_errors": field_errors(form),
            "scores": SCORES,
        },
        status=400 if refused else 200,
    )


@with_actor(staff=False)
@require_POST
def answer_in_portal(request: ActorRequest, number: int) -> HttpResponse:
    """The requester answers the survey inside the request page."""
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    found = Survey.objects.filter(ticket=ticket).first()
    if found is None or ticket.requester_id != request.actor.contact_id:
        raise Http404
    form = SurveyForm(request.POST)
    if form.is_valid():
        try:
            answer_survey(
                survey=found, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"], now=now()
            )
        except UserError as exc:
            add_user_error(form, exc)
    if not form.is_valid():
        return _refused(request, number, form, {})
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@with_actor(staff=False)
@require_POST
def accept_terms_view(request: ActorRequest, number: int) -> HttpResponse:
    """The customer accepts the terms of attention posted on the request (H2)."""
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    form = AcceptTermsForm(request.POST)
    if form.is_valid():
        try:
            accept_terms(actor=request.actor, ticket=ticket, now=now())
        except UserError as exc:
            add_user_error(form, exc)
    if not form.is_valid():
        return _refused(request, number, form)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@with_actor(staff=False)
@require_POST
def answer_confirmation_view(request: ActorRequest, number: int, confirmation_id: int) -> HttpResponse:
    """The requester, or a key user of the company (H4), approves or declines inside the request."""
    ticket = access_ticket_for_contact(actor=request.actor, number=number)
    found = Confirmation.objects.filter(ticket=ticket, id=confirmation_id).first()
    if found is None:
        raise Http404
    form = ConfirmationAnswerForm(request.POST)
    if form.is_valid():
        try:
            answer_confirmation(
                confirmation=found,
                approve=form.approve(),
                name=request.actor.display_name,
                actor=request.actor,
                now=now(),
            )
        except UserError as exc:
            add_user_error(form, exc)
    if not form.is_valid():
        return _refused(request, number, form)
    return redirect("portal:request", ws=request.actor.workspace.slug, number=number)


@require_http_methods(["GET", "POST"])
def confirmation_link(request: HttpRequest, token: str) -> HttpResponse:
    """Approve or decline from the e-mail link, without signing in."""
    found = confirmation_for_token(token)
    if found is None:
        raise Http404
    form = ConfirmationAnswerForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            found = answer_confirmation(
                confirmation=found, approve=form.approve(), name=found.ticket.requester.name, now=now()
            )
        except UserError as exc:
            add_user_error(form, exc)
    refused = form.is_bound and not form.is_valid()
    return render(
        request,
        "portal/confirmation.html",
        {"c": found, "ticket": found.ticket, "error": all_errors_text(form) if refused else ""},
        status=400 if refused else 200,
    )
