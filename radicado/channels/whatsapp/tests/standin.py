"""A local stand-in for Meta's Cloud API and Twilio's Messages API, strict about every request.

pytest-free and Django-free, so the Django side can reuse it. One HTTP server on 127.0.0.1 (a
free port, a thread) answers both providers' send endpoints:

- Meta: ``POST /v21.0/{phone_number_id}/messages``, ``Authorization: Bearer {token}``,
  ``Content-Type: application/json``, the body Meta documents (messaging_product,
  recipient_type, ``to`` in digits, text or template with body parameters).
- Twilio: ``POST /2010-04-01/Accounts/{sid}/Messages.json``, HTTP Basic ``sid:token``,
  ``Content-Type: application/x-www-form-urlencoded``, ``From``/``To`` as ``whatsapp:+E.164``,
  ``Body`` or ``ContentSid`` + ``ContentVariables``.

It checks everything a provider would refuse (and a few things it would silently ignore but we
must never send, such as unknown fields), answers with the provider's own error shape and code,
and records every request (``requests``, ``accepted``, ``rejected`` with the reason). It knows
the customer service window per number (``open_window``): free-form text to a number whose
window is closed is refused synchronously with Meta 131047 / Twilio 63016. (Real providers may
instead accept and report that failure later in a ``failed`` status webhook; the Django side
must handle both.) Failures can be injected (``fail_next``) and answers delayed
(``stall_next``) to exercise retries and timeouts.

    with ProviderStandIn() as standin:
        standin.open_window("+573000000001")
        result = standin.meta_transport().send(OutgoingMessage(to="+573000000001", text="Hola", within_window=True))
        [request] = standin.accepted

The helpers at the bottom build signed webhook deliveries the way the providers sign them
(``meta_delivery``, ``twilio_delivery``), independently of ``radicado.channels.whatsapp.webhooks``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from radicado.channels.whatsapp.meta import MetaCloudTransport
from radicado.channels.whatsapp.twilio import TwilioTransport

LOCALHOST = "127.0.0.1"
WINDOW = timedelta(hours=24)

# Fictional credentials and numbers (Colombia's +57 300 000 0000 range).
META_API_VERSION = "v21.0"
META_PHONE_NUMBER_ID = "109000000000001"
META_WABA_ID = "209000000000001"
META_DISPLAY_NUMBER = "573000000000"
META_ACCESS_TOKEN = "EAAradicadoFICTIONALtoken0000"
META_APP_SECRET = "radicado-fictional-app-secret"
META_VERIFY_TOKEN = "radicado-fictional-verify-token"
TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000057"
TWILIO_AUTH_TOKEN = "radicadofictionalauthtoken000000"
TWILIO_FROM = "+573000000000"
CUSTOMER = "+573000000001"
OTHER_CUSTOMER = "+573000000002"

META_TEMPLATE = "ticket_actualizado"  # approved, Spanish, two body variables: ticket number, status
TWILIO_CONTENT_SID = "HX00000000000000000000000000000057"  # the same template, as a Twilio Content SID

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
META_TO = re.compile(r"^[1-9]\d{6,14}$")
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it and what it answered.

    ``json`` (Meta) or ``form`` (Twilio, one value per field) is the parsed body when it could
    be parsed. ``rejection`` says why the request was refused, None when it was accepted.
    """

    provider: str  # "meta", "twilio" or "unknown"
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    form: dict[str, str] | None
    status: int
    response: Any
    rejection: str | None

    @property
    def ok(self) -> bool:
        return self.rejection is None and 200 <= self.status < 300


@dataclass
class _Failure:
    status: int
    provider: str | None
    code: int | None


class _Refused(Exception):
    def __init__(self, status: int, response: Any, reason: str) -> None:
        super().__init__(reason)
        self.status, self.response, self.reason = status, response, reason


@dataclass
class ProviderStandIn:
    """Impersonates both providers; use as a context manager (starts and stops the server).

    ``meta_templates`` maps (template name, language code) to its number of body variables;
    ``twilio_contents`` maps a Content SID to its number of variables. ``clock`` is the
    stand-in's "now" for the 24-hour window (UTC).
    """

    meta_phone_number_id: str = META_PHONE_NUMBER_ID
    meta_access_token: str = META_ACCESS_TOKEN
    meta_api_version: str = META_API_VERSION
    meta_templates: dict[tuple[str, str], int] = field(default_factory=lambda: {(META_TEMPLATE, "es"): 2})
    twilio_account_sid: str = TWILIO_ACCOUNT_SID
    twilio_auth_token: str = TWILIO_AUTH_TOKEN
    twilio_from: str = TWILIO_FROM
    twilio_contents: dict[str, int] = field(default_factory=lambda: {TWILIO_CONTENT_SID: 2})
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(tz=UTC))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._last_inbound: dict[str, datetime] = {}
        self._failures: list[_Failure] = []
        self._stalls: list[float] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> ProviderStandIn:
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="whatsapp-standin", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def meta_base_url(self) -> str:
        """What ``MetaCloudTransport.base_url`` should be (includes the Graph API version)."""
        return f"{self.base_url}/{self.meta_api_version}"

    def meta_transport(self, *, timeout: float = 2.0, access_token: str | None = None) -> MetaCloudTransport:
        return MetaCloudTransport(
            base_url=self.meta_base_url,
            phone_number_id=self.meta_phone_number_id,
            access_token=access_token or self.meta_access_token,
            timeout=timeout,
        )

    def twilio_transport(
        self, *, timeout: float = 2.0, status_callback_url: str | None = None, auth_token: str | None = None
    ) -> TwilioTransport:
        return TwilioTransport(
            base_url=self.base_url,
            account_sid=self.twilio_account_sid,
            auth_token=auth_token or self.twilio_auth_token,
            from_number=self.twilio_from,
            status_callback_url=status_callback_url,
            timeout=timeout,
        )

    # -- scenario controls ------------------------------------------------------------------

    def open_window(self, number: str, *, at: datetime | None = None) -> None:
        """Record that ``number`` (E.164) wrote to us at ``at`` (default: now): text is allowed for 24 h."""
        with self._lock:
            self._last_inbound[number] = at or self.clock()

    def close_window(self, number: str) -> None:
        with self._lock:
            self._last_inbound.pop(number, None)

    def window_open(self, number: str) -> bool:
        with self._lock:
            last = self._last_inbound.get(number)
        return last is not None and self.clock() - last < WINDOW

    def fail_next(
        self, count: int = 1, *, status: int = 500, provider: str | None = None, code: int | None = None
    ) -> None:
        """Answer the next ``count`` requests (of ``provider``, or any) with ``status`` and that
        provider's error body: 500 → Meta 131000 / Twilio 20500, 429 → Meta 130429 / Twilio
        20429, 400 → Meta 100 / Twilio 21610 (unsubscribed recipient), unless ``code`` is given."""
        with self._lock:
            self._failures.extend(_Failure(status, provider, code) for _ in range(count))

    def stall_next(self, seconds: float, count: int = 1) -> None:
        """Wait ``seconds`` before answering each of the next ``count`` requests (for timeouts)."""
        with self._lock:
            self._stalls.extend([seconds] * count)

    # -- what happened ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def accepted(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.ok]

    @property
    def rejected(self) -> list[RecordedRequest]:
        return [r for r in self.requests if not r.ok]

    # -- request handling (server threads) --------------------------------------------------

    def _take_stall(self) -> float:
        with self._lock:
            return self._stalls.pop(0) if self._stalls else 0.0

    def _take_failure(self, provider: str) -> _Failure | None:
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure.provider in (None, provider):
                    return self._failures.pop(i)
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """Check one request, record it, and return (HTTP status, JSON answer)."""
        stall = self._take_stall()
        if stall:
            self._stopping.wait(stall)
        if path.startswith("/2010-04-01/"):
            provider = "twilio"
        elif re.match(r"^/v\d+\.\d+/", path):
            provider = "meta"
        else:
            provider = "unknown"
        parsed_json: Any = None
        form: dict[str, str] | None = None
        try:
            if provider == "meta":
                parsed_json, answer = self._meta(method, path, headers, body)
                status = 200
            elif provider == "twilio":
                form, answer = self._twilio(method, path, headers, body)
                status = 201
            else:
                raise _Refused(404, {"error": "not found"}, f"no provider endpoint at {path}")
            reason = None
        except _Refused as refused:
            status, answer, reason = refused.status, refused.response, refused.reason
            if provider == "meta" and parsed_json is None:
                parsed_json = _try_json(body)
            if provider == "twilio" and form is None:
                form = _try_form(body)
        self._record(RecordedRequest(provider, method, path, headers, body, parsed_json, form, status, answer, reason))
        return status, answer

    # -- Meta -------------------------------------------------------------------------------

    def _meta(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[Any, Any]:
        def refuse(status: int, code: int, message: str, details: str, *, type_: str = "OAuthException") -> _Refused:
            error = {
                "message": message,
                "type": type_,
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details},
                "fbtrace_id": f"A{uuid.uuid4().hex[:22]}",
            }
            return _Refused(status, {"error": error}, f"Meta {code}: {details}")

        expected_path = f"/{self.meta_api_version}/{self.meta_phone_number_id}/messages"
        if path != expected_path:
            raise refuse(
                400,
                100,
                "Unsupported post request.",
                f"path {path!r} is not {expected_path!r} (API version and phone number id)",
                type_="GraphMethodException",
            )
        if method != "POST":
            raise refuse(400, 100, "Unsupported request method.", f"{method} instead of POST")
        if headers.get("authorization") != f"Bearer {self.meta_access_token}":
            raise refuse(
                401,
                190,
                "Invalid OAuth access token - Cannot parse access token",
                "Authorization is not 'Bearer <access token>'",
            )
        failure = self._take_failure("meta")
        if failure is not None:
            code = failure.code or {500: 131000, 429: 130429}.get(failure.status, 100)
            raise refuse(
                failure.status, code, f"(#{code}) injected failure", f"stand-in told to fail with HTTP {failure.status}"
            )
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise refuse(
                400, 100, "(#100) Invalid parameter", f"Content-Type is {content_type!r}, not application/json"
            )
        data = _try_json(body)
        if not isinstance(data, dict):
            raise refuse(400, 100, "(#100) Invalid parameter", "body is not a JSON object")
        allowed = {
            "messaging_product",
            "recipient_type",
            "to",
            "type",
            "text",
            "template",
            "context",
            "biz_opaque_callback_data",
        }
        if unknown := sorted(set(data) - allowed):
            raise refuse(400, 100, "(#100) Invalid parameter", f"unexpected parameters {unknown}")
        if data.get("messaging_product") != "whatsapp":
            raise refuse(
                400, 100, "(#100) The parameter messaging_product is required.", "messaging_product must be 'whatsapp'"
            )
        if data.get("recipient_type") != "individual":
            raise refuse(400, 100, "(#100) Invalid parameter", "recipient_type must be 'individual'")
        to = data.get("to")
        if not isinstance(to, str) or not META_TO.match(to):
            raise refuse(
                400, 100, "(#100) Invalid parameter", f"to must be the number in digits without '+', got {to!r}"
            )
        kind = data.get("type")
        if kind == "text":
            if "template" in data:
                raise refuse(400, 100, "(#100) Invalid parameter", "a text message with a template object")
            text = data.get("text")
            if not isinstance(text, dict) or set(text) - {"body", "preview_url"}:
                raise refuse(400, 100, "(#100) Invalid parameter", f"text must be {{body, preview_url}}, got {text!r}")
            message_body = text.get("body")
            if not isinstance(message_body, str) or not message_body.strip() or len(message_body) > 4096:
                raise refuse(400, 100, "(#100) Invalid parameter", "text.body must be 1 to 4096 characters")
            if "preview_url" in text and not isinstance(text["preview_url"], bool):
                raise refuse(400, 100, "(#100) Invalid parameter", "text.preview_url must be a boolean")
            if not self.window_open(f"+{to}"):
                raise refuse(
                    400,
                    131047,
                    "(#131047) Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                )
        elif kind == "template":
            if "text" in data:
                raise refuse(400, 100, "(#100) Invalid parameter", "a template message with a text object")
            self._meta_template(data.get("template"), refuse)
        else:
            raise refuse(400, 100, "(#100) Invalid parameter", f"type must be 'text' or 'template' here, got {kind!r}")
        wamid = "wamid." + base64.b64encode(f"HBgM{to}FQIAERgS{self._next_id():020d}".encode()).decode()
        message: dict[str, Any] = {"id": wamid}
        if kind == "template":
            message["message_status"] = "accepted"
        return data, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [message]}

    def _meta_template(self, template: Any, refuse: Callable[..., _Refused]) -> None:
        if not isinstance(template, dict) or set(template) - {"name", "language", "components"}:
            raise refuse(
                400,
                100,
                "(#100) Invalid parameter",
                f"template must be {{name, language, components}}, got {template!r}",
            )
        name, language = template.get("name"), template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if (
            not isinstance(name, str)
            or not isinstance(language, dict)
            or not isinstance(code, str)
            or set(language) - {"code", "policy"}
        ):
            raise refuse(400, 100, "(#100) Invalid parameter", "template needs a name and language: {code}")
        expected = self.meta_templates.get((name, code))
        if expected is None:
            raise refuse(
                404,
                132001,
                "(#132001) Template name does not exist in the translation",
                f"template name ({name}) does not exist in {code}",
            )
        parameters: list[Any] = []
        components = template.get("components", [])
        if not isinstance(components, list):
            raise refuse(400, 100, "(#100) Invalid parameter", "template.components must be an array")
        for component in components:
            if (
                not isinstance(component, dict)
                or component.get("type") != "body"
                or set(component) - {"type", "parameters"}
            ):
                raise refuse(400, 100, "(#100) Invalid parameter", f"only body components expected, got {component!r}")
            component_parameters = component.get("parameters")
            if not isinstance(component_parameters, list):
                raise refuse(400, 100, "(#100) Invalid parameter", "component.parameters must be an array")
            parameters.extend(component_parameters)
        for parameter in parameters:
            if (
                not isinstance(parameter, dict)
                or parameter.get("type") != "text"
                or set(parameter) != {"type", "text"}
                or not isinstance(parameter["text"], str)
                or not parameter["text"].strip()
            ):
                raise refuse(
                    400,
                    131008,
                    "(#131008) Required parameter is missing",
                    f"body parameter must be {{type: text, text}}, got {parameter!r}",
                )
        if len(parameters) != expected:
            raise refuse(
                400,
                132000,
                "(#132000) Number of parameters does not match the expected number of params",
                f"body: number of localizable_params ({len(parameters)}) does not match the expected number of params ({expected})",
            )

    # -- Twilio -----------------------------------------------------------------------------

    def _twilio(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], Any]:
        def refuse(status: int, code: int | None, message: str) -> _Refused:
            answer = {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
                "status": status,
            }
            return _Refused(status, answer, f"Twilio {code}: {message}")

        expected_auth = (
            "Basic " + base64.b64encode(f"{self.twilio_account_sid}:{self.twilio_auth_token}".encode()).decode()
        )
        if headers.get("authorization") != expected_auth:
            raise refuse(401, 20003, "Authenticate")
        expected_path = f"/2010-04-01/Accounts/{self.twilio_account_sid}/Messages.json"
        if path != expected_path:
            raise refuse(404, 20404, f"The requested resource {path} was not found")
        if method != "POST":
            raise refuse(405, 20004, f"Method {method} not allowed")
        failure = self._take_failure("twilio")
        if failure is not None:
            code = failure.code or {500: 20500, 429: 20429}.get(failure.status, 21610)
            raise refuse(failure.status, code, f"injected failure (HTTP {failure.status})")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise refuse(
                400, 21604, f"A 'To' phone number is required (Content-Type {content_type!r} is not form-encoded)"
            )
        try:
            pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise refuse(400, None, f"stand-in: body is not a form: {exc}") from exc
        if repeated := sorted(k for k, v in pairs.items() if len(v) > 1):
            raise refuse(400, None, f"stand-in: repeated parameters {repeated}")
        form = {k: v[0] for k, v in pairs.items()}
        allowed = {"From", "To", "Body", "ContentSid", "ContentVariables", "StatusCallback"}
        if unknown := sorted(set(form) - allowed):
            raise refuse(400, None, f"stand-in: unexpected parameters {unknown} (Twilio would ignore them)")
        to = form.get("To")
        if not to:
            raise refuse(400, 21604, "A 'To' phone number is required.")
        if not to.startswith("whatsapp:") or not E164.match(to.removeprefix("whatsapp:")):
            raise refuse(400, 21211, f"Invalid 'To' Phone Number: {to}")
        sender = form.get("From")
        if not sender:
            raise refuse(400, 21603, "A 'From' phone number is required.")
        if sender != f"whatsapp:{self.twilio_from}":
            raise refuse(400, 63007, f"Twilio could not find a Channel with the specified From address: {sender}")
        if callback := form.get("StatusCallback"):
            parts = urlsplit(callback)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise refuse(400, 21609, f"Invalid StatusCallback url: {callback}")
        content_sid, variables = form.get("ContentSid"), form.get("ContentVariables")
        if variables is not None and not content_sid:
            raise refuse(400, 21654, "ContentSid Required")
        if content_sid:
            if "Body" in form:
                raise refuse(400, None, "stand-in: Body must be left out when sending ContentSid")
            expected = self.twilio_contents.get(content_sid)
            if not CONTENT_SID.match(content_sid) or expected is None:
                raise refuse(400, 21655, "The ContentSid is Invalid")
            values = _try_json(variables) if variables is not None else {}
            if (
                not isinstance(values, dict)
                or any(not isinstance(v, str) or not v.strip() for v in values.values())
                or sorted(values) != [str(i) for i in range(1, expected + 1)]
            ):
                raise refuse(400, 21656, "The ContentVariables Parameter is invalid")
        else:
            text = form.get("Body")
            if not text or not text.strip():
                raise refuse(400, 21602, "Message body is required.")
            if len(text) > 1600:
                raise refuse(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
            if not self.window_open(to.removeprefix("whatsapp:")):
                raise refuse(
                    400,
                    63016,
                    "Failed to send freeform message because you are outside the allowed window. Please use a Template.",
                )
        sid = f"SM{uuid.uuid4().hex}"
        now = format_datetime(self.clock(), usegmt=True).replace("GMT", "+0000")
        uri = f"/2010-04-01/Accounts/{self.twilio_account_sid}/Messages/{sid}"
        answer = {
            "account_sid": self.twilio_account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        return form, answer


class _Handler(BaseHTTPRequestHandler):
    standin: ProviderStandIn
    protocol_version = "HTTP/1.1"
    server_version = "ProviderStandIn/1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = self.standin.handle(self.command, self.path, headers, body)
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _try_json(body: Any) -> Any:
    try:
        return json.loads(body)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None


def _try_form(body: bytes) -> dict[str, str] | None:
    try:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except (UnicodeDecodeError, ValueError):
        return None


# -- signed webhook deliveries, built the way the providers build them --------------------------


@dataclass(frozen=True)
class SignedDelivery:
    """A webhook request ready to post: ``body`` bytes and ``headers`` (Content-Type, signature).

    With Django's test client: ``client.post(path, data=d.body, content_type=d.content_type,
    headers=d.headers)``; against a live server: ``d.deliver(url)``.
    """

    body: bytes
    headers: dict[str, str]

    @property
    def content_type(self) -> str:
        return self.headers["Content-Type"]

    def deliver(self, url: str, timeout: float = 5.0) -> tuple[int, bytes]:
        """POST to ``url`` (for Twilio, the URL that was signed); returns (status, body)."""
        request = urllib.request.Request(url, data=self.body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def meta_signature(body: bytes, app_secret: str = META_APP_SECRET) -> str:
    """X-Hub-Signature-256 as Meta sends it: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def meta_delivery(payload: dict[str, Any], app_secret: str = META_APP_SECRET) -> SignedDelivery:
    """A Meta webhook POST of ``payload`` (serialised as Meta does: compact, non-ASCII escaped)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SignedDelivery(
        body, {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, app_secret)}
    )


def _meta_envelope(value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": META_DISPLAY_NUMBER, "phone_number_id": META_PHONE_NUMBER_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": META_WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def meta_status_payload(
    message_id: str,
    status: str,
    *,
    recipient: str = CUSTOMER,
    timestamp: int | None = None,
    error: tuple[int, str, str] | None = None,
) -> dict[str, Any]:
    """A ``statuses`` webhook for our message ``message_id``, as in Meta's status webhook reference.

    ``error`` is (code, title, details) for a ``failed`` status. sent/delivered/read carry the
    pricing object Meta adds.
    """
    entry: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "recipient_id": recipient.removeprefix("+"),
    }
    if error is not None:
        code, title, details = error
        entry["errors"] = [
            {
                "code": code,
                "title": title,
                "message": title,
                "error_data": {"details": details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    else:
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    return _meta_envelope({"statuses": [entry]})


def meta_message_payload(
    from_number: str,
    message: dict[str, Any],
    *,
    message_id: str | None = None,
    timestamp: int | None = None,
    profile_name: str = "Carolina Pérez",
) -> dict[str, Any]:
    """A ``messages`` webhook from ``from_number`` (E.164); ``message`` holds the type-specific
    part, e.g. ``{"type": "text", "text": {"body": "Hola"}}`` (see ``meta_text``/``meta_image``)."""
    wa_id = from_number.removeprefix("+")
    full = {
        "from": wa_id,
        "id": message_id or f"wamid.{base64.b64encode(uuid.uuid4().bytes).decode()}",
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        **message,
    }
    return _meta_envelope({"contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}], "messages": [full]})


def meta_text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


def meta_image(media_id: str, *, caption: str | None = None, mime_type: str = "image/jpeg") -> dict[str, Any]:
    image: dict[str, Any] = {
        "mime_type": mime_type,
        "sha256": hashlib.sha256(media_id.encode()).hexdigest(),
        "id": media_id,
    }
    if caption is not None:
        image["caption"] = caption
    return {"type": "image", "image": image}


def twilio_signature(url: str, params: dict[str, str], auth_token: str = TWILIO_AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it: base64 HMAC-SHA1 of url + sorted name+value pairs."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_delivery(url: str, params: dict[str, str], auth_token: str = TWILIO_AUTH_TOKEN) -> SignedDelivery:
    """A Twilio webhook POST of ``params`` to ``url``, form-encoded and signed for that exact URL."""
    return SignedDelivery(
        urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, params, auth_token),
            "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
        },
    )


def twilio_status_params(
    message_sid: str, status: str, *, to: str = CUSTOMER, error_code: str | None = None
) -> dict[str, str]:
    """A WhatsApp status callback's fields as Twilio posts them (``ErrorCode`` when failed)."""
    params = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "ChannelPrefix": "whatsapp",
        "ChannelToAddress": to,
        "From": f"whatsapp:{TWILIO_FROM}",
        "MessageSid": message_sid,
        "MessageStatus": status,
        "SmsSid": message_sid,
        "SmsStatus": status,
        "To": f"whatsapp:{to}",
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    return params


def twilio_inbound_params(
    from_number: str,
    body: str,
    *,
    message_sid: str | None = None,
    media: list[tuple[str, str]] | None = None,
    profile_name: str = "Carolina Pérez",
) -> dict[str, str]:
    """An incoming WhatsApp message's fields as Twilio posts them; ``media`` is [(url, content type)]."""
    sid = message_sid or f"SM{uuid.uuid4().hex}"
    params = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": f"whatsapp:{from_number}",
        "MessageSid": sid,
        "NumMedia": str(len(media or [])),
        "NumSegments": "1",
        "ProfileName": profile_name,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": f"whatsapp:{TWILIO_FROM}",
        "WaId": from_number.removeprefix("+"),
    }
    for i, (url, content_type) in enumerate(media or []):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = content_type
    return params
