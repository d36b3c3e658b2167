#!/usr/bin/env python
"""Inbound e-mail throughput: messages per second through ``ingest_many`` (store, parse, thread, act).

The headline is the batched path, ``ingest_many``, fed ``--intake-batch`` messages at a time (as the
IMAP poller and ``radicado mail ingest`` do); ``--intake-batch 0`` measures ``ingest_email``, one
message at a time, instead. A second timed pass always measures ``ingest_email`` one by one, in the
same run, as the comparison row.

This is a BENCHMARK, not product code. In one process (``django.setup()`` with
``RADICADO_DATABASE_URL`` / ``RADICADO_DATA_DIR`` from the environment, on a freshly
migrated, empty database) it:

1. builds workspace "mesa" (profile ``default``, prefix MES) with the mailbox
   soporte@mesa.example.com (unknown senders: create), 2 agents, 200 customers and
   1,000 contacts (1-20 per customer), all through the actions;
2. generates a seeded, realistic stream of messages with ``email.message.EmailMessage``
   (fictional people at *.example.com, Spanish text; about half multipart/alternative
   with an HTML part, as mail clients send them):

   ========== ===== ==================================================================
   category   share what it is (expected outcome)
   ========== ===== ==================================================================
   new         ~47% a new request from a known contact (created)
   new_att      ~8% the same with a small attachment, 8-60 KB PNG/PDF/XLSX (created)
   reply       ~20% a reply to our acknowledgement: In-Reply-To/References (threaded);
                    one in six from a colleague of the requester, most quote the ack
   reply_tag    ~5% a reply that lost its headers: ``Re: [MES-000123] ...`` (threaded)
   auto_ooo     ~5% an out-of-office answer to our acknowledgement (ignored)
   bounce       ~3% a DSN (multipart/report) returning our acknowledgement (ignored,
                    noted on the ticket)
   bulk         ~2% a newsletter: Precedence: bulk, List-Unsubscribe (ignored)
   unknown      ~5% a new request from an unknown address (created; contact made)
   dup_bytes  ~2.5% the very same bytes again, as an IMAP re-poll (ignored: duplicate)
   dup_msgid  ~2.5% an earlier message again with another Received line, same
                    Message-ID, as a second MX delivers it (ignored: duplicate
                    message-id)
   ========== ===== ==================================================================

   Replies, out-of-office answers and bounces point at the Message-IDs of our own
   acknowledgements, read from ``OutboundMail`` (untimed) after each batch;
3. ingests ``--warmup`` new requests untimed, then times ``--messages`` messages
   generated ``--batch`` at a time (rounded up to a multiple of ``--intake-batch``;
   generation and the ``OutboundMail`` read between them are not timed) and fed to
   ``ingest_many`` in chunks of ``--intake-batch``: wall and CPU time of the loop (and
   the PostgreSQL backend's CPU), the wall time of every chunk (each message is given
   the chunk's mean, so p50/p95 in batch mode are percentiles of per-chunk means), and
   every SQL statement (``connection.execute_wrapper``: count per message, grouped by
   statement and table, and the time spent inside the driver). Every message's outcome
   is checked against its category;
4. times ``--single-messages`` more messages of the same mix one by one with
   ``ingest_email`` (the comparison row; per-category latency comes from this pass);
5. optionally ingests the real-world corpus (``--corpus``, read in place, in chunks of
   ``--intake-batch``) as a separate row;
6. profiles ``--profile`` more messages of the same mix, batched, under cProfile (not
   part of the timed figures) and keeps the top 15 functions by cumulative and by own
   time;
7. times ``--stages`` more messages one by one with a timer around each stage of
   ``ingest_email``, then runs the ``--parallel`` passes (batched, several processes).

Prints a short summary; writes the JSON of everything to ``--out``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib
import io
import json
import logging
import math
import os
import platform
import pstats
import random
import re
import resource
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from radicado.channels.actions import create_mailbox  # noqa: E402
from radicado.channels.models import Mailbox, MessageIndex, OutboundMail, RawMessage  # noqa: E402
from radicado.customers.actions import create_contact, create_customer  # noqa: E402
from radicado.tickets.models import Attachment, Note, Reply, Ticket  # noqa: E402
from radicado.tickets.profiles import install_profile, load_profile  # noqa: E402
from radicado.workspaces.actions import add_member, create_workspace, ensure_user  # noqa: E402
from radicado.workspaces.models import Level, Role  # noqa: E402

# The intake's code: the package behind the intake wall (ADR 0014, 49c31e7 on) or, when an older tree is measured
# (SRC_TREE, e.g. a81b1ff), the two modules it replaced, radicado.tickets.mail_in and mail_gather.
try:
    from radicado.tickets.intake import (
        GroupIntake,
        IngestResult,
        ingest_email,
        ingest_many,
        ingest_stream,
        mailboxes_for,
    )
except ModuleNotFoundError as missing:  # pragma: no cover (an older tree)
    if missing.name != "radicado.tickets.intake":
        raise
    from radicado.tickets.mail_gather import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        GroupIntake,
        mailboxes_for,
    )
    from radicado.tickets.mail_in import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        IngestResult,
        ingest_email,
        ingest_many,
        ingest_stream,
    )
WALL = IngestResult.__module__.startswith("radicado.tickets.intake")
# Where each part of the intake lives, in the tree measured (recorded in the results as "intake_modules").
if WALL:
    ROUTING_MOD, BATCH_MOD = "radicado.tickets.intake.routing", "radicado.tickets.intake.batch"
    GATHER_MOD, LOOKUP_MOD, FIRST_LOOKUPS = (
        "radicado.tickets.intake.gather",
        "radicado.tickets.intake.lookup",
        "MessageLookup.first",
    )
else:  # pragma: no cover (an older tree)
    ROUTING_MOD = BATCH_MOD = LOOKUP_MOD = "radicado.tickets.mail_in"
    GATHER_MOD, FIRST_LOOKUPS = "radicado.tickets.mail_gather", "_first_lookups"
INTAKE_MODULES = {"routing": ROUTING_MOD, "batch": BATCH_MOD, "gather": GATHER_MOD, "lookup": LOOKUP_MOD}

BOG = ZoneInfo("America/Bogota")
# Monday 23 Nov 2026, 07:30 in Bogotá: the stream starts with the working day.
START = dt.datetime(2026, 11, 23, 7, 30, tzinfo=BOG)
SETUP_AT = START - dt.timedelta(days=30)
SUPPORT = "soporte@mesa.example.com"
PREFIX = "MES"

CATEGORIES: dict[str, float] = {
    "new": 47.0,
    "new_att": 8.0,
    "reply": 20.0,
    "reply_tag": 5.0,
    "auto_ooo": 5.0,
    "bounce": 3.0,
    "bulk": 2.0,
    "unknown": 5.0,
    "dup_bytes": 2.5,
    "dup_msgid": 2.5,
}
EXPECTED: dict[str, tuple[str, str]] = {  # category -> (outcome, start of detail)
    "new": ("created", ""),
    "new_att": ("created", ""),
    "reply": ("threaded", "message-id"),
    "reply_tag": ("threaded", "subject tag"),
    "auto_ooo": ("ignored", "automatic"),
    "bounce": ("ignored", "bounce noted"),
    "bulk": ("ignored", "automatic"),
    "unknown": ("created", ""),
    "dup_bytes": ("ignored", "duplicate"),
    "dup_msgid": ("ignored", "duplicate message-id"),
}

FIRST = [
    "Ana",
    "María",
    "Juan",
    "Carlos",
    "Luisa",
    "Andrés",
    "Camila",
    "Santiago",
    "Valentina",
    "Felipe",
    "Daniela",
    "Sebastián",
    "Natalia",
    "Alejandro",
    "Laura",
    "Julián",
    "Paula",
    "Mateo",
    "Carolina",
    "Diego",
    "Mariana",
    "Nicolás",
    "Catalina",
    "Jorge",
    "Sofía",
    "David",
    "Manuela",
    "Ricardo",
    "Lina",
    "Óscar",
    "Diana",
    "Hernán",
    "Ángela",
    "Mauricio",
    "Juliana",
    "Esteban",
    "Verónica",
    "Germán",
    "Gloria",
    "Iván",
    "Adriana",
    "Fabio",
    "Liliana",
]
LAST = [
    "Rodríguez",
    "Gómez",
    "González",
    "Martínez",
    "García",
    "López",
    "Hernández",
    "Sánchez",
    "Ramírez",
    "Pérez",
    "Díaz",
    "Muñoz",
    "Rojas",
    "Moreno",
    "Jiménez",
    "Vargas",
    "Castro",
    "Gutiérrez",
    "Ortiz",
    "Álvarez",
    "Ruiz",
    "Suárez",
    "Romero",
    "Herrera",
    "Torres",
    "Valencia",
    "Quintero",
    "Mejía",
    "Cárdenas",
    "Ospina",
    "Restrepo",
    "Londoño",
    "Zapata",
    "Betancur",
    "Cifuentes",
    "Salazar",
    "Acosta",
    "Ríos",
    "Patiño",
    "Arango",
    "Duque",
    "Peña",
]
ROLES = [
    "Auxiliar contable",
    "Jefe de sistemas",
    "Coordinadora administrativa",
    "Analista de nómina",
    "Gerente comercial",
    "Asistente de gerencia",
    "Director financiero",
    "Líder de bodega",
    "Tesorera",
    "Analista de compras",
]
COMPANY_A = [
    "Distribuidora",
    "Comercializadora",
    "Inversiones",
    "Transportes",
    "Laboratorios",
    "Constructora",
    "Clínica",
    "Colegio",
    "Ferretería",
    "Agroindustrias",
]
COMPANY_B = [
    "del Valle",
    "Andina",
    "La Sabana",
    "El Cafetal",
    "del Pacífico",
    "Los Llanos",
    "Santa Fe",
    "del Caribe",
    "Altiplano",
    "Magdalena",
    "Orinoco",
    "Cordillera",
    "El Guadual",
    "Macondo",
    "El Nevado",
    "del Sinú",
    "del Cauca",
    "Quindío",
    "Boyacá",
    "Tayrona",
]
SYSTEMS = ["SAP", "el portal de proveedores", "el ERP", "la nómina", "el CRM", "la VPN", "el correo", "inventarios"]
SYSTEMS += ["la intranet", "la facturación electrónica", "el módulo de cartera", "la impresora del piso 3"]
PROBLEMS = [
    "No puedo entrar a {s}",
    "Error al generar facturas en {s}",
    "Solicito acceso a {s}",
    "Lentitud en {s}",
    "Intermitencia en {s}",
    "Restablecer contraseña de {s}",
    "No llegan correos de {s}",
    "Duda sobre un reporte de {s}",
    "{s} muestra un mensaje de error",
    "Usuario bloqueado en {s}",
    "Crear usuario nuevo en {s}",
    "Cambio de permisos en {s}",
]
OPENINGS = ["Buenos días,", "Buenas tardes,", "Hola,", "Cordial saludo,", "Buen día equipo de soporte,", "Estimados,"]
SENTENCES = [
    "Desde hoy temprano {s} no funciona y no he podido avanzar con el cierre.",
    "Ya reinicié el equipo dos veces y sigue igual.",
    "Les adjunto la captura de pantalla con el error que aparece.",
    "Esto tiene detenido al equipo de contabilidad; agradezco darle prioridad.",
    "¿Me confirman si es una falla general o solo de mi usuario?",
    "Tenemos un cliente esperando respuesta hoy mismo.",
    "El error dice «tiempo de espera agotado» y luego se cierra la ventana.",
    "A mis compañeros de la sede norte les pasa lo mismo desde ayer.",
    "Probé desde otro navegador y desde el celular, y tampoco carga.",
    "La semana pasada nos cambiaron la clave de red; no sé si tenga relación.",
    "Necesitamos el acceso antes del viernes para la auditoría.",
    "El número de la factura afectada es FE-{n} por un valor de ${v}.",
    "Les agradezco su ayuda y quedo atento a cualquier información adicional.",
    "Pueden llamarme a la extensión {x} si necesitan más datos.",
]
CLOSINGS = ["Gracias.", "Quedo atenta.", "Quedo atento.", "Mil gracias.", "Saludos.", "Muchas gracias por su ayuda."]
REPLIES = [
    "Gracias por la respuesta. Les confirmo que el problema continúa.",
    "Adjunto más información: el error aparece solo en las mañanas.",
    "Ya funciona, muchas gracias. Pueden cerrar el caso.",
    "¿Tienen alguna novedad? Seguimos sin poder trabajar.",
    "Hice lo que me indicaron y ahora aparece otro mensaje distinto.",
    "Les escribo de parte de mi compañera, que hoy está en vacaciones.",
    "Por favor me confirman el tiempo estimado de solución.",
    "Les envío el número de documento solicitado: CC {n}.",
]
ATTACHMENTS = [
    ("captura.png", "image", "png", b"\x89PNG\r\n\x1a\n"),
    ("pantallazo-error.png", "image", "png", b"\x89PNG\r\n\x1a\n"),
    ("factura.pdf", "application", "pdf", b"%PDF-1.7\n"),
    ("reporte-cartera.xlsx", "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ("foto.jpg", "image", "jpeg", b"\xff\xd8\xff\xe0"),
]


def ascii_slug(text: str, sep: str = ".") -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, text).strip(sep)


@dataclass
class Person:
    name: str
    email: str
    company: str
    customer: int  # index into the customer list; -1 for strangers


@dataclass
class Known:
    """A ticket the stream can answer: its acknowledgement as our outbound mail."""

    reference: str
    subject: str
    ack_id: str
    requester: str  # e-mail
    customer: int


@dataclass
class Msg:
    category: str
    raw: bytes
    now: dt.datetime


@dataclass
class Mix:
    """The seeded message stream; learns our acknowledgements between batches."""

    seed: int
    people: list[Person]
    by_customer: dict[int, list[Person]]
    rng: random.Random = field(init=False)
    now: dt.datetime = START
    known: list[Known] = field(default_factory=list)
    sent: list[tuple[str, bytes]] = field(default_factory=list)  # (category, raw) of everything generated
    indexed: list[bytes] = field(default_factory=list)  # raw of messages whose Message-ID gets indexed
    serial: int = 0
    last_outbound_id: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.by_email = {p.email: p for p in self.people}

    # -- the stream ---------------------------------------------------------------

    def batch(self, n: int, only: str | None = None) -> list[Msg]:
        out = []
        cats, weights = list(CATEGORIES), list(CATEGORIES.values())
        for _ in range(n):
            cat = only or self.rng.choices(cats, weights)[0]
            if cat in ("reply", "reply_tag", "auto_ooo", "bounce") and not self.known:
                cat = "new"
            if cat == "dup_bytes" and not self.sent:
                cat = "new"
            if cat == "dup_msgid" and not self.indexed:
                cat = "new"
            self.now += dt.timedelta(seconds=self.rng.expovariate(1 / 15))  # one message every 15 s on average
            raw = getattr(self, f"_{cat}")()
            if cat not in ("dup_bytes", "dup_msgid"):
                self.sent.append((cat, raw))
            if cat in ("new", "new_att", "reply", "reply_tag", "unknown"):
                self.indexed.append(raw)
            out.append(Msg(cat, raw, self.now))
        return out

    def learn(self) -> int:
        """Read the acknowledgements queued since the last call (they are what customers answer)."""
        rows = (
            OutboundMail.objects.filter(id__gt=self.last_outbound_id, automatic=True, ticket__isnull=False)
            .order_by("id")
            .values_list("id", "message_id", "rcpt_to", "ticket__number", "ticket__subject")
        )
        n = 0
        for oid, mid, rcpt, number, subject in rows:
            self.last_outbound_id = oid
            person = self.by_email.get(rcpt[0])
            if person is None or person.customer < 0:
                continue  # strangers rarely answer; keep the threading to known contacts
            self.known.append(Known(f"{PREFIX}-{number:06d}", subject, mid, person.email, person.customer))
            n += 1
        return n

    # -- helpers ------------------------------------------------------------------

    def _mid(self, domain: str) -> str:
        self.serial += 1
        return f"<{self.rng.getrandbits(64):016x}.{self.serial}@{domain}>"

    def _base(self, sender: Person, subject: str, domain: str | None = None) -> EmailMessage:
        msg = EmailMessage()
        msg["Return-Path"] = f"<{sender.email}>"
        msg["Received"] = (
            f"from mail.{sender.email.partition('@')[2]} (mail.{sender.email.partition('@')[2]} "
            f"[198.51.100.{self.rng.randint(2, 250)}]) by mx.mesa.example.com with ESMTPS id "
            f"{self.rng.getrandbits(40):010x}; {format_datetime(self.now)}"
        )
        msg["From"] = f'"{sender.name}" <{sender.email}>'
        msg["To"] = f"Soporte Mesa <{SUPPORT}>"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.now)
        msg["Message-ID"] = self._mid(domain or sender.email.partition("@")[2])
        msg["MIME-Version"] = "1.0"
        msg["X-Mailer"] = self.rng.choice(["Microsoft Outlook 16.0", "Apple Mail (2.3774)", "Thunderbird 128.3.1"])
        return msg

    def _body(self, sender: Person, system: str) -> str:
        r = self.rng
        lines = [self.rng.choice(OPENINGS), ""]
        picked = r.sample(SENTENCES, r.randint(2, 5))
        lines.append(
            " ".join(
                s.format(s=system, n=r.randint(10000, 99999), v=f"{r.randint(100, 9000)}.000", x=r.randint(100, 999))
                for s in picked
            )
        )
        lines += ["", r.choice(CLOSINGS), "", "--", sender.name, r.choice(ROLES), sender.company]
        lines.append(f"Tel. +57 601 {r.randint(200, 799)} {r.randint(1000, 9999)}")
        return "\n".join(lines)

    def _set_body(self, msg: EmailMessage, text: str) -> None:
        msg.set_content(text)
        if self.rng.random() < 0.5:  # Outlook and Gmail send both; many other clients only text
            paragraphs = "".join(
                f"<p style='margin:0'>{p.replace(chr(10), '<br>')}</p>" for p in text.split("\n\n") if p.strip()
            )
            msg.add_alternative(
                f"<html><head><meta charset='utf-8'></head><body><div dir='ltr' style='font-family:Calibri'>"
                f"{paragraphs}</div></body></html>",
                subtype="html",
            )

    def _recent(self) -> Known:
        # Most answers concern recent requests; some come days later.
        k = self.known
        if self.rng.random() < 0.8:
            return k[max(0, len(k) - 1 - int(self.rng.expovariate(1 / 60)))]
        return self.rng.choice(k)

    # -- the categories -----------------------------------------------------------

    def _new(self, attachment: bool = False, sender: Person | None = None) -> bytes:
        sender = sender or self.rng.choice(self.contacts)
        system = self.rng.choice(SYSTEMS)
        subject = self.rng.choice(PROBLEMS).format(s=system)
        subject = subject[0].upper() + subject[1:]
        msg = self._base(sender, subject)
        self._set_body(msg, self._body(sender, system))
        if attachment:
            name, maintype, subtype, magic = self.rng.choice(ATTACHMENTS)
            size = self.rng.randint(8_000, 60_000)
            msg.add_attachment(magic + self.rng.randbytes(size), maintype=maintype, subtype=subtype, filename=name)
        return bytes(msg)

    def _new_att(self) -> bytes:
        return self._new(attachment=True)

    def _unknown(self) -> bytes:
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        domain = r.choice(["correo.example.com", "personal.example.com", "hogar.example.net", "mail.example.org"])
        email = f"{ascii_slug(first)}.{ascii_slug(last)}{r.randint(1, 9999)}@{domain}"
        return self._new(sender=Person(f"{first} {last}", email, "Particular", -1))

    def _reply(self, by_tag: bool = False) -> bytes:
        r = self.rng
        k = self._recent()
        sender = self.by_email[k.requester]
        if r.random() < 1 / 6 and len(self.by_customer[k.customer]) > 1:  # a colleague answers
            sender = r.choice([p for p in self.by_customer[k.customer] if p.email != k.requester])
        prefix = r.choice(["RE: ", "Re: ", "RV: "]) if not by_tag else r.choice(["Re: ", "RE: "])
        msg = self._base(sender, f"{prefix}[{k.reference}] {k.subject}")
        if not by_tag:
            msg["In-Reply-To"] = f"<{k.ack_id}>"
            msg["References"] = f"<{k.ack_id}>"
        text = r.choice(REPLIES).format(n=r.randint(10_000_000, 1_099_999_999))
        text += f"\n\n{r.choice(CLOSINGS)}\n{sender.name}\n{sender.company}"
        if r.random() < 0.8:  # the client quotes our acknowledgement
            when = format_datetime(self.now - dt.timedelta(minutes=r.randint(5, 600)))
            text += (
                f"\n\nEl {when}, Soporte Mesa <{SUPPORT}> escribió:\n"
                f"> Registramos su solicitud {k.reference}: «{k.subject}».\n>\n"
                f"> Le responderemos a más tardar el 24 de noviembre de 2026 a las 10:00.\n>\n"
                f"> Para agregar información, responda a este mensaje y conserve {k.reference} en el asunto.\n"
            )
        self._set_body(msg, text)
        return bytes(msg)

    def _reply_tag(self) -> bytes:
        return self._reply(by_tag=True)

    def _auto_ooo(self) -> bytes:
        k = self._recent()
        sender = self.by_email[k.requester]
        msg = self._base(sender, f"Respuesta automática: [{k.reference}] {k.subject}")
        msg["In-Reply-To"] = f"<{k.ack_id}>"
        msg["References"] = f"<{k.ack_id}>"
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        back = (self.now + dt.timedelta(days=self.rng.randint(2, 15))).strftime("%d/%m/%Y")
        self._set_body(
            msg,
            f"Estaré fuera de la oficina hasta el {back}, con acceso limitado al correo.\n"
            f"Para temas urgentes, por favor escribir a mi jefe inmediato.\n\n{sender.name}",
        )
        return bytes(msg)

    def _bounce(self) -> bytes:
        k = self._recent()
        domain = k.requester.partition("@")[2]
        daemon = Person("Mail Delivery System", f"MAILER-DAEMON@mx.{domain}", "", -1)
        msg = self._base(daemon, "Undelivered Mail Returned to Sender", domain=f"mx.{domain}")
        del msg["Return-Path"]
        msg["Return-Path"] = "<>"
        msg["Auto-Submitted"] = "auto-replied"
        msg.set_content(
            f"This is the mail system at host mx.{domain}.\n\nI'm sorry to have to inform you that your message "
            f"could not be delivered to one or more recipients.\n\n<{k.requester}>: host mx.{domain} said: "
            f"550 5.1.1 <{k.requester}>: Recipient address rejected: User unknown in virtual mailbox table\n"
        )
        msg.make_mixed()
        msg.set_type("multipart/report")
        msg.set_param("report-type", "delivery-status")
        per_message, per_recipient = EmailMessage(), EmailMessage()
        per_message["Reporting-MTA"] = f"dns; mx.{domain}"
        per_message["Arrival-Date"] = format_datetime(self.now)
        per_recipient["Final-Recipient"] = f"rfc822; {k.requester}"
        per_recipient["Original-Recipient"] = f"rfc822;{k.requester}"
        per_recipient["Action"] = "failed"
        per_recipient["Status"] = "5.1.1"
        per_recipient["Diagnostic-Code"] = "smtp; 550 5.1.1 User unknown"
        status = EmailMessage()
        status["Content-Type"] = "message/delivery-status"
        status.set_payload([per_message, per_recipient])
        msg.attach(status)
        subject = Header(f"[{k.reference}] {k.subject}", "utf-8").encode()  # as we sent it
        headers = EmailMessage()
        headers.set_content(
            (
                f"From: Soporte Mesa <{SUPPORT}>\nTo: {k.requester}\nSubject: {subject}\n"
                f"Message-ID: <{k.ack_id}>\nAuto-Submitted: auto-replied\n"
            ).encode(),
            maintype="text",
            subtype="rfc822-headers",
            cte="7bit",
        )
        msg.attach(headers)
        return bytes(msg)

    def _bulk(self) -> bytes:
        sender = Person("Boletín Proveedor", "noticias@boletin.proveedor.example.com", "Proveedor", -1)
        msg = self._base(sender, "Novedades de noviembre: nuevas funciones en la facturación electrónica")
        msg["Precedence"] = "bulk"
        msg["List-Unsubscribe"] = "<https://boletin.proveedor.example.com/baja?u=123>"
        self._set_body(msg, "Conozca las novedades de este mes.\n\n" + "\n".join(self.rng.sample(SENTENCES, 4)))
        return bytes(msg)

    def _dup_bytes(self) -> bytes:
        return self.rng.choice(self.sent[-2000:])[1]

    def _dup_msgid(self) -> bytes:
        raw = self.rng.choice(self.indexed[-2000:])
        hop = (
            f"Received: from mx2.mesa.example.com (mx2.mesa.example.com [203.0.113.7]) by "
            f"mx.mesa.example.com; {format_datetime(self.now)}\r\n"
        ).encode()
        return hop + raw

    @property
    def contacts(self) -> list[Person]:
        return self._contacts

    def set_contacts(self) -> None:
        self._contacts = [p for p in self.people if p.customer >= 0]


# --------------------------------------------------------------------------- setup


def setup(seed: int, n_customers: int, n_contacts: int) -> tuple[Mailbox, list[Person], dict[int, list[Person]]]:
    rng = random.Random(seed * 7 + 1)
    names = [f"{a} {b}" for b in COMPANY_B for a in COMPANY_A]
    rng.shuffle(names)
    # 1 to 20 contacts per customer, skewed (a few large customers, many small ones), summing to n_contacts.
    weights = [rng.paretovariate(1.2) for _ in range(n_customers)]
    extra = n_contacts - n_customers
    sizes = [1 + int(extra * w / sum(weights)) for w in weights]
    sizes = [min(s, 20) for s in sizes]
    while sum(sizes) < n_contacts:
        i = rng.randrange(n_customers)
        if sizes[i] < 20:
            sizes[i] += 1
    people: list[Person] = []
    by_customer: dict[int, list[Person]] = defaultdict(list)
    with transaction.atomic():
        ws = create_workspace(
            slug="mesa", name="Mesa de ayuda", ticket_prefix=PREFIX, timezone="America/Bogota", now=SETUP_AT
        )
        install_profile(workspace=ws, profile=load_profile("default"), now=SETUP_AT)
        for i, name in enumerate(("Ana Pérez", "Luis Gómez")):
            user = ensure_user(email=f"agente{i + 1}@mesa.example.com", name=name, password=None)
            add_member(workspace=ws, user=user, role=Role.AGENT, level=Level.N1, now=SETUP_AT)
        mailbox = create_mailbox(workspace=ws, address=SUPPORT, display_name="Soporte Mesa", now=SETUP_AT)
        for i in range(n_customers):
            company = f"{names[i % len(names)]} S.A.S."
            domain = ascii_slug(names[i % len(names)], "-") + ".example.com"
            customer = create_customer(workspace=ws, code=f"cliente-{i + 1:03d}", name=company, now=SETUP_AT)
            seen: set[str] = set()
            for _k in range(sizes[i]):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                local = f"{ascii_slug(first)}.{ascii_slug(last)}"
                while local in seen:
                    local = f"{ascii_slug(first)}.{ascii_slug(last)}{rng.randint(2, 99)}"
                seen.add(local)
                person = Person(f"{first} {last}", f"{local}@{domain}", company, i)
                create_contact(customer=customer, name=person.name, email=person.email, now=SETUP_AT)
                people.append(person)
                by_customer[i].append(person)
    return mailbox, people, by_customer


# --------------------------------------------------------------------------- measuring

TABLE_RE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?([a-z_]+)"?', re.I)


class QueryLog:
    """Counts, groups and times the SQL statements sent through Django's connection."""

    def __init__(self) -> None:
        self.n = 0
        self.seconds = 0.0
        self.kinds: Counter[str] = Counter()
        self.paused = False  # statements not counted (the harness's own, inside a timed loop)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if self.paused:
            return execute(sql, params, many, context)
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.n += 1
            verb = sql.split(None, 1)[0].upper()
            m = TABLE_RE.search(sql) if verb in ("SELECT", "INSERT", "UPDATE", "DELETE") else None
            self.kinds[f"{verb} {m.group(1)}" if m else verb] += 1


def server_cpu_s() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (None if unreadable)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:  # the connection may have been reopened: ask each time
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RedoneOneByOne(logging.Filter):
    """Counts the batches ``ingest_many`` could not finish and redid one by one (it logs a warning for each).

    Matched on the warning's text: if that text changes, the count silently stays 0. ``mute`` drops every
    record of the logger (the corpus's quarantines log tracebacks) while still counting.
    """

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.mute = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "processed one by one" in str(record.msg):
            self.n += 1
        return not self.mute


REDONE = RedoneOneByOne()
# The batch logs the redo; routing logs the quarantines (one module before the intake wall, two since).
for _name in sorted({BATCH_MOD, ROUTING_MOD}):
    _log = logging.getLogger(_name)
    _log.addFilter(REDONE)
    if _log.getEffectiveLevel() > logging.WARNING:
        _log.setLevel(logging.WARNING)  # so that the warning is made and counted


@dataclass
class Record:
    category: str
    outcome: str
    detail: str
    ms: float
    statements: float  # a chunk's mean in batch mode
    sql_ms: float


@dataclass
class Timed:
    records: list[Record] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0
    server_cpu: float | None = 0.0
    log: QueryLog = field(default_factory=QueryLog)
    chunks: int = 0  # ingest_many calls (0 one by one)
    helper_cpu: float | None = None  # CPU seconds of ingest_stream's helper process (pipelined passes)
    redone: int = 0  # of which could not finish as a batch and were redone one by one


def ingest_timed(
    mailbox: Mailbox, msgs: list[Msg], into: Timed, profile: cProfile.Profile | None = None, batch: int = 0
) -> None:
    """Ingest ``msgs`` into ``into``: one by one with ``ingest_email`` (``batch`` 0) or in chunks of ``batch``.

    In batch mode one call of ``ingest_many`` handles a whole chunk, so a message's own latency cannot be
    measured: every message of a chunk is recorded with the chunk's mean (chunk wall ms / chunk size, and
    likewise statements and SQL ms). Percentiles over such records (p50/p95) are percentiles of per-chunk
    means, not of single messages, and per-category figures are not meaningful in that mode.
    """
    log = into.log
    records = into.records
    s0 = server_cpu_s()
    with connection.execute_wrapper(log):
        c0, t0, redone0 = time.process_time(), time.perf_counter(), REDONE.n
        if batch > 0:
            for k in range(0, len(msgs), batch):
                chunk = msgs[k : k + batch]
                items = [(m.raw, m.now) for m in chunk]
                q0, sq0 = log.n, log.seconds
                a = time.perf_counter()
                if profile is not None:
                    profile.enable()
                results = ingest_many(mailbox=mailbox, messages=items, source="file")
                if profile is not None:
                    profile.disable()
                b = time.perf_counter()
                size = len(chunk)
                ms, statements, sql_ms = (b - a) * 1000 / size, (log.n - q0) / size, (log.seconds - sq0) * 1000 / size
                records.extend(
                    Record(m.category, r.outcome, r.detail, ms, statements, sql_ms)
                    for m, r in zip(chunk, results, strict=True)  # one result per message, in order
                )
                into.chunks += 1
        else:
            for m in msgs:
                q0, sq0 = log.n, log.seconds
                a = time.perf_counter()
                if profile is not None:
                    profile.enable()
                r: IngestResult = ingest_email(mailbox=mailbox, raw=m.raw, source="file", now=m.now)
                if profile is not None:
                    profile.disable()
                b = time.perf_counter()
                records.append(
                    Record(m.category, r.outcome, r.detail, (b - a) * 1000, log.n - q0, (log.seconds - sq0) * 1000)
                )
        into.wall += time.perf_counter() - t0
        into.cpu += time.process_time() - c0
        into.redone += REDONE.n - redone0
    s1 = server_cpu_s()
    if into.server_cpu is not None:
        into.server_cpu = None if s0 is None or s1 is None else into.server_cpu + (s1 - s0)


def ingest_pipelined(
    mailbox: Mailbox, blocks: Iterator[list[Msg]], into: Timed, batch: int, profile: cProfile.Profile | None = None
) -> None:
    """Ingest the messages of ``blocks`` with ``ingest_stream`` in chunks of ``batch`` (its helper process on).

    ``blocks`` is drawn lazily: ``ingest_stream`` takes the next chunk before it routes the current one, so
    a block is generated while the stream runs. The generator's wall and CPU time and its statements are
    taken out of the figures (its statements are not counted). Each message gets its chunk's mean, as in ``ingest_timed``. The helper's CPU
    (a child process, reaped when the stream ends) is recorded apart from this process's.
    """
    log = into.log
    records = into.records
    taken: list[list[Msg]] = []
    spent = {"wall": 0.0, "cpu": 0.0}

    def chunks() -> Iterator[list[tuple[bytes, dt.datetime]]]:
        for block in blocks_timed():
            for k in range(0, len(block), batch):
                chunk = block[k : k + batch]
                taken.append(chunk)
                yield [(m.raw, m.now) for m in chunk]

    def blocks_timed() -> Iterator[list[Msg]]:
        while True:
            a, c = time.perf_counter(), time.process_time()
            log.paused = True
            if profile is not None:
                profile.disable()
            block = next(blocks, None)
            if profile is not None:
                profile.enable()
            log.paused = False
            spent["wall"] += time.perf_counter() - a
            spent["cpu"] += time.process_time() - c
            if block is None:
                return
            yield block

    s0 = server_cpu_s()
    h0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with connection.execute_wrapper(log):
        c0, t0, redone0 = time.process_time(), time.perf_counter(), REDONE.n
        stream = ingest_stream(mailbox=mailbox, batches=chunks(), source="file")
        while True:
            before = dict(spent)
            q0, sq0 = log.n, log.seconds
            a = time.perf_counter()
            if profile is not None:
                profile.enable()
            results = next(stream, None)
            if profile is not None:
                profile.disable()
            b = time.perf_counter()
            if results is None:
                break
            chunk = taken.pop(0)
            size = len(chunk)
            ms = (b - a - (spent["wall"] - before["wall"])) * 1000 / size
            statements, sql_ms = (log.n - q0) / size, (log.seconds - sq0) * 1000 / size
            records.extend(
                Record(m.category, r.outcome, r.detail, ms, statements, sql_ms)
                for m, r in zip(chunk, results, strict=True)
            )
            into.chunks += 1
        into.wall += time.perf_counter() - t0 - spent["wall"]
        into.cpu += time.process_time() - c0 - spent["cpu"]
        into.redone += REDONE.n - redone0
    h1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    into.helper_cpu = (into.helper_cpu or 0.0) + (h1.ru_utime + h1.ru_stime) - (h0.ru_utime + h0.ru_stime)
    s1 = server_cpu_s()
    if into.server_cpu is not None:
        into.server_cpu = None if s0 is None or s1 is None else into.server_cpu + (s1 - s0)


# Where a message's wall time goes: (label, module, attribute, parent label). Each is wrapped with a timer for the
# --stages pass only. Nested stages are included in their parent's time.
STAGES = [
    ("store_raw (file + row, own commit)", ROUTING_MOD, "store_raw", None),
    (
        "raw file written and fsync'ed",
        "radicado.channels.rawstore",
        "_save_durably",
        "store_raw (file + row, own commit)",
    ),
    ("parse_email", ROUTING_MOD, "parse_email", None),
    ("_route (in the transaction)", ROUTING_MOD, "_route", None),
    (
        f"{FIRST_LOOKUPS} (contact, duplicate, own address)",
        LOOKUP_MOD,
        FIRST_LOOKUPS,  # a method of the per-message lookup since the intake wall: wrapped on its class
        "_route (in the transaction)",
    ),
    ("_thread", ROUTING_MOD, "_thread", "_route (in the transaction)"),
    ("actions.add_reply", "radicado.tickets.actions", "add_reply", "_route (in the transaction)"),
    ("actions.add_note", "radicado.tickets.actions", "add_note", "_route (in the transaction)"),
    (
        "_register (request type + create_ticket)",
        ROUTING_MOD,
        "_register",
        "_route (in the transaction)",
    ),
    ("actions.create_ticket", "radicado.tickets.actions", "create_ticket", "_register (request type + create_ticket)"),
    ("allocate_ticket_number", "radicado.tickets.actions", "allocate_ticket_number", "actions.create_ticket"),
    ("sla start_clocks (+ facts_of)", "radicado.sla.clocks", "start_clocks", "actions.create_ticket"),
    ("_index", ROUTING_MOD, "_index", "_route (in the transaction)"),
    (
        "notify.announce_registration (the acknowledgement)",
        "radicado.tickets.notify",
        "announce_registration",
        "_route (in the transaction)",
    ),
    (
        "mail_out.queue_ticket_mail",
        "radicado.tickets.mail_out",
        "queue_ticket_mail",
        "notify.announce_registration (the acknowledgement)",
    ),
    ("compose (the ack's bytes)", "radicado.tickets.mail_out", "compose", "mail_out.queue_ticket_mail"),
    ("mailbox_of", "radicado.tickets.mail_out", "mailbox_of", "mail_out.queue_ticket_mail"),
    ("auto_reply_allowed", "radicado.tickets.mail_out", "auto_reply_allowed", "mail_out.queue_ticket_mail"),
    ("thread_headers", "radicado.tickets.mail_out", "thread_headers", "mail_out.queue_ticket_mail"),
    ("job enqueue after commit (send_outbound)", "radicado.tickets.mail_out", "send_outbound", None),
]


def stage_pass(mailbox: Mailbox, msgs: list[Msg]) -> dict[str, Any]:
    """Time ``msgs`` with a timer around each stage; ms per message of the pass, by stage."""
    spent: dict[str, float] = defaultdict(float)  # seconds
    calls: Counter[str] = Counter()
    undo = []
    missing = []
    for label, modname, path, _parent in STAGES:
        # "Class.method" wraps the method on its class (the function set there is bound like the original)
        *owners, attr = path.split(".")
        mod: Any = importlib.import_module(modname)
        for owner in owners:
            mod = getattr(mod, owner, None)
        fn = getattr(mod, attr, None) if mod is not None else None
        if fn is None:
            missing.append(f"{modname}.{path}")
            continue

        def timed(*a: Any, _fn: Callable[..., Any] = fn, _label: str = label, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                spent[_label] += time.perf_counter() - t0
                calls[_label] += 1

        # A package that re-exports the function (radicado.tickets.actions since it was split by concern): the
        # wrapper goes into the defining submodule too, where its neighbours call it by its global name.
        targets = [mod]
        home = sys.modules.get(getattr(fn, "__module__", "") or "")
        if not owners and home is not None and home.__name__.startswith(modname + ".") and getattr(home, attr) is fn:
            targets.append(home)
        for target in targets:
            setattr(target, attr, timed)
            undo.append((target, attr, fn))
    t = Timed()
    try:
        ingest_timed(mailbox, msgs, t)
    finally:
        for mod, attr, fn in reversed(undo):
            setattr(mod, attr, fn)
    n = len(msgs)
    top = sum(spent[label] for label, _m, _a, parent in STAGES if parent is None)
    rows = [
        {"stage": label, "parent": parent, "ms_per_msg": spent[label] * 1000 / n, "calls": calls[label]}
        for label, _m, _a, parent in STAGES
        if calls[label]
    ]
    rows.append(
        {
            "stage": "rest (transaction, commit, ingest_email glue)",
            "parent": None,
            "ms_per_msg": (t.wall - top) * 1000 / n,
            "calls": n,
        }
    )
    return {
        "messages": n,
        "wall_ms_per_msg": t.wall * 1000 / n,
        "cpu_ms_per_msg": t.cpu * 1000 / n,
        "stages": rows,
        "not_found": missing,  # stages whose function the tree measured does not have (not timed)
    }


def _parallel_worker(
    i: int, seed: int, mailbox_id: int, mix: Mix, n: int, batch: int, ready: Any, go: Any, results: Any
) -> None:  # pragma: no cover (a child process)
    """One ingest process of the parallel pass: its own connection, its own pre-built stream, chunks of ``batch``."""
    connections.close_all()  # never use the parent's socket
    try:
        mailbox = Mailbox.objects.select_related("workspace").get(id=mailbox_id)
        mix.rng = random.Random(seed)
        mix.sent, mix.indexed = [], []
        mix.learn()
        msgs = mix.batch(n)
        ready.put(i)
        go.wait()
        t = Timed()
        ingest_timed(mailbox, msgs, t, batch=batch)
        results.put((i, t.wall, t.cpu, t.log.n, t.log.seconds, [vars(r) for r in t.records], None, t.redone))
    except BaseException as exc:
        results.put((i, 0.0, 0.0, 0, 0.0, [], f"{type(exc).__name__}: {exc}", 0))
    finally:
        connections.close_all()


def parallel_pass(mailbox: Mailbox, mix: Mix, workers: int, total: int, batch: int) -> dict[str, Any]:
    """``workers`` processes (fork) ingest ``total`` messages between them at once, into the same workspace.

    Each builds its own stream (own seed; replies and bounces answer any acknowledgement so far) before
    the start signal, and ingests it in chunks of ``batch`` (0: one by one); the wall time runs from the
    signal until the last one has finished. In batch mode the percentiles are of per-chunk means.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = [total // workers + (1 if k < total % workers else 0) for k in range(workers)]
    connections.close_all()
    procs = [
        ctx.Process(
            target=_parallel_worker,
            args=(k, mix.seed * 31 + workers * 1000 + k, mailbox.id, mix, per[k], batch, ready, go, results),
        )
        for k in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get()
    load_before = load_avg()
    t0 = time.perf_counter()
    go.set()
    got = [results.get() for _ in procs]
    wall = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    errors = [g[6] for g in got if g[6]]
    recs = [Record(**r) for g in got for r in g[5]]
    ms = [r.ms for r in recs]
    n = len(recs)
    return {
        "workers": workers,
        "intake_batch": batch,
        "messages": n,
        "wall_s": wall,
        "msg_per_s": n / wall if wall else None,
        "client_cpu_ms_per_msg": sum(g[2] for g in got) * 1000 / n if n else None,
        "statements_per_msg": sum(g[3] for g in got) / n if n else None,
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "p99_ms": pct(ms, 99),
        "unexpected_outcomes": len(check(recs)),
        "unexpected_examples": check(recs)[:10],
        "errors": errors,
        "batches_redone_one_by_one": sum(g[7] for g in got),
        "load_avg_before": load_before,
        "load_avg_after": load_avg(),
    }


def _lmtp_client(
    address: Any, jobs: list[tuple[str, bytes]], connections_n: int, ready: Any, go: Any, results: Any
) -> None:  # pragma: no cover (a child process)
    """The MTA of the LMTP pass: ``connections_n`` connections at once, each delivering its share in turn."""
    import smtplib
    import threading

    host, port = address.get()

    answers: list[tuple[int, float]] = []
    lock = threading.Lock()

    def one_connection(k: int) -> None:
        with smtplib.LMTP(host, port) as lmtp:
            for sender, raw in jobs[k::connections_n]:
                t0 = time.perf_counter()
                try:
                    lmtp.sendmail(sender, [SUPPORT], raw)
                    code = 250
                except smtplib.SMTPResponseException as exc:
                    code = exc.smtp_code
                except smtplib.SMTPRecipientsRefused:
                    code = 550
                with lock:
                    answers.append((code, (time.perf_counter() - t0) * 1000))

    threads = [threading.Thread(target=one_connection, args=(k,)) for k in range(connections_n)]
    ready.put(True)
    go.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(answers)


def lmtp_pass(mailbox: Mailbox, mix: Mix, connections_n: int, total: int, grouped: bool) -> dict[str, Any]:
    """``total`` messages of the mix pushed over LMTP by ``connections_n`` connections at once (a forked client
    process, as an MTA), into the receiver ``radicado mail lmtp`` runs, in this process: with its group commit
    (``GroupIntake``, ADR 0013) or, ``grouped`` False, each message alone (``ingest_email``, as before).

    msg/s = messages / wall time from the start signal until the last answer. Latency per message is the
    client's (from sending to the answer). CPU = this process (receiver, its threads, the intake thread).
    Outcomes are counted against what the categories imply; with many connections the order of delivery
    differs from the order generated, so a message and its same-Message-ID copy may swap roles.
    """
    import functools
    import multiprocessing as mp
    import threading
    from email.parser import BytesHeaderParser
    from email.utils import parseaddr

    from django.utils import timezone

    from radicado.channels.email.lmtp import start_lmtp_server
    from radicado.web.management.commands.mail import LMTP_CONNECTIONS, deliver_by_recipient

    msgs = mix.batch(total)
    jobs = []
    for m in msgs:
        sender = "" if m.category == "bounce" else parseaddr(BytesHeaderParser().parsebytes(m.raw)["From"] or "")[1]
        jobs.append((sender, re.sub(rb"\r?\n", b"\r\n", m.raw)))  # SMTP and LMTP carry CRLF lines
    got: list[IngestResult] = []
    lock = threading.Lock()
    # The client is forked first, while this process has no other thread (the receiver's and the intake's).
    connections.close_all()
    ctx = mp.get_context("fork")
    address, ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Event()
    client = ctx.Process(target=_lmtp_client, args=(address, jobs, connections_n, ready, go, results))
    client.start()
    intake = GroupIntake(source="lmtp") if grouped else None
    sizes: list[int] = []

    deliver: Callable[[bytes, list[str]], None]
    if intake is not None:
        real = intake.deliver

        def recorded(**kwargs: Any) -> list[IngestResult]:
            out = real(**kwargs)
            with lock:
                got.extend(out)
            return out

        intake.deliver = recorded  # type: ignore[method-assign]
        deliver = functools.partial(deliver_by_recipient, intake=intake)
    else:

        def deliver(raw: bytes, recipients: list[str]) -> None:  # deliver_by_recipient without an intake, recorded
            connections["default"].close_if_unusable_or_obsolete()
            for mb in mailboxes_for(recipients):
                result = ingest_email(mailbox=mb, raw=raw, source="lmtp", now=timezone.now())
                with lock:
                    got.append(result)

    gather: Any = importlib.import_module(GATHER_MOD)  # the module that calls ingest_many for a group
    real_many = gather.ingest_many

    def counted(**kwargs: Any) -> list[IngestResult]:
        sizes.append(len(kwargs["messages"]))
        out: list[IngestResult] = real_many(**kwargs)
        return out

    gather.ingest_many = counted
    server = start_lmtp_server(host="127.0.0.1", port=0, deliver=deliver, workers=LMTP_CONNECTIONS)
    try:
        address.put((server.host, server.port))
        ready.get(timeout=60)
        load_before = load_avg()
        c0, t0 = time.process_time(), time.perf_counter()
        go.set()
        answers = results.get(timeout=1800)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        client.join()
    finally:
        server.stop()
        if intake is not None:
            intake.close()
        gather.ingest_many = real_many
        connections.close_all()
    expected = Counter(EXPECTED[m.category][0] for m in msgs)
    outcomes = Counter(r.outcome for r in got)
    ms = [a[1] for a in answers]
    n = len(answers)
    return {
        "connections": connections_n,
        "grouped": grouped,
        "messages": n,
        "wall_s": wall,
        "msg_per_s": n / wall if wall else None,
        "cpu_ms_per_msg": cpu * 1000 / n if n else None,
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "p99_ms": pct(ms, 99),
        "answers": dict(Counter(str(a[0]) for a in answers)),
        "outcomes": dict(outcomes),
        "expected_outcomes": dict(expected),
        "batches": len(sizes),
        "mean_batch": statistics.mean(sizes) if sizes else None,
        "max_batch": max(sizes) if sizes else None,
        "load_avg_before": load_before,
        "load_avg_after": load_avg(),
    }


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summarise(t: Timed) -> dict[str, Any]:
    recs = t.records
    n = len(recs)
    ms = [r.ms for r in recs]
    out: dict[str, Any] = {
        "messages": n,
        "wall_s": t.wall,
        "cpu_s": t.cpu,
        "server_cpu_s": t.server_cpu,
        "msg_per_s": n / t.wall if t.wall else None,
        "cpu_ms_per_msg": t.cpu * 1000 / n if n else None,
        "server_cpu_ms_per_msg": None if t.server_cpu is None else t.server_cpu * 1000 / n,
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "p99_ms": pct(ms, 99),
        "max_ms": max(ms) if ms else None,
        "mean_ms": statistics.fmean(ms) if ms else None,
        "statements": t.log.n,
        "statements_per_msg": t.log.n / n if n else None,
        "sql_s": t.log.seconds,
        "sql_share": t.log.seconds / t.wall if t.wall else None,
        "outcomes": dict(Counter(r.outcome for r in recs)),
        "by_statement": dict(t.log.kinds.most_common()),
        "chunks": t.chunks,
        "helper_cpu_s": t.helper_cpu,
        "helper_cpu_ms_per_msg": None if t.helper_cpu is None or not n else t.helper_cpu * 1000 / n,
        "batches_redone_one_by_one": t.redone,
    }
    cats: dict[str, Any] = {}
    by_cat: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        by_cat[r.category].append(r)
    for cat in [*CATEGORIES, *sorted(set(by_cat) - set(CATEGORIES))]:
        rs = by_cat.get(cat)
        if not rs:
            continue
        cms = [r.ms for r in rs]
        mean = statistics.fmean(cms)
        cats[cat] = {
            "n": len(rs),
            "share": len(rs) / n,
            "mean_ms": mean,
            "msg_per_s": 1000 / mean if mean else None,
            "p50_ms": pct(cms, 50),
            "p95_ms": pct(cms, 95),
            "statements_per_msg": statistics.fmean(r.statements for r in rs),
            "sql_ms_per_msg": statistics.fmean(r.sql_ms for r in rs),
            "outcomes": dict(Counter(f"{r.outcome}: {r.detail.split(';')[0]}" for r in rs).most_common(6)),
        }
    out["categories"] = cats
    return out


def check(recs: list[Record]) -> list[str]:
    """Every message must have the outcome its category implies."""
    bad = []
    for i, r in enumerate(recs):
        exp = EXPECTED.get(r.category)
        if exp is None:
            continue
        outcome, detail = exp
        if r.outcome != outcome or not r.detail.startswith(detail) or (detail == "duplicate" and r.detail != detail):
            bad.append(f"#{i} {r.category}: {r.outcome} {r.detail!r} (expected {outcome} {detail!r})")
    return bad


def corpus_messages(folder: Path, now: dt.datetime) -> Iterator[Msg]:
    for i, p in enumerate(sorted(x for x in folder.rglob("*") if x.is_file())):
        if p.name in ("README.md", "MANIFEST.tsv"):
            continue
        yield Msg(f"corpus/{p.parent.name}", p.read_bytes(), now + dt.timedelta(seconds=i))


def load_avg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def calibration_s() -> float:
    """CPU seconds for 5 million additions in pure Python: how fast this (shared, throttled) CPU is right now.

    The same code measured minutes apart on this machine has varied by a third; compare runs by this too.
    """
    c0 = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.process_time() - c0


def db_version() -> str:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SHOW server_version")
            return "PostgreSQL " + str(cur.fetchone()[0])
        cur.execute("select sqlite_version()")
        return "SQLite " + str(cur.fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument(
        "--batch",
        type=int,
        default=250,
        help="messages generated ahead of each timed stretch (rounded up to a multiple of --intake-batch)",
    )
    ap.add_argument(
        "--intake-batch",
        type=int,
        default=100,
        help="messages per ingest_many call (0: one by one with ingest_email) in the timed stream, corpus, "
        "profile and parallel passes",
    )
    ap.add_argument(
        "--pipeline",
        type=int,
        choices=(0, 1),
        default=1,
        help="1: the timed stream goes through ingest_stream (its helper process prepares the next batch); "
        "0: plain ingest_many calls",
    )
    ap.add_argument(
        "--plain-messages",
        type=int,
        default=0,
        help="with --pipeline 1: then messages in batches through plain ingest_many calls, a comparison row (0: none)",
    )
    ap.add_argument(
        "--single-messages",
        type=int,
        default=1000,
        help="then messages timed one by one with ingest_email, the comparison row (0: none)",
    )
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--corpus", type=Path, default=None, help="folder of real-world .eml files (skipped if absent)")
    ap.add_argument("--profile", type=int, default=1000, help="messages profiled after the timed run (0: none)")
    ap.add_argument("--stages", type=int, default=1000, help="messages timed stage by stage at the end (0: none)")
    ap.add_argument(
        "--parallel",
        default="",
        help="extra pass: comma-separated worker counts (e.g. 2,4), each ingesting --parallel-messages in total",
    )
    ap.add_argument("--parallel-messages", type=int, default=2000)
    ap.add_argument(
        "--lmtp",
        default="",
        help="extra pass: LMTP deliveries from N connections at once into the receiver of `mail lmtp`; "
        "comma-separated N (group commit) or Ns (each message alone, as before), e.g. 1,20,20s",
    )
    ap.add_argument("--lmtp-messages", type=int, default=1000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.intake_batch < 0 or args.batch < 1:
        ap.error("--intake-batch must be >= 0 and --batch >= 1")
    intake = args.intake_batch
    # Generate whole chunks between two reads of our acknowledgements, so that every chunk has N messages.
    gen = math.ceil(args.batch / intake) * intake if intake else args.batch

    assert not settings.SMTP_URL, "RADICADO_SMTP_URL must be unset: nothing is to be sent"
    assert not Ticket.objects.exists(), "run on an empty, freshly migrated database"
    label = connection.vendor
    result: dict[str, Any] = {
        "db": "postgres" if label == "postgresql" else label,
        "db_version": db_version(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "seed": args.seed,
        "messages": args.messages,
        "warmup": args.warmup,
        "batch": gen,
        "intake_batch": intake,
        "single_messages": args.single_messages,
        "mix": CATEGORIES,
        "load_avg_before": load_avg(),
        "calibration_s_before": calibration_s(),
        "cores": os.cpu_count(),
        "intake_modules": INTAKE_MODULES,
    }

    t0 = time.perf_counter()
    mailbox, people, by_customer = setup(args.seed, args.customers, args.contacts)
    result["setup_s"] = time.perf_counter() - t0
    result["customers"], result["contacts"] = args.customers, len(people)
    mix = Mix(args.seed, people, dict(by_customer))
    mix.set_contacts()
    print(f"[{label}] setup: {args.customers} customers, {len(people)} contacts in {result['setup_s']:.1f} s")

    # Warm-up: this process's first queries, imports, the compiled calendar, the parser's caches.
    # In the headline's mode (batched unless --intake-batch 0); ingest_email's own code is warm by the time
    # the one-by-one pass runs, after the timed stream.
    warm = Timed()
    ingest_timed(mailbox, mix.batch(args.warmup, only="new"), warm, batch=intake)
    mix.learn()
    print(f"[{label}] warm-up: {args.warmup} messages in {warm.wall:.2f} s")

    def stream(n: int, batch: int, pipelined: bool = False) -> tuple[Timed, list[float]]:
        """Time ``n`` messages of the mix, generated ``gen`` at a time (untimed), our acks read in between."""
        t = Timed()
        load_during = []
        if pipelined:

            def blocks() -> Iterator[list[Msg]]:
                left = n
                while left > 0:
                    load_during.append(load_avg())
                    mix.learn()
                    msgs = mix.batch(min(gen, left))
                    left -= len(msgs)
                    yield msgs

            ingest_pipelined(mailbox, blocks(), t, batch)
            mix.learn()
            return t, load_during
        left = n
        while left > 0:
            msgs = mix.batch(min(gen, left))
            load_during.append(load_avg())
            ingest_timed(mailbox, msgs, t, batch=batch)
            mix.learn()
            left -= len(msgs)
        return t, load_during

    def show(name: str, s: dict[str, Any], bad: list[str]) -> None:
        how = f"in batches of {s['intake_batch']}" if s["intake_batch"] else "one by one"
        if s.get("pipelined"):
            how += " with the helper process"
        chunk = " (per-chunk means)" if s["intake_batch"] else ""
        print(
            f"[{label}] {name} ({how}): {s['messages']} messages in {s['wall_s']:.2f} s = {s['msg_per_s']:.0f} msg/s; "
            f"p50 {s['p50_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms{chunk}; {s['statements_per_msg']:.1f} statements/msg; "
            f"CPU {s['cpu_ms_per_msg']:.2f} ms/msg; SQL {100 * s['sql_share']:.0f}% of wall; "
            f"unexpected outcomes: {len(bad)}; batches redone one by one: {s['batches_redone_one_by_one']}"
        )
        for line in bad[:5]:
            print("  ", line)

    pipelined = bool(args.pipeline and intake)
    timed, load_during = stream(args.messages, intake, pipelined)
    result["load_avg_during"] = load_during
    result["load_avg_after"] = load_avg()
    result["calibration_s_after"] = calibration_s()
    result["timed"] = summarise(timed)
    result["timed"]["intake_batch"] = intake
    result["timed"]["pipelined"] = pipelined
    bad = check(timed.records)
    result["unexpected_outcomes"] = len(bad)
    result["unexpected_examples"] = bad[:20]
    show("timed", result["timed"], bad)

    # The rows the run wrote (a sanity check that the work was done).
    result["rows"] = {
        "tickets": Ticket.objects.count(),
        "replies": Reply.objects.count(),
        "notes": Note.objects.count(),
        "attachments": Attachment.objects.count(),
        "raw_messages": RawMessage.objects.count(),
        "message_index": MessageIndex.objects.count(),
        "outbound_mail": OutboundMail.objects.count(),
    }

    # A comparison row: the same mix, fresh messages, in batches without the helper process.
    if pipelined and args.plain_messages > 0:
        mix.now += dt.timedelta(hours=2)
        load_before, cal_before = load_avg(), calibration_s()
        plain, load_during = stream(args.plain_messages, intake)
        tp = result["timed_plain"] = summarise(plain)
        tp["intake_batch"], tp["pipelined"] = intake, False
        bad = check(plain.records)
        tp["unexpected_outcomes"] = len(bad)
        tp["unexpected_examples"] = bad[:20]
        tp["load_avg_before"], tp["load_avg_during"], tp["load_avg_after"] = load_before, load_during, load_avg()
        tp["calibration_s_before"], tp["calibration_s_after"] = cal_before, calibration_s()
        show("plain", tp, bad)

    # The comparison row: the same mix, fresh messages, one by one with ingest_email.
    if args.single_messages > 0:
        mix.now += dt.timedelta(hours=2)
        load_before = load_avg()
        single, load_during = stream(args.single_messages, 0)
        ts = result["timed_single"] = summarise(single)
        ts["intake_batch"] = 0
        bad = check(single.records)
        ts["unexpected_outcomes"] = len(bad)
        ts["unexpected_examples"] = bad[:20]
        ts["load_avg_before"], ts["load_avg_during"], ts["load_avg_after"] = load_before, load_during, load_avg()
        show("single", ts, bad)
    raw_bytes = [float(len(m)) for _c, m in mix.sent]
    result["message_bytes"] = {"median": statistics.median(raw_bytes), "p95": pct(raw_bytes, 95), "max": max(raw_bytes)}

    if args.corpus is not None and args.corpus.is_dir():
        cmsgs = list(corpus_messages(args.corpus, mix.now + dt.timedelta(hours=1)))
        corpus = Timed()
        REDONE.mute = True  # quarantines log tracebacks
        try:
            ingest_timed(mailbox, cmsgs, corpus, batch=intake)
        finally:
            REDONE.mute = False
        c = summarise(corpus)
        c["intake_batch"] = intake
        c["folder"] = str(args.corpus)
        c["bytes"] = sum(len(m.raw) for m in cmsgs)
        c["details"] = dict(
            Counter(f"{r.outcome}: {r.detail.split(';')[0][:60]}" for r in corpus.records).most_common(12)
        )
        result["corpus"] = c
        print(
            f"[{label}] corpus: {c['messages']} messages in {c['wall_s']:.2f} s = {c['msg_per_s']:.0f} msg/s; "
            f"p50 {c['p50_ms']:.2f} ms, p95 {c['p95_ms']:.2f} ms; outcomes {c['outcomes']}; "
            f"batches redone one by one: {c['batches_redone_one_by_one']}"
        )
    elif args.corpus is not None:
        result["corpus"] = None
        print(f"[{label}] corpus: {args.corpus} absent, skipped")

    if args.profile > 0:
        mix.now += dt.timedelta(hours=2)
        prof = cProfile.Profile()
        pt = Timed()
        if pipelined:  # as the headline: the profiler sees this process; the helper's parsing is elsewhere

            def blocks() -> Iterator[list[Msg]]:
                left = args.profile
                while left > 0:
                    mix.learn()
                    msgs = mix.batch(min(gen, left))
                    left -= len(msgs)
                    yield msgs

            ingest_pipelined(mailbox, blocks(), pt, intake, profile=prof)
            mix.learn()
        else:
            left = args.profile
            while left > 0:
                msgs = mix.batch(min(gen, left))
                ingest_timed(mailbox, msgs, pt, profile=prof, batch=intake)
                mix.learn()
                left -= len(msgs)
        prof.dump_stats(str(args.out.with_suffix(".prof")))
        tops = {}
        for key in ("cumulative", "tottime"):
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            stats.sort_stats(key).print_stats(15)
            tops[key] = _trim(buf.getvalue(), ROOT)
        result["profile"] = {
            "messages": args.profile,
            "intake_batch": intake,
            "pipelined": pipelined,
            "wall_s_under_profiler": pt.wall,
            "unexpected_outcomes": len(check(pt.records)),
            **tops,
        }

    if args.stages > 0:
        mix.now += dt.timedelta(hours=2)
        msgs = mix.batch(args.stages)
        result["stages"] = stage_pass(mailbox, msgs)
        mix.learn()
        print(f"[{label}] stages: {args.stages} messages, {result['stages']['wall_ms_per_msg']:.2f} ms/msg")

    if args.parallel:
        result["parallel"] = []
        for workers in [int(w) for w in args.parallel.split(",") if w.strip()]:
            mix.now += dt.timedelta(hours=2)
            par = parallel_pass(mailbox, mix, workers, args.parallel_messages, intake)
            result["parallel"].append(par)
            mix.learn()
            print(
                f"[{label}] parallel: {workers} processes, {par['messages']} messages in {par['wall_s']:.2f} s = "
                f"{par['msg_per_s']:.0f} msg/s; p50 {par['p50_ms']:.2f} ms, p95 {par['p95_ms']:.2f} ms; "
                f"unexpected outcomes: {par['unexpected_outcomes']}; errors: {par['errors'] or 'none'}; "
                f"batches redone one by one: {par['batches_redone_one_by_one']}"
            )

    if args.lmtp:
        result["lmtp"] = []
        for spec in [w.strip() for w in args.lmtp.split(",") if w.strip()]:
            grouped = not spec.endswith("s")  # "20s": 20 connections, each message alone (as before ADR 0013)
            conns = int(spec.rstrip("s"))
            mix.now += dt.timedelta(hours=2)
            mix.learn()
            lm = lmtp_pass(mailbox, mix, conns, args.lmtp_messages, grouped)
            result["lmtp"].append(lm)
            mix.learn()
            print(
                f"[{label}] lmtp: {conns} connections, {'group commit' if grouped else 'one by one'}, "
                f"{lm['messages']} messages in {lm['wall_s']:.2f} s = {lm['msg_per_s']:.0f} msg/s; "
                f"p50 {lm['p50_ms']:.1f} ms, p95 {lm['p95_ms']:.1f} ms; answers {lm['answers']}; "
                f"outcomes {lm['outcomes']} (expected {lm['expected_outcomes']}); mean batch {lm['mean_batch']}"
            )

    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    print(f"[{label}] written {args.out}")


def _trim(text: str, root: Path) -> str:
    """pstats text without the header, with shorter paths."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    site = str(Path(sys.prefix) / "lib")
    out = []
    for line in lines[start:]:
        line = line.replace(str(root) + "/", "").replace(site, "<venv>")
        line = re.sub(r"/usr/lib/python3[.\d]*/", "<stdlib>/", line)
        out.append(line.rstrip())
    return "\n".join(line for line in out if line)


if __name__ == "__main__":
    main()
