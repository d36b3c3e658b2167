"""The sample workspaces loaded by ``radicado demo``: fictional people on example domains."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from radicado.action import action
from radicado.channels.actions import create_mailbox
from radicado.customers.access import actor_for
from radicado.customers.actions import create_contact, create_customer
from radicado.customers.models import Contact, Customer, Standing
from radicado.tickets import actions as ticket_actions
from radicado.tickets.models import Channel, Priority, TicketType
from radicado.tickets.profiles import install_profile, load_profile
from radicado.workspaces.actions import add_member, create_team, create_workspace, ensure_user
from radicado.workspaces.models import Level, Role, Workspace

DEMO_PASSWORD = "radicado-demo-2026"  # noqa: S105 - published on purpose for the sample data


@dataclass(frozen=True)
class Login:
    workspace: str
    role: str
    email: str


def _staff(ws: Workspace, people: list[tuple[str, str, Role, Level | None]], now: dt.datetime) -> list[Login]:
    logins = []
    for email, name, role, level in people:
        user = ensure_user(email=email, name=name, password=DEMO_PASSWORD)
        add_member(workspace=ws, user=user, role=role, level=level, now=now)
        logins.append(Login(ws.slug, f"{role.label}{f' {level.label}' if level else ''}", email))
    return logins


def _person(
    customer: Customer, name: str, email: str, phone: str, now: dt.datetime, *, key_user: bool = False
) -> Contact:
    """A sample contact who can sign in to the portal with the demo password."""
    return create_contact(
        customer=customer,
        name=name,
        email=email,
        phone=phone,
        portal_password=DEMO_PASSWORD,
        key_user=key_user,
        now=now,
    )


def _ticket(
    ws: Workspace,
    contact: Contact,
    type_code: str,
    subject: str,
    description: str,
    now: dt.datetime,
    *,
    agent_email: str | None = None,
    answer: str = "",
    priority: str | None = None,
) -> None:
    customer_actor = actor_for(user=contact.user, workspace_slug=ws.slug) if contact.user else None
    ticket_type = TicketType.objects.get(workspace=ws, code=type_code)
    if customer_actor is not None and priority is None:
        ticket = ticket_actions.create_ticket(
            actor=customer_actor,
            requester=contact,
            ticket_type=ticket_type,
            subject=subject,
            description=description,
            channel=Channel.PORTAL,
            now=now,
        )
    else:
        agent = ws.memberships.select_related("user").filter(role=Role.AGENT).first()
        assert agent is not None
        staff_actor = actor_for(user=agent.user, workspace_slug=ws.slug)
        ticket = ticket_actions.create_ticket(
            actor=staff_actor,
            requester=contact,
            ticket_type=ticket_type,
            subject=subject,
            description=description,
            channel=Channel.PHONE,
            now=now,
            priority=Priority.objects.get(workspace=ws, code=priority) if priority else None,
        )
    if agent_email and answer:
        agent_user = ws.memberships.get(user__email=agent_email).user
        agent_actor = actor_for(user=agent_user, workspace_slug=ws.slug)
        ticket_actions.add_reply(actor=agent_actor, ticket=ticket, body=answer, now=now + dt.timedelta(minutes=40))


def _andino(now: dt.datetime) -> list[Login]:
    ws = create_workspace(
        slug="soporte-andino",
        name="Soporte Andino S.A.S.",
        ticket_prefix="SOP",
        timezone="America/Bogota",
        support_email="soporte@example.com",
        now=now,
    )
    install_profile(workspace=ws, profile=load_profile("ans-escalonado"), now=now)
    create_mailbox(workspace=ws, address="soporte@example.com", display_name="Soporte Andino", now=now)
    logins = _staff(
        ws,
        [
            ("diana.agente@example.com", "Diana Restrepo", Role.AGENT, Level.N1),
            ("esteban.especialista@example.com", "Esteban Mora", Role.AGENT, Level.N2),
            ("fabiola.supervisora@example.com", "Fabiola Quintero", Role.SUPERVISOR, Level.N3),
            ("gabriel.admin@example.com", "Gabriel Ortiz", Role.ADMIN, None),
        ],
        now,
    )
    members = list(ws.memberships.filter(role__in=[Role.AGENT, Role.SUPERVISOR]))
    create_team(workspace=ws, code="mesa", name="Mesa de servicio", members=members[:1], now=now)
    create_team(workspace=ws, code="especialistas", name="Especialistas", members=members[1:], now=now)
    clinic = create_customer(
        workspace=ws, code="clinica-aurora", name="Clínica Aurora", contract_value=Decimal("4500000"), now=now
    )
    transport = create_customer(
        workspace=ws, code="transportes-condor", name="Transportes Cóndor", contract_value=Decimal("1200000"), now=now
    )
    create_customer(
        workspace=ws, code="panaderia-la-espiga", name="Panadería La Espiga", standing=Standing.IN_ARREARS, now=now
    )
    ana = _person(clinic, "Ana Beltrán", "ana.lider@example.com", "+57 300 000 0001", now, key_user=True)
    bruno = _person(clinic, "Bruno Cárdenas", "bruno@example.com", "+57 300 000 0002", now)
    carla = _person(transport, "Carla Duarte", "carla@example.com", "+57 300 000 0003", now)
    logins += [
        Login(ws.slug, "Usuario líder (Clínica Aurora)", ana.email),
        Login(ws.slug, "Contacto (Clínica Aurora)", bruno.email),
        Login(ws.slug, "Contacto (Transportes Cóndor)", carla.email),
    ]
    _ticket(
        ws,
        bruno,
        "falla",
        "No puedo imprimir las facturas",
        "Desde ayer la impresora de admisiones no imprime facturas electrónicas.",
        now,
        agent_email="diana.agente@example.com",
        answer="Hola Bruno, ¿puede enviarnos una captura del error que aparece?",
    )
    _ticket(
        ws,
        ana,
        "soporte",
        "Crear usuario para la nueva jefa de enfermería",
        "Necesitamos un usuario con perfil de jefe de enfermería para Laura.",
        now + dt.timedelta(hours=1),
    )
    _ticket(
        ws,
        carla,
        "falla",
        "El módulo de despachos está lento",
        "Las consultas de despachos tardan más de un minuto desde esta mañana.",
        now + dt.timedelta(hours=2),
        priority="media",
    )
    _ticket(
        ws,
        carla,
        "capacitacion",
        "¿Cómo exporto el informe mensual?",
        "Quisiera saber cómo exportar el informe de viajes a Excel.",
        now + dt.timedelta(hours=3),
    )
    return logins


def _nube(now: dt.datetime) -> list[Login]:
    ws = create_workspace(
        slug="telconube",
        name="TelcoNube",
        ticket_prefix="TEL",
        timezone="America/Bogota",
        support_email="ayuda@example.co",
        now=now,
    )
    install_profile(workspace=ws, profile=load_profile("itil-saas"), now=now)
    create_mailbox(workspace=ws, address="ayuda@example.co", display_name="Ayuda TelcoNube", now=now)
    logins = _staff(
        ws,
        [
            ("ines.agente@example.co", "Inés Salazar", Role.AGENT, Level.N1),
            ("julian.admin@example.co", "Julián Pardo", Role.ADMIN, None),
        ],
        now,
    )
    shop = create_customer(
        workspace=ws,
        code="ferreteria-tornillo",
        name="Ferretería El Tornillo",
        contract_value=Decimal("800000"),
        now=now,
    )
    hugo = _person(shop, "Hugo Peña", "hugo@example.co", "+57 300 000 0004", now)
    logins.append(Login(ws.slug, "Contacto (Ferretería El Tornillo)", hugo.email))
    _ticket(
        ws,
        hugo,
        "incidente",
        "Sin servicio de telefonía IP",
        "Ninguna extensión tiene tono desde las 8:00.",
        now,
        agent_email="ines.agente@example.co",
        answer="Estamos revisando la troncal SIP de su sede.",
    )
    return logins


@action
def load_demo(*, now: dt.datetime) -> list[Login] | None:
    """Create the two sample workspaces; return their logins, or None if already loaded."""
    if Workspace.objects.filter(slug="soporte-andino").exists():
        return None
    return _andino(now) + _nube(now)
