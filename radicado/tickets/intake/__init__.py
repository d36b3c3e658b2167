"""The intake wall: everything that turns inbound mail into work, one message or a batch at a time.

Inside the wall (this package) lives the only intake code that knows about batches: the routing
(``routing.py``, written once against ``lookup.MessageLookup``), the batch and its lookup
(``batch.py``, ``lookup.py``: the unit of work of ADR 0010–0012), LMTP group commit
(``gather.py``, ADR 0013) and the admin's review (``review.py``). Outside it, code calls the
names below and ticket code never needs to know whether it runs in a batch (ADR 0014).
"""

from radicado.tickets.intake.batch import ingest_many, ingest_stream
from radicado.tickets.intake.gather import GroupIntake, mailboxes_for
from radicado.tickets.intake.review import raw_messages_for_review, reprocess_raw
from radicado.tickets.intake.routing import IngestResult, ingest_email, plus_address, plus_token, process_raw

__all__ = [
    "GroupIntake",
    "IngestResult",
    "ingest_email",
    "ingest_many",
    "ingest_stream",
    "mailboxes_for",
    "plus_address",
    "plus_token",
    "process_raw",
    "raw_messages_for_review",
    "reprocess_raw",
]
