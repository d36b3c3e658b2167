"""Admins configure who hears about what: notification rules, their templates, a preview."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from radicado.console.forms import NotificationRuleForm
from radicado.errors import UserError
from radicado.notifications import rendering
from radicado.notifications.actions import TEMPLATE_FIELDS, delete_rule, save_rule
from radicado.notifications.defaults import DEFAULT_TEXTS
from radicado.notifications.models import Audience, NotificationChannel, NotificationEvent, NotificationRule
from radicado.notifications.queries import rule_of, rules_of
from radicado.notifications.rendering import SAMPLE_CONTEXT, TemplateInvalid, check
from radicado.web.forms import add_user_error, field_errors, non_field_text
from radicado.web.helpers import ActorRequest, now, with_actor


def _admin(request: ActorRequest) -> None:
    if not request.actor.is_admin:
        raise Http404


@with_actor(staff=True)
def rules(request: ActorRequest) -> HttpResponse:
    _admin(request)
    return render(
        request, "console/notification_rules.html", {"rules": rules_of(workspace_id=request.actor.workspace.id)}
    )


def _preview(texts: dict[str, str]) -> dict[str, Any]:
    """Each template rendered on the sample ticket, or its error."""
    out: dict[str, Any] = {}
    for field, source in texts.items():
        try:
            check(source)
            out[field] = rendering.render(source, SAMPLE_CONTEXT)
        except TemplateInvalid as exc:
            out[field] = ""
            out[f"{field}_error"] = str(exc)
    return out


@with_actor(staff=True)
@require_http_methods(["GET", "POST"])
def rule_edit(request: ActorRequest, rule_id: int | None = None) -> HttpResponse:
    """Create or edit a rule; "preview" renders the templates on a sample ticket without saving."""
    _admin(request)
    actor = request.actor
    rule: NotificationRule | None = None
    if rule_id is not None:
        rule = rule_of(workspace_id=actor.workspace.id, rule_id=rule_id)
        if rule is None:
            raise Http404
    error, preview, status = "", None, 200
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        rule_form = NotificationRuleForm(request.POST)
        valid = rule_form.is_valid()
        saving = "preview" not in request.POST
        if valid and saving:
            rule_form.check_templates()
            valid = rule_form.is_valid()
        if valid and saving:
            data = rule_form.cleaned_data
            try:
                save_rule(
                    actor=actor,
                    rule=rule,
                    event=data["event"],
                    audience=data["audience"],
                    channel=data["channel"],
                    enabled=data["enabled"],
                    texts=rule_form.texts(),
                    now=now(),
                )
            except UserError as exc:
                add_user_error(rule_form, exc)
            else:
                return redirect("console:notification_rules", ws=actor.workspace.slug)
        elif valid:
            preview = _preview(rule_form.texts())
        if not rule_form.is_valid():
            error, errors, status = non_field_text(rule_form), field_errors(rule_form), 400
        form = {
            "event": request.POST.get("event", ""),
            "audience": request.POST.get("audience", ""),
            "channel": request.POST.get("channel", ""),
            "enabled": request.POST.get("enabled") == "on",
            **{f: request.POST.get(f, "") for f in TEMPLATE_FIELDS},
        }
    elif rule is not None:
        form = {
            "event": rule.event,
            "audience": rule.audience,
            "channel": rule.channel,
            "enabled": rule.enabled,
            **{f: getattr(rule, f) for f in TEMPLATE_FIELDS},
        }
    else:
        event = request.GET.get("event", NotificationEvent.REGISTERED)
        if event not in NotificationEvent.values:
            event = NotificationEvent.REGISTERED
        form = {
            "event": event,
            "audience": Audience.REQUESTER,
            "channel": NotificationChannel.EMAIL,
            "enabled": True,
            **DEFAULT_TEXTS.get(event, {}),
        }
    context = {
        "rule": rule,
        "form": form,
        "error": error,
        "field_errors": errors,
        "preview": preview,
        "events": NotificationEvent.choices,
        "audiences": Audience.choices,
        "channels": NotificationChannel.choices,
        "variables": rendering.variables(),
        "language": translation.get_language(),
    }
    return render(request, "console/notification_rule.html", context, status=status)


@with_actor(staff=True)
@require_POST
def rule_delete(request: ActorRequest, rule_id: int) -> HttpResponse:
    _admin(request)
    rule = rule_of(workspace_id=request.actor.workspace.id, rule_id=rule_id)
    if rule is None:
        raise Http404
    delete_rule(actor=request.actor, rule=rule, now=now())
    return redirect("console:notification_rules", ws=request.actor.workspace.slug)
