"""API payloads: stable codes in, stable codes out."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field


class Error(Schema):
    detail: str


class TokenIn(Schema):
    email: str
    password: str
    workspace: str = Field(description="Workspace slug")
    name: str = "api"


class TokenOut(Schema):
    token: str = Field(description="Shown once; store it safely")
    prefix: str
    workspace: str


class TokenIssueIn(Schema):
    user_email: str
    name: str = "api"


class TokenInfo(Schema):
    prefix: str
    name: str
    user_email: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TicketIn(Schema):
    type: str = Field(description="Ticket type code")
    subject: str = Field(max_length=250)
    description: str
    requester_id: int | None = Field(None, description="Contact id; staff only, default: yourself")
    priority: str | None = Field(None, description="Priority code; staff only")
    urgency: str = Field("", description="Urgency code of the priority matrix (I5)")
    impact: str = Field("", description="Impact code of the priority matrix (I5)")
    channel: str = "api"


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
    body: str


class TransitionIn(Schema):
    to: str = Field(description="Target state code")


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    tier: str
    standing: str
    contract_value: str | None
    currency: str


class CustomerIn(Schema):
    code: str
    name: str
    contract_value: str | None = None
    currency: str = "COP"


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    email: str
    phone: str


class ContactIn(Schema):
    customer_id: int
    name: str
    email: str
    phone: str = ""
