"""Real mail servers for tests, pytest-free: a throwaway Dovecot (IMAP) and an SMTP sink.

Both are context managers that listen on 127.0.0.1 on a free port and leave nothing behind.

    with DovecotServer({"soporte@example.com": "secret"}) as imap:
        imap.append("soporte@example.com", raw)  # how tests "send" mail to the support address
        poll_mailbox(host=imap.host, port=imap.port, ssl=False, ...)

    with SmtpSink(reject={"nobody@example.com": "550 5.1.1 No such user"}) as sink:
        send_message(host=sink.host, port=sink.port, ...)
        [mail] = sink.wait_for(1)
"""

from __future__ import annotations

import asyncio
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DOVECOT_BINARY = "/usr/sbin/dovecot"
LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may still take it: retry on failure)."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _user_or(preferred: str, fallback: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(preferred)
    except KeyError:
        return pwd.getpwnam(fallback)


@dataclass(frozen=True)
class StoredMessage:
    """A message as Dovecot holds it: IMAP uid, flags (like ``\\Seen``) and exact bytes."""

    uid: str
    flags: frozenset[str]
    raw: bytes


class DovecotServer:
    """A private Dovecot IMAP server (maildir, plaintext login, no TLS) for the given users.

    ``users`` maps login to password (no ":" in either). Everything lives in a temporary
    directory removed on stop: configuration, sockets, state, logs and the mailboxes. The
    folder hierarchy delimiter is "." (Maildir++), so "Radicado/Procesados" is stored as
    "Radicado.Procesados". As root, Dovecot's own processes run as ``dovecot``/``dovenull``
    (or ``nobody``) and the mail as ``nobody``; as any other user, everything runs as that user.
    """

    host = LOCALHOST

    def __init__(
        self, users: dict[str, str] | None = None, *, binary: str = DOVECOT_BINARY, timeout: float = 10.0
    ) -> None:
        self.users = dict(users or {"soporte@example.com": "secret"})
        self.binary = binary
        self.timeout = timeout
        self.port = 0
        self.directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration, start ``dovecot -F`` and wait until it greets IMAP clients."""
        if not os.path.exists(self.binary):
            raise FileNotFoundError(f"Dovecot is not installed at {self.binary}")
        # Short and traversable: unix sockets limit their paths to ~107 bytes; mail runs as another uid.
        self.directory = Path(tempfile.mkdtemp(prefix="radicado-dovecot-", dir="/tmp"))
        self.directory.chmod(0o711)
        try:
            for _attempt in range(3):  # the free port may be taken before Dovecot binds it
                self.port = free_port()
                self._write_config()
                if self._launch():
                    return
            raise RuntimeError(f"Dovecot did not start:\n{self.log()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop Dovecot and every process it started, then remove the directory. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            _terminate(process)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def log(self) -> str:
        """Dovecot's log and stderr so far (for failure messages)."""
        if self.directory is None:
            return ""
        files = (self.directory / "dovecot.log", self.directory / "stderr")
        return "".join(f.read_text(errors="replace") for f in files if f.exists())

    # -- mail helpers ----------------------------------------------------------------------

    def append(self, user: str, raw: bytes, *, folder: str = "INBOX", flags: str = "") -> str:
        """Put ``raw`` into ``user``'s ``folder`` with IMAP APPEND; return its uid."""
        with self.connect(user) as client:
            typ, data = client.append(folder, f"({flags})" if flags else None, None, raw)
        if typ != "OK":
            raise RuntimeError(f"APPEND failed: {data!r}")
        match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        return match.group(1).decode() if match else ""

    def messages(self, user: str, folder: str = "INBOX") -> list[StoredMessage]:
        """Every message in ``folder`` (empty if it does not exist), without changing flags."""
        with self.connect(user) as client:
            typ, _ = client.select(folder, readonly=True)
            if typ != "OK":
                return []
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        result = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            header, raw = item
            uid = re.search(rb"UID (\d+)", header)
            flags = imaplib.ParseFlags(header)
            result.append(
                StoredMessage(
                    uid=uid.group(1).decode() if uid else "", flags=frozenset(f.decode() for f in flags), raw=raw
                )
            )
        return result

    def connect(self, user: str) -> imaplib.IMAP4:
        """A logged-in imaplib client for ``user`` (use as a context manager: it logs out)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=5)
        client.login(user, self.users[user])
        return client

    # -- internals -------------------------------------------------------------------------

    def _write_config(self) -> None:
        assert self.directory is not None
        d = self.directory
        if os.geteuid() == 0:
            mail = pwd.getpwnam("nobody")
            internal, login = _user_or("dovecot", "nobody"), _user_or("dovenull", "nobody")
        else:
            mail = internal = login = pwd.getpwuid(os.getuid())
        for sub in ("run", "state"):
            (d / sub).mkdir(exist_ok=True)
        (d / "mail").mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(d / "mail", mail.pw_uid, mail.pw_gid)
        (d / "passwd").write_text(
            "".join(
                f"{user}:{{PLAIN}}{password}:{mail.pw_uid}:{mail.pw_gid}::{d}/mail/{user}::\n"
                for user, password in self.users.items()
            )
        )
        (d / "dovecot.conf").write_text(
            _DOVECOT_CONF.format(
                dir=d,
                port=self.port,
                host=self.host,
                internal=internal.pw_name,
                internal_group=grp.getgrgid(internal.pw_gid).gr_name,
                login=login.pw_name,
                first_uid=min(mail.pw_uid, 500),
            )
        )

    def _launch(self) -> bool:
        """Start Dovecot; True once it greets, False if it exited because the port was taken."""
        assert self.directory is not None
        with open(self.directory / "stderr", "wb") as stderr:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.directory / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its own process group, so stop() reaches every child
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                in_use = "in use" in self.log()
                self._process = None
                if in_use:
                    return False
                raise RuntimeError(f"Dovecot exited at startup:\n{self.log()}")
            if _greets(self.host, self.port):
                return True
            time.sleep(0.02)
        raise TimeoutError(f"Dovecot did not listen on {self.host}:{self.port} within {self.timeout}s:\n{self.log()}")


_DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {first_uid}
mail_location = maildir:~/Maildir
mail_fsync = never
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop Dovecot's whole process group: politely, then (after a short grace) for good.

    A SIGTERM sometimes costs a second while the master waits for its children; the test
    directory goes away anyway, so there is nothing to shut down cleanly for.
    """
    for sig, grace in ((signal.SIGTERM, 0.2), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            process.send_signal(sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


# -- SMTP sink --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    """One message the sink accepted: envelope sender, accepted recipients, exact bytes."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes


@dataclass
class _SinkHandler:
    reject: dict[str, str]
    data_reply: str | None
    received: list[ReceivedMail] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.data_reply is not None:
            return self.data_reply
        mail = ReceivedMail(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b"")
        with self.arrived:
            self.received.append(mail)
            self.arrived.notify_all()
        return "250 OK"


class _SinkController(Controller):
    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives, in a thread.

    ``reject`` maps a recipient to the reply refusing it (e.g. "550 5.1.1 No such user");
    ``data_reply`` answers every DATA with that reply instead of accepting (e.g. "451 ...").
    ``credentials`` (login to password) require AUTH; ``tls`` ((certfile, keyfile)) offers
    STARTTLS, which aiosmtpd requires before AUTH.
    """

    host = LOCALHOST

    def __init__(
        self,
        *,
        reject: dict[str, str] | None = None,
        data_reply: str | None = None,
        credentials: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self._handler = _SinkHandler(reject=dict(reject or {}), data_reply=data_reply)
        self._credentials = credentials
        kwargs: dict[str, Any] = {"server_hostname": "sink.test", "ready_timeout": 5}
        if tls is not None:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            kwargs["tls_context"] = context
        if credentials is not None:
            kwargs.update(auth_required=True, authenticator=self._authenticate)
        self._controller = _SinkController(self._handler, hostname=self.host, port=0, **kwargs)
        self.port = 0

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        self.port = self._controller.port
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[ReceivedMail]:
        with self._handler.arrived:
            return list(self._handler.received)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """The first ``n`` messages received, waiting up to ``timeout`` seconds; TimeoutError if fewer came."""
        with self._handler.arrived:
            if not self._handler.arrived.wait_for(lambda: len(self._handler.received) >= n, timeout):
                raise TimeoutError(f"{len(self._handler.received)} of {n} messages arrived in {timeout}s")
            return list(self._handler.received[:n])

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._credentials is not None
            and self._credentials.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False)  # handled=True would mean "I already replied"


def self_signed_certificate(directory: Path, hostname: str = "localhost") -> tuple[Path, Path]:
    """A throwaway certificate and key for ``hostname`` made with the openssl CLI (also 127.0.0.1).

    Clients trust it with ``ssl.create_default_context(cafile=certfile)``.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", f"/CN={hostname}",
         "-addext", f"subjectAltName=DNS:{hostname},IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
