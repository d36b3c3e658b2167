"""Habeas data in the console (admins): a person's data, their consents, export and anonymisation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from radicado.console.forms import AnonymiseForm, ConsentForm, PersonForm
from radicado.customers.access import ContactNotFound, access_contact
from radicado.customers.actions import record_consent
from radicado.customers.models import Consent, ConsentChannel
from radicado.tickets.habeas import PersonNotFound, anonymise_person, export_person, find_person
from radicado.web.forms import all_errors_text, field_errors
from radicado.web.helpers import ActorRequest, now, with_actor
from radicado.workspaces.access import Actor


def _admin(request: ActorRequest) -> Actor:
    if not request.actor.is_admin:
        raise Http404
    return request.actor


def _email_of(request: ActorRequest) -> str:
    """The e-mail a POST carried, to show the person again; "" unless it is a valid address."""
    form = PersonForm(request.POST)
    return str(form.cleaned_data["email"]) if form.is_valid() else ""


def _page(
    request: ActorRequest,
    email: str,
    *,
    message: str = "",
    error: str = "",
    consent_form: ConsentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.actor
    person = None
    if email:
        try:
            person = find_person(workspace=actor.workspace, email=email)
        except PersonNotFound as exc:
            error, status = error or str(exc), status if status != 200 else 404
    consents: dict[int, list[Consent]] = {}
    if person is not None:
        for c in Consent.objects.filter(contact__in=person.contacts).order_by("-given_at", "-id"):
            consents.setdefault(c.contact_id, []).append(c)
    ctx = {
        "email": email,
        "person": person,
        "contacts": [(c, consents.get(c.id, [])) for c in person.contacts] if person else [],
        "channels": ConsentChannel.choices,
        "message": message,
        "error": error,
        "consent_errors": field_errors(consent_form),
        "today": now().astimezone(ZoneInfo(actor.workspace.timezone)).date().isoformat(),
    }
    return render(request, "console/habeas.html", ctx, status=status)


@with_actor(staff=True)
@require_http_methods(["GET"])
def person(request: ActorRequest) -> HttpResponse:
    """Look a person up by e-mail: their contacts, user and consents, and the buttons to export or anonymise."""
    _admin(request)
    form = PersonForm(request.GET)
    if "email" not in request.GET:
        return _page(request, "")
    if not form.is_valid():
        return _page(request, "", error=all_errors_text(form), status=400)
    return _page(request, form.cleaned_data["email"])


@with_actor(staff=True)
@require_POST
def export(request: ActorRequest) -> HttpResponse:
    """The person's data as a zip (datos.json and their files); the export is audited."""
    actor = _admin(request)
    form = PersonForm(request.POST)
    if not form.is_valid():
        return _page(request, "", error=all_errors_text(form), status=400)
    email = form.cleaned_data["email"]
    try:
        data = export_person(workspace=actor.workspace, email=email, actor=actor.user, now=now())
    except PersonNotFound as exc:
        return _page(request, email, error=str(exc), status=404)
    response = HttpResponse(data, content_type="application/zip")
    name = f"habeas-{actor.workspace.slug}-{slugify(email.replace('@', '-at-'))}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@with_actor(staff=True)
@require_POST
def anonymise(request: ActorRequest) -> HttpResponse:
    """Anonymise the person (cannot be undone); tickets and history stay."""
    actor = _admin(request)
    form = AnonymiseForm(request.POST)
    if not form.is_valid():
        return _page(request, _email_of(request), error=all_errors_text(form), status=400)
    try:
        pseudonym = anonymise_person(
            workspace=actor.workspace, email=form.cleaned_data["email"], actor=actor.user, now=now()
        )
    except PersonNotFound as exc:
        return _page(request, form.cleaned_data["email"], error=str(exc), status=404)
    message = _("Anonymised: the person is now “%(name)s”. Their tickets and history remain.") % {"name": pseudonym}
    return _page(request, "", message=message)


@with_actor(staff=True)
@require_POST
def consent(request: ActorRequest) -> HttpResponse:
    """Record a contact's authorisation to process their personal data."""
    actor = _admin(request)
    form = ConsentForm(request.POST)
    email = _email_of(request)
    if not form.is_valid():
        return _page(request, email, error=all_errors_text(form), consent_form=form, status=400)
    data = form.cleaned_data
    try:
        contact = access_contact(actor=actor, contact_id=data["contact"])
    except ContactNotFound:
        raise Http404 from None
    given_at = dt.datetime.combine(data["given_on"], dt.time(0), tzinfo=ZoneInfo(actor.workspace.timezone))
    record_consent(
        contact=contact,
        given_at=given_at,
        notice_version=data["notice_version"],
        channel=ConsentChannel(data["channel"]),
        actor=actor.user,
        now=now(),
    )
    return _page(request, contact.email or email, message=_("Consent recorded."))
