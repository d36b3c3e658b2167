"""The console's forms: every value an agent or an admin sends, parsed before any action runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from radicado.channels.queries import CHANNELS
from radicado.customers.models import Consent, ConsentChannel, Contact
from radicado.notifications.actions import TEMPLATE_FIELDS
from radicado.notifications.models import Audience, NotificationChannel, NotificationEvent, NotificationRule
from radicado.notifications.rendering import TemplateInvalid, check
from radicado.sla.queries import MatrixChoice
from radicado.tickets.actions import BODY_MAX
from radicado.tickets.models import Category, Confirmation, ConfirmationKind, Ticket, WorkflowTransition
from radicado.tickets.queries import WorkspaceChoices
from radicado.web.forms import AsciiIntegerField, max_length, model_decimal
from radicado.workspaces.models import Level

CODE_MAX = max_length(Ticket, "urgency")  # every stable code is a SlugField of this length
SEARCH_MAX = 100
OFFSET_MAX = 10_000_000
INVALID_CHOICE = _("Choose one of the options offered.")


def _optional(choices: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", "")] + [(str(code), label) for code, label in choices]


def _codes(items: Sequence[Any]) -> list[tuple[str, str]]:
    return [(str(i.code), str(i.label)) for i in items]


class QueueFilterForm(forms.Form):
    """The queue's filters and page (GET); empty means "any"."""

    status = forms.CharField(max_length=CODE_MAX, required=False)
    category = forms.ChoiceField(choices=_optional(Category.choices), required=False)
    priority = forms.CharField(max_length=CODE_MAX, required=False)
    type = forms.CharField(max_length=CODE_MAX, required=False)
    customer = AsciiIntegerField(min_value=1, required=False)
    assignee = AsciiIntegerField(min_value=0, required=False)  # 0: unassigned
    team = forms.CharField(max_length=CODE_MAX, required=False)
    level = forms.ChoiceField(choices=_optional(Level.choices), required=False)
    q = forms.CharField(max_length=SEARCH_MAX, required=False)
    offset = AsciiIntegerField(min_value=0, max_value=OFFSET_MAX, required=False)


class MessageForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("reply", _("Public reply")), ("note", _("Internal note"))],
        required=False,
        error_messages={"invalid_choice": _("Choose a public reply or an internal note.")},
    )
    body = forms.CharField(max_length=BODY_MAX, error_messages={"required": _("Write a message.")})


UPDATE_FIELDS = ("status", "priority", "type", "assignee", "team", "level")


class FieldUpdateForm(forms.Form):
    """One change from the side panel; ``target()`` is the chosen state code, priority, type, member, team or level."""

    field = forms.ChoiceField(choices=[(f, f) for f in UPDATE_FIELDS])
    value = forms.CharField(max_length=CODE_MAX, required=False)

    def __init__(
        self, data: Any = None, *, choices: WorkspaceChoices, transitions: Sequence[WorkflowTransition], **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self.options: dict[str, dict[str, Any]] = {
            "status": {t.to_state.code: t.to_state.code for t in transitions},
            "priority": {p.code: p for p in choices.priorities},
            "type": {t.code: t for t in choices.types},
            "assignee": {"": None, **{str(m.id): m for m in choices.agents}},
            "team": {"": None, **{t.code: t for t in choices.teams}},
            "level": {code: Level(code) for code in Level.values},
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        field, value = data.get("field"), data.get("value")
        if field is not None and value is not None:
            options = self.options[field]
            if value not in options:
                self.add_error("value", INVALID_CHOICE)
            else:
                data["target"] = options[value]
        return data


class PhoneIntakeForm(forms.Form):
    contact = forms.ChoiceField(
        error_messages={
            "required": _("Choose the contact who called."),
            "invalid_choice": _("Choose the contact who called."),
        }
    )
    type = forms.ChoiceField(
        error_messages={"required": _("Choose the type."), "invalid_choice": _("Choose the type.")}
    )
    priority = forms.ChoiceField(required=False, error_messages={"invalid_choice": INVALID_CHOICE})
    urgency = forms.ChoiceField(required=False, error_messages={"invalid_choice": INVALID_CHOICE})
    impact = forms.ChoiceField(required=False, error_messages={"invalid_choice": INVALID_CHOICE})
    subject = forms.CharField(
        max_length=max_length(Ticket, "subject"), error_messages={"required": _("Write a short subject.")}
    )
    description = forms.CharField(max_length=BODY_MAX, error_messages={"required": _("Write what the caller said.")})

    def __init__(
        self,
        data: Any = None,
        *,
        contacts: Sequence[Contact],
        choices: WorkspaceChoices,
        matrix: tuple[list[MatrixChoice], list[MatrixChoice]] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.contacts = {str(c.id): c for c in contacts}
        self.types = {t.code: t for t in choices.types}
        self.priorities = {p.code: p for p in choices.priorities}
        urgencies, impacts = matrix or ([], [])
        self.fields["contact"].choices = [(k, k) for k in self.contacts]  # type: ignore[attr-defined]
        self.fields["type"].choices = _codes(choices.types)  # type: ignore[attr-defined]
        self.fields["priority"].choices = [("", ""), *_codes(choices.priorities)]  # type: ignore[attr-defined]
        self.fields["urgency"].choices = [("", ""), *_codes(urgencies)]  # type: ignore[attr-defined]
        self.fields["impact"].choices = [("", ""), *_codes(impacts)]  # type: ignore[attr-defined]


class OutboxRetryForm(forms.Form):
    channel = forms.ChoiceField(choices=list(CHANNELS.items()), error_messages={"invalid_choice": INVALID_CHOICE})
    id = AsciiIntegerField(min_value=1)


class OutboxFilterForm(forms.Form):
    """The outbox's filters (GET): an unknown status or channel means "any", as the page always did."""

    status = forms.CharField(max_length=CODE_MAX, required=False)
    channel = forms.CharField(max_length=CODE_MAX, required=False)
    before = forms.CharField(max_length=100, required=False)

    def clean_status(self) -> str:
        status = str(self.cleaned_data["status"])
        return status if status in ("pending", "sent", "failed") else ""

    def clean_channel(self) -> str:
        channel = str(self.cleaned_data["channel"])
        return channel if channel in CHANNELS else ""


class ReprocessForm(forms.Form):
    raw = AsciiIntegerField(min_value=1)


class AskConfirmationForm(forms.Form):
    kind = forms.ChoiceField(
        choices=ConfirmationKind.choices,
        error_messages={
            "required": _("Choose what the customer is asked to approve."),
            "invalid_choice": _("Choose what the customer is asked to approve."),
        },
    )
    description = forms.CharField(
        max_length=BODY_MAX, error_messages={"required": _("Describe what the customer is asked to approve.")}
    )
    hours = model_decimal(Confirmation, "hours", required=False)
    amount = model_decimal(Confirmation, "amount", required=False)


class NotificationRuleForm(forms.Form):
    event = forms.ChoiceField(choices=NotificationEvent.choices, error_messages={"invalid_choice": INVALID_CHOICE})
    audience = forms.ChoiceField(choices=Audience.choices, error_messages={"invalid_choice": INVALID_CHOICE})
    channel = forms.ChoiceField(choices=NotificationChannel.choices, error_messages={"invalid_choice": INVALID_CHOICE})
    enabled = forms.BooleanField(required=False)
    subject_es = forms.CharField(max_length=max_length(NotificationRule, "subject_es"), required=False)
    body_es = forms.CharField(max_length=BODY_MAX, required=False)
    subject_en = forms.CharField(max_length=max_length(NotificationRule, "subject_en"), required=False)
    body_en = forms.CharField(max_length=BODY_MAX, required=False)

    def texts(self) -> dict[str, str]:
        return {f: self.cleaned_data.get(f) or "" for f in TEMPLATE_FIELDS}

    def check_templates(self) -> None:
        """For saving: the Spanish message is required and every template must be valid (beside its field)."""
        if "body_es" in self.cleaned_data and not self.cleaned_data["body_es"]:
            self.add_error("body_es", _("Write the Spanish message."))
        for field in TEMPLATE_FIELDS:
            source = self.cleaned_data.get(field)
            if source:
                try:
                    check(source)
                except TemplateInvalid as exc:
                    self.add_error(field, str(exc))


class RevokeTokenForm(forms.Form):
    """The API tokens page's revoke button: which token."""

    token = AsciiIntegerField(min_value=1, error_messages={"required": _("Choose a token to revoke.")})


class PersonForm(forms.Form):
    """Habeas data: the person, by e-mail (export, anonymise, look up)."""

    email = forms.EmailField(max_length=254, error_messages={"required": _("Write an e-mail address.")})


class AnonymiseForm(PersonForm):
    confirm = forms.BooleanField(
        error_messages={"required": _("Tick the box to confirm: anonymising cannot be undone.")}
    )


class ConsentForm(forms.Form):
    """A contact's authorisation to process their personal data (Ley 1581 de 2012)."""

    contact = AsciiIntegerField(min_value=1)
    given_on = forms.DateField(
        input_formats=["%Y-%m-%d"], error_messages={"required": _("Write the date of the authorisation.")}
    )
    notice_version = forms.CharField(
        max_length=max_length(Consent, "notice_version"),
        error_messages={"required": _("Write the version of the privacy notice.")},
    )
    channel = forms.ChoiceField(choices=ConsentChannel.choices, error_messages={"invalid_choice": INVALID_CHOICE})
