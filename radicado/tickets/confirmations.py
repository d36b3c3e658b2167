"""Customer confirmations (H3, H5): an agent asks the customer to approve an estimate, a quote,
a survey or an access; the ticket waits (its clocks paused by the waiting state) until the
customer approves or declines, in the portal or through the link in the e-mail. A larger
estimate than the one approved asks again; a newer request replaces a pending one."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from radicado.action import action
from radicado.errors import UserError
from radicado.tickets.actions import NotPermitted, move_to_category, move_to_state
from radicado.tickets.events import record_event
from radicado.tickets.mail_out import queue_ticket_mail
from radicado.tickets.models import (
    Category,
    Confirmation,
    ConfirmationKind,
    ConfirmationStatus,
    EventKind,
    Ticket,
    WorkflowState,
)
from radicado.tickets.terms import ensure_terms_accepted
from radicado.workspaces.access import Actor


class ConfirmationError(UserError):
    """The confirmation cannot be asked or answered as requested; the message is for the user."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirmation_url(token: str) -> str:
    return f"{settings.PUBLIC_URL.rstrip('/')}/confirmacion/{token}/"


def needs_new_approval(ticket: Ticket, hours: Decimal | None) -> bool:
    """H5: an estimate above the largest approved one must be confirmed again."""
    if hours is None:
        return True
    approved = Confirmation.objects.filter(
        ticket=ticket, kind=ConfirmationKind.ESTIMATE, status=ConfirmationStatus.APPROVED
    ).values_list("hours", flat=True)
    return not any(a is not None and hours <= a for a in approved)


@action
def request_confirmation(
    *,
    actor: Actor,
    ticket: Ticket,
    kind: ConfirmationKind,
    description: str,
    now: dt.datetime,
    hours: Decimal | None = None,
    amount: Decimal | None = None,
) -> tuple[Confirmation, str]:
    """Ask the customer; the ticket moves to its workflow's waiting state. Returns the row and its link token."""
    if not actor.is_staff or actor.workspace.id != ticket.workspace_id:
        raise NotPermitted(_("Only support staff can do this."))
    if ticket.is_closed:
        raise ConfirmationError(_("This request is closed."))
    ensure_terms_accepted(ticket)
    if not description.strip():
        raise ConfirmationError(_("Describe what the customer is asked to approve."))
    if kind == ConfirmationKind.ESTIMATE and not needs_new_approval(ticket, hours):
        raise ConfirmationError(_("The customer already approved an estimate at least this large."))
    Confirmation.objects.filter(ticket=ticket, status=ConfirmationStatus.PENDING).update(
        status=ConfirmationStatus.SUPERSEDED
    )
    token = secrets.token_urlsafe(24)
    resume = ticket.state.code if ticket.category != Category.WAITING else ""
    confirmation = Confirmation.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        kind=kind,
        description=description.strip(),
        hours=hours,
        amount=amount,
        token_hash=_hash(token),
        resume_state=resume,
        requested_by_name=actor.display_name,
        requested_at=now,
    )
    record_event(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        actor=actor,
        kind=EventKind.CONFIRMATION_REQUESTED,
        to_value=str(kind),
        now=now,
        data={"description": confirmation.description, "hours": str(hours or ""), "amount": str(amount or "")},
    )
    move_to_category(actor=actor, ticket=ticket, category=Category.WAITING, now=now)
    body = _("We need your approval to go on with %(ref)s:\n\n%(what)s\n\nApprove or decline here: %(url)s") % {
        "ref": ticket.reference,
        "what": confirmation.description,
        "url": confirmation_url(token),
    }
    queue_ticket_mail(ticket=ticket, body=body, now=now)
    return confirmation, token


def confirmation_for_token(token: str) -> Confirmation | None:
    return Confirmation.objects.select_related("ticket__workspace").filter(token_hash=_hash(token)).first()


@action
def answer_confirmation(
    *, confirmation: Confirmation, approve: bool, name: str, now: dt.datetime, actor: Actor | None = None
) -> Confirmation:
    """Record the customer's answer once and put the ticket back to work."""
    status = ConfirmationStatus.APPROVED if approve else ConfirmationStatus.DECLINED
    taken = Confirmation.objects.filter(id=confirmation.id, status=ConfirmationStatus.PENDING).update(
        status=status, answered_by_name=name[:200], answered_at=now
    )
    if taken != 1:
        raise ConfirmationError(_("This request for approval was already answered or replaced."))
    confirmation.refresh_from_db()
    ticket = Ticket.objects.select_related("workspace", "state", "customer", "type", "priority").get(
        id=confirmation.ticket_id
    )
    record_event(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        actor=actor,
        kind=EventKind.CONFIRMATION_ANSWERED,
        from_value=str(confirmation.kind),
        to_value=str(status),
        now=now,
        data={"by": confirmation.answered_by_name},
    )
    if ticket.category == Category.WAITING and not ticket.is_closed:
        target = WorkflowState.objects.filter(
            workflow_id=ticket.state.workflow_id, code=confirmation.resume_state
        ).first()
        move_to_state(ticket=ticket, state=target, fallback=Category.OPEN, now=now, actor=actor)
    return confirmation
