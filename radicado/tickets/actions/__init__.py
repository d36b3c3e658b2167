"""Every write to tickets: named, typed, keyword-only, one ``@action`` each, and recorded.

Interfaces load objects through ``radicado.tickets.access`` and then make one call here. Each action
validates, writes, and appends TicketEvent rows in the same transaction (``radicado.action``). ``now`` is
always a parameter: the domain never reads a clock. By concern:

- ``create``        registering a request (number, initial state, priority, ANS clocks, notice)
- ``conversation``  public replies and internal notes
- ``states``        workflow moves: a role's transition, an automatic move, a system move
- ``fields``        the side panel: priority, type, assignee, team, level
- ``guards``        the checks they share and the timeline entry;  ``errors``  how they refuse
"""

from radicado.tickets.actions.conversation import add_note, add_reply
from radicado.tickets.actions.create import allocate_ticket_number, create_ticket
from radicado.tickets.actions.errors import NotPermitted, TicketClosed, TicketError, TransitionNotAllowed
from radicado.tickets.actions.fields import assign_ticket, set_level, set_priority, set_team, set_ticket_type
from radicado.tickets.actions.guards import BODY_MAX, SUBJECT_MAX
from radicado.tickets.actions.states import (
    apply_automatic_move,
    available_transitions,
    move_to_category,
    move_to_state,
    transition_ticket,
)

__all__ = [
    "BODY_MAX",
    "SUBJECT_MAX",
    "NotPermitted",
    "TicketClosed",
    "TicketError",
    "TransitionNotAllowed",
    "add_note",
    "add_reply",
    "allocate_ticket_number",
    "apply_automatic_move",
    "assign_ticket",
    "available_transitions",
    "create_ticket",
    "move_to_category",
    "move_to_state",
    "set_level",
    "set_priority",
    "set_team",
    "set_ticket_type",
    "transition_ticket",
]
