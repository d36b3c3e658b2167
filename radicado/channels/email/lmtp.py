"""Receive mail pushed by a local MTA over LMTP (or plain SMTP) and hand it to a callback.

Pure transport: no Django, no models. The injected ``deliver(raw, recipients)`` is the one
inbound action; this module only guarantees that a message is acknowledged (250) after
``deliver`` returned, and refused with a temporary error (451) when it raised, so the MTA keeps
the message and retries: nothing is lost, and a repeat is harmless because the callback
deduplicates.

``deliver`` is synchronous (it may use the Django ORM) and runs in a small thread pool owned by
the server, never on the event loop; a thread pool worker keeps its database connection
between messages, so the callback should close stale connections the way request handlers do.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "Deliver", "ReceiverHandle", "start_lmtp_server", "start_smtp_server"]

log = logging.getLogger(__name__)

Deliver = Callable[[bytes, list[str]], object]
DEFAULT_MAX_MESSAGE_SIZE = 40 * 1024 * 1024
ACCEPTED = "250 2.0.0 Message accepted for delivery"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"


class _DeliverHandler:
    """aiosmtpd handler: one ``deliver`` call per message, off the event loop."""

    def __init__(self, deliver: Deliver, executor: ThreadPoolExecutor) -> None:
        self._deliver = deliver
        self._executor = executor

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        content = envelope.original_content or b""
        # We are the final delivery agent: record the envelope sender (RFC 5321 §4.4). The
        # callback needs it for loop protection (a null sender <> is a bounce; never answer it).
        sender = "" if envelope.mail_from in (None, "<>") else envelope.mail_from  # aiosmtpd keeps "<>" as is
        raw = b"Return-Path: <" + sender.encode("utf-8") + b">\r\n" + content
        recipients = list(envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._deliver, raw, recipients)
        except Exception:
            log.exception("delivery failed for %s (%d bytes); answered 451 so the sender retries", recipients, len(raw))
            return TEMPORARY_FAILURE
        return ACCEPTED


class _LmtpServer(LMTP):
    """LMTP with the reply after DATA repeated once per accepted recipient (RFC 2033 §4.2).

    aiosmtpd's LMTP sends a single reply after the data, which leaves a client that gave several
    recipients waiting for the rest. The handler's verdict covers the whole message (one
    ``deliver`` call), so every recipient gets the same reply; that includes aiosmtpd's own
    replies after the data, such as 552 for an oversized message.
    """

    _copies = 0
    _data_received = False

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 (aiosmtpd command)
        self._copies = len(self.envelope.rcpt_tos) if self.envelope is not None else 0
        self._data_received = False
        try:
            await super().smtp_DATA(arg)
        finally:
            self._copies, self._data_received = 0, False

    async def push(self, status: AnyStr) -> None:
        if self._copies and not self._data_received:
            # Replies before "354" (syntax errors, no recipients) answer the DATA command itself.
            self._data_received = _startswith(status, "354")
        elif self._copies > 1:
            copies, self._copies = self._copies, 0
            for _ in range(copies - 1):
                await super().push(status)
        await super().push(status)


def _startswith(status: str | bytes, prefix: str) -> bool:
    if isinstance(status, str):
        return status.startswith(prefix)
    return status.startswith(prefix.encode())


class _Controller(Controller):
    """aiosmtpd Controller with a chosen protocol class and support for port 0 (any free port)."""

    def __init__(self, handler: _DeliverHandler, *, server_class: type[SMTP], host: str, port: int, **kwargs: Any):
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._server_class = server_class

    def factory(self) -> SMTP:
        return self._server_class(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class ReceiverHandle:
    """A running receiver. ``host``/``port`` are where it listens (the real port when 0 was asked).

    ``stop()`` closes the listener and waits for deliveries in progress to return; it is
    idempotent. Also a context manager that stops on exit.
    """

    def __init__(self, controller: _Controller, executor: ThreadPoolExecutor) -> None:
        self._controller = controller
        self._executor = executor
        self._lock = threading.Lock()
        self._stopped = False
        self.host: str = controller.hostname
        self.port: int = controller.port

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._controller.stop()
        self._executor.shutdown(wait=True)

    def __enter__(self) -> ReceiverHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_lmtp_server(
    *,
    host: str,
    port: int,
    deliver: Deliver,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    server_hostname: str | None = None,
    workers: int = 4,
    idle_timeout: float = 300,
) -> ReceiverHandle:
    """Start an LMTP server on ``host:port`` in a background thread and return its handle.

    For every message, calls ``deliver(raw, recipients)`` once, where ``raw`` is the message as
    received with a ``Return-Path: <envelope sender>`` line prepended and ``recipients`` the
    envelope recipients (RCPT TO). Replies, once per recipient as LMTP requires: 250 when
    ``deliver`` returned, 451 when it raised (the exception is logged). A message above
    ``max_message_size`` bytes gets 552 (announced as SIZE, checked at MAIL FROM and again while
    receiving). ``port`` 0 picks a free port (see ``ReceiverHandle.port``). Raises OSError if the
    address cannot be bound. LMTP has no authentication: listen on loopback or a private network.
    """
    return _start(_LmtpServer, host, port, deliver, max_message_size, server_hostname, workers, idle_timeout)


def start_smtp_server(
    *,
    host: str,
    port: int,
    deliver: Deliver,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    server_hostname: str | None = None,
    workers: int = 4,
    idle_timeout: float = 300,
) -> ReceiverHandle:
    """Same contract as ``start_lmtp_server`` but speaking SMTP (one reply per message), for MTAs
    that can only relay over SMTP. It accepts mail for any recipient and has no authentication:
    never expose it beyond the MTA that feeds it."""
    return _start(SMTP, host, port, deliver, max_message_size, server_hostname, workers, idle_timeout)


def _start(
    server_class: type[SMTP],
    host: str,
    port: int,
    deliver: Deliver,
    max_message_size: int,
    server_hostname: str | None,
    workers: int,
    idle_timeout: float,
) -> ReceiverHandle:
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="radicado-mail-deliver")
    controller = _Controller(
        _DeliverHandler(deliver, executor),
        server_class=server_class,
        host=host,
        port=port,
        # socket.getfqdn() (aiosmtpd's default) may wait on DNS; the greeting only needs a name.
        server_hostname=server_hostname or socket.gethostname(),
        data_size_limit=max_message_size,
        timeout=idle_timeout,
    )
    try:
        controller.start()
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return ReceiverHandle(controller, executor)
