"""Hand one raw message to an SMTP relay (the outbound edge of the e-mail channel).

Pure transport: no Django, no models. The caller (the outbox) owns retries; this module
only says whether a failure is worth retrying (``SmtpError.permanent``).
"""

from __future__ import annotations

import functools
import smtplib
import ssl as ssl_module

__all__ = ["SmtpError", "send_message"]


class SmtpError(Exception):
    """Sending failed; ``permanent`` says whether retrying the same message can ever succeed.

    5xx replies are permanent, except a refused login (the relay's settings are wrong, not the
    message); 4xx replies, refused or dropped connections, timeouts and TLS failures are
    temporary. ``code`` is the SMTP reply code when the server gave one.
    ``refused`` maps each refused recipient to its (code, reply text); when ``accepted`` is not
    empty the relay took the message for those recipients, so a retry should go only to
    ``refused`` (re-sending to all would duplicate it).
    """

    def __init__(
        self,
        message: str,
        permanent: bool,
        *,
        code: int | None = None,
        refused: dict[str, tuple[int, str]] | None = None,
        accepted: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.refused = refused or {}
        self.accepted = accepted or []


def send_message(
    *,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    starttls: bool,
    ssl: bool,
    mail_from: str,
    rcpt_to: list[str],
    raw: bytes,
    timeout: float = 30,
    ssl_context: ssl_module.SSLContext | None = None,
    local_hostname: str | None = None,
) -> None:
    """Send ``raw`` as-is (no header rewriting) from ``mail_from`` to every address in ``rcpt_to``.

    ``ssl`` connects with implicit TLS (port 465); ``starttls`` upgrades a plain connection and
    fails if the server does not offer STARTTLS. Certificates are verified with
    ``ssl_context`` (default: the system trust store). Logs in when ``username`` is given.
    ``timeout`` bounds the connection and every read. Non-ASCII addresses need the relay's
    SMTPUTF8. Returns once the relay accepted the message for every recipient; otherwise
    raises SmtpError (see its docstring for partial acceptance). Raises ValueError for
    contradictory arguments (``ssl`` and ``starttls``, no recipients).
    """
    if ssl and starttls:
        raise ValueError("ssl (implicit TLS) and starttls are mutually exclusive")
    if not rcpt_to:
        raise ValueError("no recipients")
    context = ssl_context or (_default_context() if ssl or starttls else None)
    try:
        client = (
            smtplib.SMTP_SSL(host, port, local_hostname=local_hostname, timeout=timeout, context=context)
            if ssl
            else smtplib.SMTP(host, port, local_hostname=local_hostname, timeout=timeout)
        )
    except smtplib.SMTPResponseException as exc:
        raise _from_reply(exc, f"{host}:{port} greeting") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SmtpError(f"cannot connect to {host}:{port}: {exc}", permanent=False) from exc
    try:
        refused = _transaction(client, starttls, context, username, password, mail_from, rcpt_to, raw)
    except SmtpError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused(exc.recipients, accepted=[]) from exc
    except smtplib.SMTPAuthenticationError as exc:
        # The relay's settings are wrong, not the message: once an admin fixes them, it goes.
        raise SmtpError(
            f"{host}:{port} login: {exc.smtp_code} {_text(exc.smtp_error)}", permanent=False, code=exc.smtp_code
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise _from_reply(exc, f"{host}:{port}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Disconnects, timeouts, TLS errors, missing extensions: worth another try later.
        raise SmtpError(f"{host}:{port}: {exc}", permanent=False) from exc
    finally:
        _close(client)
    if refused:
        raise _refused(refused, accepted=[r for r in rcpt_to if r not in refused])


@functools.cache
def _default_context() -> ssl_module.SSLContext:
    """The system trust store, loaded once per process (loading it costs tens of milliseconds)."""
    return ssl_module.create_default_context()


def _transaction(
    client: smtplib.SMTP,
    starttls: bool,
    context: ssl_module.SSLContext | None,
    username: str | None,
    password: str | None,
    mail_from: str,
    rcpt_to: list[str],
    raw: bytes,
) -> dict[str, tuple[int, bytes]]:
    client.ehlo_or_helo_if_needed()
    if starttls:
        client.starttls(context=context)
        client.ehlo()
    if username:
        client.login(username, password or "")
    options: list[str] = []
    if not all(address.isascii() for address in [mail_from, *rcpt_to]):
        if not client.has_extn("smtputf8"):
            raise SmtpError("non-ASCII address and the relay does not offer SMTPUTF8", permanent=True)
        options.append("SMTPUTF8")
    return client.sendmail(mail_from, rcpt_to, raw, mail_options=options)


def _close(client: smtplib.SMTP) -> None:
    """Say QUIT politely but never fail over it: the message's fate was already decided."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _from_reply(exc: smtplib.SMTPResponseException, stage: str) -> SmtpError:
    code = exc.smtp_code
    return SmtpError(f"{stage}: {code} {_text(exc.smtp_error)}", permanent=500 <= code < 600, code=code)


def _refused(recipients: dict[str, tuple[int, bytes]], *, accepted: list[str]) -> SmtpError:
    refused = {address: (code, _text(reply)) for address, (code, reply) in recipients.items()}
    detail = "; ".join(f"{address}: {code} {reply}" for address, (code, reply) in refused.items())
    permanent = all(500 <= code < 600 for code, _ in refused.values())
    codes = {code for code, _ in refused.values()}
    return SmtpError(
        f"recipients refused: {detail}",
        permanent=permanent,
        code=codes.pop() if len(codes) == 1 else None,
        refused=refused,
        accepted=accepted,
    )
