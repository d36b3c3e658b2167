#!/usr/bin/env python
"""Load a realistic service-desk history into one Radicado workspace, for the web benchmark.

This is a BENCHMARK LOADER, not product code: it writes rows with ``bulk_create``
instead of going through ``radicado.tickets.actions`` one ticket at a time
(100,000 tickets through the actions would take many minutes). The rows are
what the actions would have written for the same history:

* the workspace, its setup from profiles/default.json (``--setup full``, the
  default: ``install_profile``, i.e. the ticket setup, the ANS calendars,
  policies and tiers and the default notification rules, as a new workspace
  gets them; ``--setup tickets``: ``install_ticket_setup`` only, as the runs
  before issue 11, so that API create started no clocks), a support mailbox
  (``soporte@example.com``, no IMAP; ``--no-mailbox`` leaves it out, and then
  the e-mail rules are dropped and API create queues no notice), the agents (``ensure_user`` / ``add_member``) and the
  audit entries of customers, contacts and members;
* every ticket has ``category`` = its state's category, ``priority_rank`` = its
  priority's rank, ``customer`` = its requester's customer, numbers 1..N in
  order of arrival, and ``TicketSequence.last_number`` = N;
* every ticket has a TicketEvent timeline that leads to its state through the
  workflow's transitions: ``created`` (to the initial state), ``assigned``,
  the ``transitioned`` steps, and one ``replied`` / ``noted`` event per reply
  or note, with ``updated_at``, ``resolved_at`` and ``closed_at`` set from it.

Shape (the same as the django-helpdesk anchor in shared/peers/django-helpdesk,
mapped to our model): 100,000 tickets created across the last two years with
Spanish subjects and 2-6 sentence descriptions; status 18 % open-ish (new / in
progress), 2 % reopened (resolved, then back in progress), 25 % resolved, 53 %
closed, 2 % cancelled; 75 % assigned to one of two agents; 5,000 contacts of
500 customers; 3 messages (agent reply or internal note, customer reply, agent
reply or note) on 10 % of the tickets. Seeded: every run loads the same rows.

Run with DJANGO_SETTINGS_MODULE=config.settings (run.sh sets it). Prints one
JSON line with the timings and the facts bench.py needs, and writes it to --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from radicado.channels.models import Mailbox  # noqa: E402
from radicado.customers.models import Contact, Customer  # noqa: E402
from radicado.tickets.models import (  # noqa: E402
    PUBLIC_EVENT_KINDS,
    Channel,
    EventKind,
    Note,
    Priority,
    Reply,
    Ticket,
    TicketEvent,
    TicketSequence,
    TicketType,
    WorkflowState,
)
from radicado.tickets.profiles import install_profile  # noqa: E402
from radicado.tickets.workflows import install_ticket_setup  # noqa: E402
from radicado.workspaces.actions import add_member, create_workspace, ensure_user  # noqa: E402
from radicado.workspaces.models import AuditEntry, Level, Membership, Role, User  # noqa: E402

AGENT_PASSWORD = "bench-pass-1"
WORKSPACE = "soporte"

# --- Spanish text (our own vocabulary; same kind and length as the anchor's) ---------
ASUNTOS = [
    "No puedo entrar a {sistema}",
    "Error al emitir {documento} desde {sistema}",
    "Solicito acceso a {sistema}",
    "{equipo} no prende",
    "{equipo} está muy lento",
    "Restablecer contraseña de {sistema}",
    "Intermitencia en {servicio}",
    "No me llegan notificaciones de {sistema}",
    "Instalar {software} en {equipo}",
    "Duda sobre {documento} de {mes}",
    "Sin {servicio} en la sede {sede}",
    "Crear usuario nuevo en {sistema}",
    "Reclamo: {documento} con valores errados",
    "Ayuda con {software}",
    "La impresora de {sede} no imprime",
]
SISTEMA = [
    "SAP",
    "el portal de clientes",
    "el ERP",
    "la nómina",
    "el CRM",
    "facturación electrónica",
    "la intranet",
    "la VPN",
    "el correo",
    "inventarios",
]
DOCUMENTO = [
    "la factura electrónica",
    "la nota crédito",
    "el certificado laboral",
    "el informe de ventas",
    "la orden de compra",
    "el desprendible de nómina",
    "el estado de cartera",
    "la cotización",
]
EQUIPO = ["El portátil", "La impresora", "El computador", "El escáner", "El teléfono IP", "La tableta", "El monitor"]
SERVICIO = ["internet", "wifi", "telefonía", "el servidor de archivos", "la base de datos", "el sistema de turnos"]
SOFTWARE = ["Office 365", "Acrobat Reader", "Teams", "el antivirus", "Power BI", "AutoCAD", "Chrome"]
MES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
SEDE = ["Bogotá", "Medellín", "Cali", "Barranquilla", "Bucaramanga", "Pereira", "Cartagena"]
FRASES = [
    "Buenas tardes, les cuento que desde hoy temprano {problema}.",
    "Ya reinicié el equipo dos veces y sigue igual.",
    "El mensaje de error sale cuando intento {accion}.",
    "Les envío la captura de pantalla del error.",
    "Esto tiene detenido al equipo de {area}; agradezco prioridad.",
    "Revisé cables y conexión y todo se ve normal.",
    "¿Me confirman si es una falla general o solo de mi usuario?",
    "Tenemos un cliente esperando respuesta hoy mismo.",
    "Quedo pendiente de su respuesta, gracias.",
    "Mil gracias por la ayuda con este caso.",
    "Funcionaba bien hasta {mes}, después empezó a fallar.",
    "Necesito resolverlo para entregar el informe del mes.",
]
PROBLEMA = [
    "no me deja iniciar sesión",
    "la pantalla se congela",
    "los reportes no cargan",
    "sale un error 500",
    "todo está muy lento",
    "los cambios no se guardan",
    "aparece acceso denegado",
]
ACCION = [
    "guardar el documento",
    "imprimir",
    "exportar a Excel",
    "enviar el formulario",
    "abrir un adjunto",
    "aprobar una solicitud",
]
AREA = ["contabilidad", "ventas", "talento humano", "logística", "cartera", "gerencia"]
RESPUESTAS = [
    "Hola, ya estamos revisando. ¿Nos indicas tu usuario, por favor?",
    "Restablecimos la contraseña; intenta ingresar de nuevo.",
    "Escalamos el caso con el proveedor y te mantenemos al tanto.",
    "Un técnico pasa mañana en la mañana por la sede.",
    "Gracias, ya quedó funcionando. Pueden cerrar el caso.",
    "Sigue pasando lo mismo, ¿pueden revisar otra vez?",
    "Aplicamos la actualización y reiniciamos el servicio.",
]
NOMBRES = [
    "Andrea",
    "Carlos",
    "Diana",
    "Felipe",
    "Juliana",
    "Santiago",
    "Valentina",
    "Camilo",
    "Paola",
    "Jorge",
    "Natalia",
    "Sebastián",
    "Laura",
    "Andrés",
]
APELLIDOS = [
    "Gómez",
    "Rodríguez",
    "Martínez",
    "López",
    "García",
    "Hernández",
    "Ramírez",
    "Torres",
    "Castro",
    "Moreno",
    "Rojas",
    "Vargas",
]
EMPRESAS = [
    "Industrias",
    "Comercializadora",
    "Servicios",
    "Distribuidora",
    "Inversiones",
    "Transportes",
    "Constructora",
    "Laboratorios",
    "Agroindustrial",
    "Tecnología",
]
DOMINIOS = ["empresa.example", "cliente.example", "correo.example", "industrias.example"]


def subject(rng: random.Random) -> str:
    return rng.choice(ASUNTOS).format(
        sistema=rng.choice(SISTEMA),
        documento=rng.choice(DOCUMENTO),
        equipo=rng.choice(EQUIPO),
        servicio=rng.choice(SERVICIO),
        software=rng.choice(SOFTWARE),
        mes=rng.choice(MES),
        sede=rng.choice(SEDE),
    )


def description(rng: random.Random) -> str:
    return " ".join(
        rng.choice(FRASES).format(
            problema=rng.choice(PROBLEMA), accion=rng.choice(ACCION), area=rng.choice(AREA), mes=rng.choice(MES)
        )
        for _ in range(rng.randint(2, 6))
    )


# Final status mix (percent), as the anchor's 18 open / 2 reopened / 25 resolved /
# 53 closed / 2 duplicate. "reopened" ends in en_curso after a resolution.
STATUS_MIX = [("nuevo", 7), ("en_curso", 11), ("reopened", 2), ("resuelto", 25), ("cerrado", 53), ("cancelado", 2)]
# The anchor's priorities 1..5 (3/12/60/20/5 %) on our four ranks.
PRIORITY_MIX = [("urgente", 3), ("alta", 12), ("normal", 60), ("baja", 25)]
TYPE_MIX = [("incidente", 60), ("requerimiento", 30), ("consulta", 10)]
CHANNEL_MIX = [(Channel.PORTAL, 40), (Channel.EMAIL, 30), (Channel.PHONE, 20), (Channel.WHATSAPP, 10)]
LEVEL_MIX = [(Level.N1, 85), (Level.N2, 12), (Level.N3, 3)]
# Which workflow steps lead to each final status (from -> to, who moves it).
PATHS = {
    "nuevo": [],
    "en_curso": [("nuevo", "en_curso", "agent")],
    "reopened": [("nuevo", "en_curso", "agent"), ("en_curso", "resuelto", "agent"), ("resuelto", "en_curso", "agent")],
    "resuelto": [("nuevo", "en_curso", "agent"), ("en_curso", "resuelto", "agent")],
    # Closed: resolved by the agent, then closed by the requester (portal) or a supervisor.
    "cerrado": [("nuevo", "en_curso", "agent"), ("en_curso", "resuelto", "agent"), ("resuelto", "cerrado", "closer")],
    "cancelado": [("nuevo", "cancelado", "agent")],
}


def weighted(mix: list[tuple[object, int]]) -> list[object]:
    return [value for value, weight in mix for _ in range(weight)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--message-share", type=float, default=0.10)
    ap.add_argument("--messages-each", type=int, default=3)
    ap.add_argument("--customers", type=int, default=500)
    ap.add_argument("--contacts", type=int, default=5_000)
    ap.add_argument("--portal-share", type=float, default=0.20, help="contacts with a portal account")
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--sample", type=int, default=200, help="tickets with messages for the ticket view")
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--no-mailbox",
        action="store_true",
        help="no support mailbox: e-mail notification rules are then dropped (runs before issue 11)",
    )
    ap.add_argument(
        "--setup",
        choices=("full", "tickets"),
        default="full",
        help="full: the whole profile (ticket setup, ANS, notification rules); tickets: the ticket setup only",
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if Ticket.objects.exists():
        sys.exit("database already has tickets; load into a fresh database")

    t0 = time.perf_counter()
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(days=730)
    with transaction.atomic():
        ws = create_workspace(
            slug=WORKSPACE, name="Soporte TI", ticket_prefix="SOP", timezone="America/Bogota", now=start
        )
        profile = json.loads((ROOT / "profiles" / "default.json").read_text(encoding="utf-8"))
        if args.setup == "full":
            install_profile(workspace=ws, profile=profile, now=start)
        if not args.no_mailbox:
            # The support address notices go from; without it the e-mail rules are dropped and API
            # create would render and queue no registration notice. No IMAP: nothing is polled.
            Mailbox.objects.create(workspace=ws, address="soporte@example.com", display_name="Soporte TI")
        else:
            install_ticket_setup(workspace=ws, spec=profile, now=start)
        agents: list[Membership] = []
        for email, name in (("agente1@example.com", "Ana Pérez"), ("agente2@example.com", "Luis Gómez")):
            user = ensure_user(email=email, name=name, password=AGENT_PASSWORD)
            agents.append(add_member(workspace=ws, user=user, role=Role.AGENT, level=Level.N1, now=start))
        for m in agents:
            m.user = User.objects.get(id=m.user_id)
        # A supervisor closes resolved tickets whose requester has no portal account
        # (the workflow lets the customer or a lead close).
        lead_user = ensure_user(email="supervisora@example.com", name="Marta Ruiz", password=AGENT_PASSWORD)
        lead = add_member(workspace=ws, user=lead_user, role=Role.SUPERVISOR, level=Level.N3, now=start)
        lead.user = lead_user

        # Customers and contacts: what create_customer / create_contact write, in bulk.
        customers = Customer.objects.bulk_create(
            Customer(
                workspace=ws,
                code=f"cliente-{i + 1:04d}",
                name=f"{rng.choice(EMPRESAS)} {rng.choice(APELLIDOS)} {i + 1} S.A.S.",
            )
            for i in range(args.customers)
        )
        portal_hash = make_password(AGENT_PASSWORD)  # one hash shared by the bench's portal users
        contact_rows, users = [], []
        for i in range(args.contacts):
            first, last = rng.choice(NOMBRES), rng.choice(APELLIDOS)
            email = f"{first.lower()}.{i + 1}@{rng.choice(DOMINIOS)}".replace("á", "a").replace("é", "e")
            name = f"{first} {last}"
            contact_rows.append((customers[i % len(customers)], name, email))
            if rng.random() < args.portal_share:
                users.append(User(email=email, name=name, password=portal_hash))
        users = User.objects.bulk_create(users)
        user_by_email = {u.email: u for u in users}
        Membership.objects.bulk_create(Membership(workspace=ws, user=u, role=Role.CONTACT, level="") for u in users)
        contacts = Contact.objects.bulk_create(
            Contact(
                workspace=ws,
                customer=c,
                name=name,
                email=email,
                user=user_by_email.get(email),
                phone=f"+57 60{rng.randint(1, 8)} {rng.randint(1000000, 9999999)}",
            )
            for c, name, email in contact_rows
        )
        AuditEntry.objects.bulk_create(
            [AuditEntry(workspace=ws, action="customer.created", target=c.code, at=start) for c in customers]
            + [
                AuditEntry(
                    workspace=ws, action="member.set", target=u.email, at=start, data={"role": "contact", "level": ""}
                )
                for u in users
            ]
            + [AuditEntry(workspace=ws, action="contact.created", target=c.email, at=start) for c in contacts]
        )

        states = {s.code: s for s in WorkflowState.objects.filter(workspace=ws)}
        priorities = {p.code: p for p in Priority.objects.filter(workspace=ws)}
        types = {t.code: t for t in TicketType.objects.filter(workspace=ws)}
    t_setup = time.perf_counter() - t0

    status_pool = weighted(STATUS_MIX)
    priority_pool = weighted(PRIORITY_MIX)
    type_pool = weighted(TYPE_MIX)
    channel_pool = weighted(CHANNEL_MIX)
    level_pool = weighted(LEVEL_MIX)
    portal_contacts = [c for c in contacts if c.user_id]
    # Arrival times ascend with the number, as in a real desk.
    offsets = sorted(rng.random() for _ in range(args.tickets))
    span = now - start

    counts = {"tickets": 0, "replies": 0, "notes": 0, "events": 0}
    with_messages: list[int] = []
    final_mix: dict[str, int] = {}
    t_tickets = time.perf_counter()
    with transaction.atomic():
        for first in range(0, args.tickets, args.batch):
            plans = []
            for i in range(first, min(first + args.batch, args.tickets)):
                plans.append(
                    _plan(
                        rng,
                        i + 1,
                        start + span * offsets[i],
                        now,
                        states,
                        priorities,
                        types,
                        agents,
                        contacts,
                        portal_contacts,
                        status_pool,
                        priority_pool,
                        type_pool,
                        channel_pool,
                        level_pool,
                        args,
                        lead,
                    )
                )
            tickets = Ticket.objects.bulk_create([p["ticket"] for p in plans])
            replies, notes = [], []
            for p, t in zip(plans, tickets, strict=True):
                for m in p["messages"]:
                    m.ticket = t
                    (notes if isinstance(m, Note) else replies).append(m)
                final_mix[p["final"]] = final_mix.get(p["final"], 0) + 1
                if p["messages"]:
                    with_messages.append(t.number)
            Reply.objects.bulk_create(replies)
            Note.objects.bulk_create(notes)
            events = []
            for p, t in zip(plans, tickets, strict=True):
                for e in p["events"]:
                    e.ticket = t  # reply_id / note_id are taken from the saved objects on insert
                    events.append(e)
            TicketEvent.objects.bulk_create(events)
            counts["tickets"] += len(tickets)
            counts["replies"] += len(replies)
            counts["notes"] += len(notes)
            counts["events"] += len(events)
        TicketSequence.objects.update_or_create(workspace=ws, defaults={"last_number": args.tickets})
    t_tickets = time.perf_counter() - t_tickets

    t_an = time.perf_counter()
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("VACUUM ANALYZE")  # what autovacuum would reach soon after a load
        else:
            c.execute("ANALYZE")
    t_an = time.perf_counter() - t_an

    pick = random.Random(args.seed + 1)
    active = Ticket.objects.filter(workspace=ws, category__in=["new", "open", "waiting"])
    summary = {
        "db": connection.vendor,
        "workspace": WORKSPACE,
        "setup": args.setup,
        "mailbox": not args.no_mailbox,
        "tickets": counts["tickets"],
        "replies": counts["replies"],
        "notes": counts["notes"],
        "events": counts["events"],
        "customers": len(customers),
        "contacts": len(contacts),
        "portal_users": len(users),
        "active_tickets": active.count(),
        "final_status_mix": dict(sorted(final_mix.items())),
        "tickets_with_messages": len(with_messages),
        "setup_s": round(t_setup, 2),
        "load_tickets_s": round(t_tickets, 2),
        "analyze_s": round(t_an, 2),
        "load_total_s": round(time.perf_counter() - t0, 2),
        "agents": [m.user.email for m in agents],
        "agent_password": AGENT_PASSWORD,
        "sample_ticket_numbers_with_messages": pick.sample(with_messages, min(args.sample, len(with_messages))),
        "sample_contact_ids": [c.id for c in pick.sample(contacts, min(50, len(contacts)))],
        # A customer of the middle of the list, for the "one customer's queue" scenario.
        "filter_customer_id": customers[len(customers) // 2].id,
    }
    line = json.dumps(summary, ensure_ascii=False)
    print(line)
    if args.out:
        Path(args.out).write_text(line + "\n", encoding="utf-8")


def _plan(
    rng,
    number,
    created,
    now,
    states,
    priorities,
    types,
    agents,
    contacts,
    portal_contacts,
    status_pool,
    priority_pool,
    type_pool,
    channel_pool,
    level_pool,
    args,
    lead,
):  # type: ignore[no-untyped-def]
    """One ticket with its messages and its timeline, as the actions would have written them."""
    channel = rng.choice(channel_pool)
    if channel == Channel.PORTAL and portal_contacts:
        requester = rng.choice(portal_contacts)
        creator = requester.user
        creator_name = requester.name
    else:
        requester = rng.choice(contacts)
        creator = rng.choice(agents).user  # staff registered it (phone, e-mail, WhatsApp)
        creator_name = creator.name
    final = rng.choice(status_pool)
    r = rng.random()
    assignee = agents[0] if r < 0.40 else agents[1] if r < 0.75 else None
    priority = priorities[rng.choice(priority_pool)]
    has_messages = rng.random() < args.message_share
    # An agent's reply moves a new ticket to "in progress" (on_agent_reply), so a
    # ticket with a conversation is at least in progress.
    if has_messages and final == "nuevo":
        final = "en_curso"
    path = list(PATHS[final])
    if has_messages and final == "cancelado":
        path = [("nuevo", "en_curso", "agent"), ("en_curso", "cancelado", "agent")]
    worker = assignee or rng.choice(agents)

    clock = [created]

    def tick(lo: int = 5, hi: int = 2880) -> dt.datetime:
        clock[0] = min(clock[0] + dt.timedelta(minutes=rng.randint(lo, hi)), now)
        return clock[0]

    def event(kind: EventKind, at: dt.datetime, actor: User | None, name: str, **kw: object) -> TicketEvent:
        return TicketEvent(
            workspace_id=priority.workspace_id,
            actor=actor,
            actor_name=name,
            kind=kind,
            is_public=kind in PUBLIC_EVENT_KINDS,
            created_at=at,
            **kw,
        )

    events = [
        event(EventKind.CREATED, created, creator, creator_name, to_value="nuevo", data={"channel": str(channel)})
    ]
    if assignee is not None:
        events.append(
            event(
                EventKind.ASSIGNED,
                tick(1, 120),
                worker.user,
                worker.user.name,
                from_value="",
                to_value=str(assignee.id),
                data={"to_name": assignee.user.name},
            )
        )
    messages: list[Reply | Note] = []
    resolved_at = closed_at = None

    def move(frm: str, to: str, who: str) -> None:
        nonlocal resolved_at, closed_at
        at = tick()
        if who == "closer" and requester.user is not None:
            events.append(
                event(EventKind.TRANSITIONED, at, requester.user, requester.name, from_value=frm, to_value=to)
            )
        elif who == "closer":
            events.append(event(EventKind.TRANSITIONED, at, lead.user, lead.user.name, from_value=frm, to_value=to))
        else:
            events.append(event(EventKind.TRANSITIONED, at, worker.user, worker.user.name, from_value=frm, to_value=to))
        if states[to].category == "resolved":
            resolved_at = at
        if states[to].category in ("closed", "cancelled"):
            closed_at = at

    for step_no, (frm, to, who) in enumerate(path):
        move(frm, to, who)
        if step_no == 0 and has_messages:
            # The conversation happens while the ticket is in progress.
            for k in range(args.messages_each):
                at = tick()
                if k % 2 == 1:  # the customer answers
                    m: Reply | Note = Reply(
                        workspace_id=priority.workspace_id,
                        author=requester.user,
                        author_name=requester.name,
                        by_customer=True,
                        body=rng.choice(RESPUESTAS) + " " + description(rng),
                        created_at=at,
                    )
                    events.append(
                        event(
                            EventKind.REPLIED, at, requester.user, requester.name, reply=m, data={"by_customer": True}
                        )
                    )
                elif rng.random() < 0.8:  # the agent replies in public
                    m = Reply(
                        workspace_id=priority.workspace_id,
                        author=worker.user,
                        author_name=worker.user.name,
                        by_customer=False,
                        body=rng.choice(RESPUESTAS) + " " + description(rng),
                        created_at=at,
                    )
                    events.append(
                        event(
                            EventKind.REPLIED, at, worker.user, worker.user.name, reply=m, data={"by_customer": False}
                        )
                    )
                else:  # or writes an internal note
                    m = Note(
                        workspace_id=priority.workspace_id,
                        author=worker.user,
                        author_name=worker.user.name,
                        body=rng.choice(RESPUESTAS) + " " + description(rng),
                        created_at=at,
                    )
                    events.append(event(EventKind.NOTED, at, worker.user, worker.user.name, note=m))
                messages.append(m)
    state = states[path[-1][1]] if path else states["nuevo"]
    ticket = Ticket(
        workspace_id=priority.workspace_id,
        number=number,
        type=types[rng.choice(type_pool)],
        priority=priority,
        priority_rank=priority.rank,
        state=state,
        category=state.category,
        channel=channel,
        customer_id=requester.customer_id,
        requester=requester,
        assignee=assignee,
        level=rng.choice(level_pool),
        subject=subject(rng),
        description=description(rng),
        created_by=creator,
        created_at=created,
        updated_at=clock[0],
        resolved_at=resolved_at,
        closed_at=closed_at,
    )
    return {"ticket": ticket, "messages": messages, "events": events, "final": final}


if __name__ == "__main__":
    main()
