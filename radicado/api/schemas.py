"""API payloads: stable codes in, stable codes out."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, Field

# Limits of the columns the values are stored in (checked against the models in the tests).
CODE_MAX = 50  # SlugField: type, priority, state, urgency, impact, team and customer codes
SUBJECT_MAX = 250
BODY_MAX = 100_000  # radicado.tickets.actions.BODY_MAX
NAME_MAX = 200
EMAIL_MAX = 254
PHONE_MAX = 40
TOKEN_NAME_MAX = 100
PASSWORD_MAX = 4096
MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


def text(max_length: int, default: Any = ..., *, description: str | None = None, min_length: int = 0) -> Any:
    """A string field with a length limit that refuses NUL characters."""
    return Field(default, max_length=max_length, min_length=min_length, pattern=NO_NUL, description=description)


def _ascii_decimal(value: Any) -> Any:
    """A decimal written as text must use ASCII digits and a point ("١" and "²" are not digits here)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,20}(?:\.[0-9]{1,20})?", value.strip()):
        raise ValueError("write the number with the digits 0 to 9 and a point for the decimals")
    return value


Amount = Annotated[Decimal, BeforeValidator(_ascii_decimal)]
Code = Annotated[str, Field(max_length=CODE_MAX, pattern=r"^[-a-zA-Z0-9_]*$")]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
ChannelCode = Literal["portal", "phone", "email", "whatsapp", "api"]  # tickets.models.Channel


class Error(Schema):
    detail: str


class ValidationIssue(Schema):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(Schema):
    """A request that does not match the schema (422): one issue per field."""

    detail: list[ValidationIssue]


def errors(*codes: int) -> dict[int, Any]:
    """The documented 4xx answers of an endpoint: these, plus 401 (bad token) and 422 (invalid input)."""
    return {code: ValidationErrorOut if code == 422 else Error for code in sorted({*codes, 401, 422})}


class TokenIn(Schema):
    email: str = text(EMAIL_MAX)
    password: str = Field(max_length=PASSWORD_MAX)
    workspace: Code = Field(description="Workspace slug")
    name: str = text(TOKEN_NAME_MAX, "api")


class TokenOut(Schema):
    token: str = Field(description="Shown once; store it safely")
    prefix: str
    workspace: str
    expires_at: dt.datetime | None = Field(description="After this the token is refused (401); null: never")


class TokenIssueIn(Schema):
    user_email: str = text(
        EMAIL_MAX,
        "",
        description="Optional; if given it must be your own: a token is issued only to its own user (ADR 0016)",
    )
    name: str = text(TOKEN_NAME_MAX, "api")


class TokenInfo(Schema):
    prefix: str
    name: str
    user_email: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TicketIn(Schema):
    type: Code = Field(description="Ticket type code")
    subject: str = text(SUBJECT_MAX)
    description: str = text(BODY_MAX)
    requester_id: Id | None = Field(None, description="Contact id; staff only, default: yourself")
    priority: Code | None = Field(None, description="Priority code; staff only")
    urgency: Code = Field("", description="Urgency code of the priority matrix (I5)")
    impact: Code = Field("", description="Impact code of the priority matrix (I5)")
    channel: ChannelCode | None = Field(
        None, description="Where the request came from; staff only (default: api). Customers get 403 for another."
    )


class Ref(Schema):
    code: str
    name: str


class TicketOut(Schema):
    number: int
    reference: str
    subject: str
    type: Ref
    priority: Ref
    status: Ref
    category: str
    channel: str
    level: str
    customer_id: int
    customer_name: str
    requester_id: int
    requester_name: str
    assignee_id: int | None
    terms_pending: int | None = Field(None, description="Version of the terms waiting for the customer's acceptance")
    team: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MessageOut(Schema):
    kind: str
    author: str
    by_customer: bool
    body: str
    created_at: dt.datetime


class EventOut(Schema):
    kind: str
    actor: str
    from_value: str
    to_value: str
    created_at: dt.datetime


class ClockOut(Schema):
    kind: str = Field(description="first_response | next_update | resolution")
    state: str = Field(description="running | paused | met | breached")
    due_at: dt.datetime
    remaining_minutes: int = Field(description="Business minutes left; negative when overdue")
    completed_at: dt.datetime | None
    paused: bool
    target: str
    calendar: str
    explanation: list[str]


class TicketDetail(TicketOut):
    description: str
    ans_in_arrears: bool = Field(description="No ANS applies while the customer is in arrears (T10)")
    clocks: list[ClockOut]
    messages: list[MessageOut]
    events: list[EventOut]


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class BodyIn(Schema):
    body: str = text(BODY_MAX)


class TransitionIn(Schema):
    to: Code = Field(description="Target state code")


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    tier: str
    standing: str
    contract_value: str | None
    currency: str


class CustomerIn(Schema):
    code: Code = Field(min_length=1)
    name: str = text(NAME_MAX, min_length=1)
    contract_value: Amount | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    currency: str = Field("COP", pattern=r"^[A-Z]{3}$")


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    email: str
    phone: str


class ContactIn(Schema):
    customer_id: Id
    name: str = text(NAME_MAX, min_length=1)
    email: str = text(EMAIL_MAX)
    phone: str = text(PHONE_MAX, "")


class TicketFilters(Schema):
    status: Code = ""
    priority: Code = ""
    type: Code = ""
    customer: Id | None = None
    assignee: int | None = Field(None, ge=0, le=MAX_ID, description="Membership id; 0: unassigned")
    team: Code = ""
    level: Literal["", "n1", "n2", "n3"] = ""
    q: str = text(100, "")
    cursor: str | None = Field(None, max_length=100, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)
