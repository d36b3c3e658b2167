"""Writes to channel configuration."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from radicado.channels.models import Mailbox, UnknownSenderPolicy
from radicado.workspaces.actions import audit
from radicado.workspaces.models import User, Workspace


@transaction.atomic
def create_mailbox(
    *,
    workspace: Workspace,
    address: str,
    display_name: str,
    now: dt.datetime,
    unknown_senders: UnknownSenderPolicy = UnknownSenderPolicy.CREATE,
    actor: User | None = None,
) -> Mailbox:
    """A support address for the workspace (IMAP settings can be added later)."""
    mailbox = Mailbox.objects.create(
        workspace=workspace, address=address.strip().lower(), display_name=display_name, unknown_senders=unknown_senders
    )
    audit(workspace=workspace, actor=actor, action="mailbox.created", target=mailbox.address, now=now)
    return mailbox
