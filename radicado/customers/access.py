"""Resolve the acting user in a workspace, and scoped loaders for customer data."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from radicado.customers.models import Contact, Customer
from radicado.workspaces.access import Actor, WorkspaceNotFound, membership_for
from radicado.workspaces.models import Membership, Role, User


class CustomerNotFound(Http404):
    pass


class ContactNotFound(Http404):
    pass


def actor_for(*, user: User, workspace_slug: str) -> Actor:
    """Build the Actor for a user in a workspace; raise WorkspaceNotFound.

    A contact or key user without a contact record in the workspace cannot act.
    """
    membership = membership_for(user=user, workspace_slug=workspace_slug)
    if membership.role in ("contact", "key_user"):
        contact = (
            Contact.objects.filter(workspace_id=membership.workspace_id, user=user).only("id", "customer_id").first()
        )
        if contact is None:
            raise WorkspaceNotFound
        return Actor(
            role=membership.role,
            user=user,
            workspace=membership.workspace,
            membership=membership,
            contact_id=contact.id,
            customer_id=contact.customer_id,
        )
    return Actor(role=membership.role, user=user, workspace=membership.workspace, membership=membership)


def actor_for_contact(*, contact: Contact) -> Actor:
    """The contact acting without signing in (e-mail, WhatsApp): its own scope only.

    A contact whose portal membership makes it a key user keeps that role.
    """
    role = Role.CONTACT
    if contact.user_id is not None:
        membership = Membership.objects.filter(
            workspace_id=contact.workspace_id, user_id=contact.user_id, is_active=True
        ).first()
        if membership is not None and membership.role == Role.KEY_USER:
            role = Role.KEY_USER
    return Actor(
        role=role,
        workspace=contact.workspace,
        user=contact.user,
        contact_id=contact.id,
        customer_id=contact.customer_id,
        name=contact.name,
    )


def customers_visible_to(actor: Actor) -> QuerySet[Customer]:
    """Customers the actor may see: all for staff, its own company for a key user."""
    qs = Customer.objects.filter(workspace_id=actor.workspace.id)
    if actor.is_staff:
        return qs
    if actor.is_key_user and actor.customer_id is not None:
        return qs.filter(id=actor.customer_id)
    return qs.none()


def contacts_visible_to(actor: Actor) -> QuerySet[Contact]:
    """Contacts the actor may see: all for staff, its company's for a key user, itself otherwise."""
    qs = Contact.objects.filter(workspace_id=actor.workspace.id)
    if actor.is_staff:
        return qs
    if actor.is_key_user and actor.customer_id is not None:
        return qs.filter(customer_id=actor.customer_id)
    if actor.contact_id is not None:
        return qs.filter(id=actor.contact_id)
    return qs.none()


def access_customer(*, actor: Actor, customer_id: int) -> Customer:
    """Load a customer the actor may see; raise CustomerNotFound."""
    try:
        return customers_visible_to(actor).get(id=customer_id)
    except Customer.DoesNotExist:
        raise CustomerNotFound from None


def access_contact(*, actor: Actor, contact_id: int) -> Contact:
    """Load a contact the actor may see; raise ContactNotFound."""
    try:
        return contacts_visible_to(actor).select_related("customer").get(id=contact_id)
    except Contact.DoesNotExist:
        raise ContactNotFound from None
