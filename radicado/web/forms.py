"""Form fields and helpers shared by the portal and the console (and the sign-in form).

Every POST view of an interface parses its input with a Django form: lengths come from the model
columns, choices are validated, integers and decimals accept ASCII digits only (``int("١")`` is 1 and
``"²".isdigit()`` is True, so neither ``int`` nor ``isdigit`` decides what a number is), and Django's
``CharField`` refuses NUL characters. A domain ``UserError`` raised by the action is shown on the form
too (``add_user_error``); anything else is a bug.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from radicado.errors import UserError

# The largest id or offset a form accepts: a signed 64-bit column's maximum.
MAX_ID = 2**63 - 1
_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+")


def max_length(model: type[Model], field: str) -> int:
    """The column's length, so that a form refuses what the database would not keep."""
    column = model._meta.get_field(field)
    assert isinstance(column, models.Field)
    length = column.max_length
    assert length is not None, f"{model.__name__}.{field} has no max_length"
    return int(length)


class AsciiIntegerField(forms.Field):
    """A whole number written with ASCII digits only, between ``min_value`` and ``max_value``."""

    default_error_messages = {
        "invalid": _("Write a whole number with the digits 0 to 9."),
        "min_value": _("Write a number of at least %(limit)s."),
        "max_value": _("Write a number of at most %(limit)s."),
    }

    def __init__(self, *, min_value: int = 0, max_value: int = MAX_ID, **kwargs: Any) -> None:
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _INTEGER.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if len(text.lstrip("0")) > len(str(self.max_value)):  # never convert a huge string (int's digit limit)
            raise ValidationError(self.error_messages["max_value"], code="max_value", params={"limit": self.max_value})
        return int(text)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        if value < self.min_value:
            raise ValidationError(self.error_messages["min_value"], code="min_value", params={"limit": self.min_value})
        if value > self.max_value:
            raise ValidationError(self.error_messages["max_value"], code="max_value", params={"limit": self.max_value})


class AmountField(forms.DecimalField):
    """A finite, non-negative decimal with ASCII digits; a comma or a point separates the decimals."""

    default_error_messages = {
        "invalid": _("Write a number with the digits 0 to 9 and, if needed, a comma for the decimals."),
    }

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        super().__init__(
            max_digits=max_digits, decimal_places=decimal_places, min_value=Decimal(0), localize=False, **kwargs
        )

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _DECIMAL.fullmatch(text):  # no NaN, Infinity, signs, exponents or other scripts' digits
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return Decimal(text.replace(",", "."))
        except InvalidOperation:  # explicit local parsing; the pattern should have excluded it
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {"inputmode": "decimal"}


def model_decimal(model: type[Model], field: str, **kwargs: Any) -> AmountField:
    """An ``AmountField`` with the column's ``max_digits`` and ``decimal_places``."""
    column = model._meta.get_field(field)
    assert isinstance(column, models.DecimalField)
    return AmountField(max_digits=column.max_digits, decimal_places=column.decimal_places, **kwargs)


def add_user_error(form: forms.Form, exc: UserError, field: str | None = None) -> None:
    """Show a refusal of the domain on the form: beside ``field``, or above the form."""
    form.add_error(field, str(exc))


def non_field_text(form: forms.Form) -> str:
    """The form's errors that belong to no field, as one sentence for the page's alert."""
    return " ".join(str(e) for e in form.non_field_errors())


def field_errors(form: forms.Form | None, ids: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Errors by the id of the input they belong beside (``ids`` maps a form field to its input's id)."""
    if form is None or not form.is_bound:
        return {}
    ids = ids or {}
    return {ids.get(name, name): [str(e) for e in errors] for name, errors in form.errors.items() if name != "__all__"}


def all_errors_text(form: forms.Form) -> str:
    """Every error of a small form (one button, no visible field) as one sentence for the page's alert."""
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


class SignInForm(forms.Form):
    """The sign-in page: an e-mail and a password; ``next`` is checked by the view."""

    email = forms.CharField(max_length=254, error_messages={"required": _("Write your e-mail.")})
    password = forms.CharField(max_length=4096, strip=False, error_messages={"required": _("Write your password.")})
    next = forms.CharField(max_length=2000, required=False)
