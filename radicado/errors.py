"""User errors: a request that cannot be carried out, with a message for the person who made it.

Domain code raises a ``UserError`` (or a subclass) when the input or the state of things forbids what was
asked; interfaces turn it into a message beside the field (portal, console) or a 4xx answer (API, with
``status``). Anything else that escapes an action is a bug and must surface as one (a 500 in the tests),
never as a 400: a stray ``ValueError`` from ``int("²")`` is not a user error (ADR 0014).
"""

from __future__ import annotations


class UserError(Exception):
    """A request that cannot be carried out; ``str(exc)`` is for the user."""

    status = 400  # the API's answer


class NotPermitted(UserError):
    """The actor may not do this."""

    status = 403


class Conflict(UserError):
    """The thing asked for conflicts with its state (e.g. a closed ticket)."""

    status = 409
