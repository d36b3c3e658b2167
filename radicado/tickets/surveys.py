"""Satisfaction surveys (I8, T8): sent when a ticket is resolved, answered once, no login needed."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.utils.translation import gettext as _

from radicado.action import action
from radicado.errors import UserError
from radicado.tickets import notify
from radicado.tickets.events import record_event
from radicado.tickets.models import EventKind, Survey, Ticket

SCORES = range(1, 6)


class SurveyError(UserError):
    """The answer cannot be taken; the message is for the person answering."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    return f"{settings.PUBLIC_URL.rstrip('/')}/encuesta/{token}/"


def start_survey(*, ticket: Ticket, now: dt.datetime) -> str | None:
    """Create the ticket's survey and mail its link; None if it already has one. Returns the token."""
    if Survey.objects.filter(ticket=ticket).exists():
        return None
    token = secrets.token_urlsafe(24)
    Survey.objects.create(workspace_id=ticket.workspace_id, ticket=ticket, token_hash=_hash(token), sent_at=now)
    event = record_event(
        workspace_id=ticket.workspace_id, ticket_id=ticket.id, actor=None, kind=EventKind.SURVEY_SENT, now=now
    )
    # The link is the credential: it goes into the message only, never into the timeline.
    notify.notify(
        ticket=ticket,
        event="survey.sent",
        actor=None,
        now=now,
        key=f"ev{event.id}",
        context={"survey_url": survey_url(token)},
    )
    return token


def survey_for_token(token: str) -> Survey | None:
    """The survey a link names (the link is the credential), or None."""
    return Survey.objects.select_related("ticket__workspace").filter(token_hash=_hash(token)).first()


@action
def answer_survey(*, survey: Survey, score: int, comment: str, now: dt.datetime) -> Survey:
    """Record the answer once; raise SurveyError for a bad score or a second answer."""
    if score not in SCORES:
        raise SurveyError(_("Choose a score from 1 to 5."))
    comment = comment.strip()[:2000]
    taken = Survey.objects.filter(id=survey.id, answered_at__isnull=True).update(
        answered_at=now, score=score, comment=comment
    )
    if taken != 1:
        raise SurveyError(_("This survey was already answered. Thank you!"))
    record_event(
        workspace_id=survey.workspace_id,
        ticket_id=survey.ticket_id,
        actor=None,
        kind=EventKind.SURVEY_ANSWERED,
        to_value=str(score),
        data={"comment": comment},
        now=now,
    )
    survey.refresh_from_db()
    return survey
