"""The ways a ticket action refuses: each a ``UserError`` whose message is for the user."""

from __future__ import annotations

from radicado import errors
from radicado.errors import Conflict, UserError


class TicketError(UserError):
    """A request that cannot be carried out; the message is for the user."""


class TicketClosed(TicketError, Conflict):
    """The ticket is closed for good (T6): a new request must be registered."""


class TransitionNotAllowed(TicketError):
    pass


class NotPermitted(TicketError, errors.NotPermitted):
    pass
