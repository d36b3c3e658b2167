"""The portal's forms: what a customer may send, parsed before any action runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from radicado.sla.queries import MatrixChoice
from radicado.tickets.actions import BODY_MAX
from radicado.tickets.models import Ticket, TicketType, WorkflowTransition
from radicado.tickets.surveys import SCORES
from radicado.web.forms import max_length

COMMENT_MAX = 2000  # what answer_survey keeps


def _codes(items: Sequence[Any]) -> list[tuple[str, str]]:
    return [(str(i.code), str(i.label)) for i in items]


class NewRequestForm(forms.Form):
    type = forms.ChoiceField(error_messages={"required": _("Choose the kind of request.")})
    urgency = forms.ChoiceField(required=False)
    impact = forms.ChoiceField(required=False)
    subject = forms.CharField(
        max_length=max_length(Ticket, "subject"), error_messages={"required": _("Write a short subject.")}
    )
    description = forms.CharField(max_length=BODY_MAX, error_messages={"required": _("Describe what you need.")})

    def __init__(
        self,
        data: Any = None,
        *,
        types: Sequence[TicketType],
        matrix: tuple[list[MatrixChoice], list[MatrixChoice]] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        invalid = {"invalid_choice": _("Choose one of the options offered.")}
        self.fields["type"].choices = _codes(types)  # type: ignore[attr-defined]
        self.fields["type"].error_messages["invalid_choice"] = _("Choose the kind of request.")
        urgencies, impacts = matrix or ([], [])
        self.fields["urgency"].choices = [("", ""), *_codes(urgencies)]  # type: ignore[attr-defined]
        self.fields["impact"].choices = [("", ""), *_codes(impacts)]  # type: ignore[attr-defined]
        self.fields["urgency"].error_messages.update(invalid)
        self.fields["impact"].error_messages.update(invalid)
        self.types = {t.code: t for t in types}

    def ticket_type(self) -> TicketType:
        return self.types[self.cleaned_data["type"]]


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=BODY_MAX, error_messages={"required": _("Write a message.")})


class TransitionForm(forms.Form):
    """Move the request to one of the states offered on the page."""

    to = forms.ChoiceField(error_messages={"required": _("That status change is not allowed from the current status.")})

    def __init__(self, data: Any = None, *, transitions: Sequence[WorkflowTransition], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        field = self.fields["to"]
        field.choices = [(t.to_state.code, t.to_state.label) for t in transitions]  # type: ignore[attr-defined]
        field.error_messages["invalid_choice"] = _("That status change is not allowed from the current status.")


class SurveyForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(str(s), str(s)) for s in SCORES],
        coerce=int,
        error_messages={
            "required": _("Choose a score from 1 to 5."),
            "invalid_choice": _("Choose a score from 1 to 5."),
        },
    )
    comment = forms.CharField(max_length=COMMENT_MAX, required=False)


class ConfirmationAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("decline", _("Decline"))],
        error_messages={
            "required": _("Choose whether you approve or decline."),
            "invalid_choice": _("Choose whether you approve or decline."),
        },
    )

    def approve(self) -> bool:
        return bool(self.cleaned_data["answer"] == "approve")


class AcceptTermsForm(forms.Form):
    """Accepting the terms posted on the request: the button is the whole input."""
