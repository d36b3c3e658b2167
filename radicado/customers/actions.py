"""Writes to customers and contacts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from radicado.action import action, insert
from radicado.customers.models import Consent, ConsentChannel, Contact, Customer, Standing
from radicado.workspaces.actions import add_member, audit, ensure_user
from radicado.workspaces.models import Role, User, Workspace


@action
def create_customer(
    *,
    workspace: Workspace,
    code: str,
    name: str,
    now: dt.datetime,
    contract_value: Decimal | None = None,
    currency: str = "COP",
    standing: Standing = Standing.CURRENT,
    actor: User | None = None,
) -> Customer:
    customer = Customer.objects.create(
        workspace=workspace, code=code, name=name, contract_value=contract_value, currency=currency, standing=standing
    )
    audit(workspace=workspace, actor=actor, action="customer.created", target=code, now=now)
    return customer


@action
def set_standing(*, customer: Customer, standing: Standing, actor: User | None, now: dt.datetime) -> None:
    old = customer.standing
    customer.standing = standing
    customer.save(update_fields=["standing"])
    audit(
        workspace=customer.workspace,
        actor=actor,
        action="customer.standing",
        target=customer.code,
        now=now,
        data={"from": old, "to": str(standing)},
    )


def normalize_phone(phone: str, *, default_country: str = "57") -> str:
    """E.164 from what people type: "+57 300 000 0001", "300-000-0001" (Colombian default); "" if unusable."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return ""
    if phone.strip().startswith("+") or phone.strip().startswith("00"):
        digits = digits[2:] if phone.strip().startswith("00") else digits
        return f"+{digits}" if 8 <= len(digits) <= 15 else ""
    if len(digits) == 10:
        return f"+{default_country}{digits}"
    return f"+{digits}" if 8 <= len(digits) <= 15 else ""


@action
def create_contact(
    *,
    customer: Customer,
    name: str,
    email: str,
    now: dt.datetime,
    phone: str = "",
    portal_password: str | None = None,
    key_user: bool = False,
    actor: User | None = None,
) -> Contact:
    """Create a contact; with a password it can also sign in to the portal."""
    user = None
    if portal_password is not None:
        user = ensure_user(email=email, name=name, password=portal_password)
        add_member(
            workspace=customer.workspace,
            user=user,
            role=Role.KEY_USER if key_user else Role.CONTACT,
            now=now,
            actor=actor,
        )
    contact = insert(
        Contact(
            phone_e164=normalize_phone(phone),
            workspace=customer.workspace,
            customer=customer,
            user=user,
            name=name,
            email=email.strip().lower(),
            phone=phone,
        )
    )
    audit(workspace=customer.workspace, actor=actor, action="contact.created", target=contact.email, now=now)
    return contact


@action
def record_consent(
    *,
    contact: Contact,
    given_at: dt.datetime,
    notice_version: str,
    channel: ConsentChannel,
    actor: User | None,
    now: dt.datetime,
) -> Consent:
    """Record a contact's authorisation to process their personal data (Ley 1581 de 2012); audited."""
    consent = insert(
        Consent(
            workspace_id=contact.workspace_id,
            contact=contact,
            given_at=given_at,
            notice_version=notice_version.strip(),
            channel=channel,
            recorded_by=actor,
            recorded_at=now,
        )
    )
    audit(
        workspace=contact.workspace,
        actor=actor,
        action="contact.consent",
        target=f"contact:{contact.id}",
        now=now,
        data={"given_at": given_at.isoformat(), "notice_version": consent.notice_version, "channel": str(channel)},
    )
    return consent
