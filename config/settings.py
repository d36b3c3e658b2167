"""Radicado settings: infrastructure only, read from the environment.

Organisational policy (calendars, workflows, templates, channels) is data in the
database, never settings. Every knob is a ``RADICADO_*`` environment variable;
secrets may also come from ``RADICADO_<NAME>_FILE``.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """Read ``RADICADO_<name>``, or the file named by ``RADICADO_<name>_FILE``."""
    file_path = os.environ.get(f"RADICADO_{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(f"RADICADO_{name}", default)


def envbool(name: str, default: bool) -> bool:
    """Read a boolean; anything but the usual spellings fails loudly."""
    raw = env(name, "1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"RADICADO_{name}={raw!r} is not a boolean")


def envint(name: str, default: int) -> int:
    """Read an integer; a malformed value fails loudly."""
    raw = env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"RADICADO_{name}={raw!r} is not an integer") from exc


DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "var"))).resolve()


def _secret_key() -> str:
    key = env("SECRET_KEY")
    if key:
        return key
    # The embedded default keeps a generated key beside its data, so sessions
    # survive restarts without anyone having to invent a secret.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # the API docs' Swagger UI from the package's own static files, never a CDN
    "huey.contrib.djhuey",
    "radicado.workspaces",
    "radicado.customers",
    "radicado.sla",
    "radicado.notifications",
    "radicado.channels",
    "radicado.tickets",
    "radicado.web",
    "radicado.portal",
    "radicado.console",
    "radicado.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "radicado.web.middleware.WritesInActionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "radicado" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'radicado.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 600),
    )
}
PREPARE_THRESHOLD = envint("DB_PREPARE_THRESHOLD", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and PREPARE_THRESHOLD > 0:
    # Parameters bound by the server, and a statement run this many times on a connection is prepared:
    # PostgreSQL stops re-planning the same few statements (ADR 0011). 0 restores Django's default,
    # client-side binding, for a PgBouncer in transaction mode without prepared-statement support (< 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=PREPARE_THRESHOLD)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE avoids lock-upgrade deadlocks between concurrent writers;
        # WAL lets readers proceed while one writer commits.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # Tests use a real file, not shared-cache memory, so that locking behaves
    # as in production (shared-cache tables fail fast instead of waiting).
    # One file per test process, so parallel runs never share WAL files.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"radicado-test-{os.getpid()}.sqlite3")}

AUTH_USER_MODEL = "workspaces.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "es-co"
LANGUAGES = [("es-co", "Español"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "radicado" / "locale"]
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static" if envbool("STATIC_MANIFEST", False) else None
STATICFILES_DIRS = [BASE_DIR / "radicado" / "static"]
STORAGES = {
    # Attachments live outside the web root and are only served through an
    # authorised view; there is deliberately no MEDIA_URL.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "attachments"), "base_url": None},
    },
    # Hashed, compressed names need ``collectstatic``; the embedded default
    # serves straight from the packages through WhiteNoise's finders instead.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

ATTACHMENT_MAX_BYTES = envint("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = envint("ATTACHMENT_MAX_FILES", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# WhatsApp webhooks (issue 19): refusal summaries are kept this long; entries dated outside the
# replay window are acknowledged and ignored (Meta retries a delivery for up to 7 days).
WEBHOOK_REFUSED_RETENTION_DAYS = envint("WEBHOOK_REFUSED_RETENTION_DAYS", 7)
WHATSAPP_REPLAY_WINDOW_HOURS = envint("WHATSAPP_REPLAY_WINDOW_HOURS", 7 * 24)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Jobs (ADR 0007): Huey on a SQLite file beside the data by default, one consumer inside
# `radicado demo`; with RADICADO_REDIS_URL, Redis, so that several worker processes share it.
REDIS_URL = env("REDIS_URL")
HUEY = {
    "name": "radicado",
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "immediate": envbool("JOBS_IMMEDIATE", False),
    "utc": True,
    "connection": {"url": REDIS_URL} if REDIS_URL else {"filename": str(DATA_DIR / "jobs.sqlite3")},
    "consumer": {"workers": envint("JOB_WORKERS", 2), "worker_type": "thread", "periodic": True},
}

SMTP_URL = env("SMTP_URL")
# Where people reach this installation: links in e-mail (survey links) start with it.
PUBLIC_URL = env("PUBLIC_URL", "http://127.0.0.1:8000")
MAIL_DOMAIN = env("MAIL_DOMAIN", "radicado.localhost")
MAIL_TOKEN_KEY = env("MAIL_TOKEN_KEY") or SECRET_KEY

# Refuse (raise on) a domain write made outside an action while a request is served (ADR 0014). On in the
# test suite, so a new screen that writes directly fails its tests; off by default in production.
RADICADO_STRICT_WRITES = envbool("STRICT_WRITES", False)
# Behind a reverse proxy: the header that carries the client's address (e.g. X-Forwarded-For) and how
# many proxies append to it. Unset, the peer's address is the client's (ADR 0015).
TRUSTED_PROXY_HEADER = env("TRUSTED_PROXY_HEADER")
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 1)
LOGIN_THROTTLE_FAILURES = envint("LOGIN_THROTTLE_FAILURES", 5)
LOGIN_THROTTLE_WINDOW_SECONDS = envint("LOGIN_THROTTLE_WINDOW_SECONDS", 900)
# An API token's lifetime in days when it is issued (ADR 0016); 0: tokens never expire.
API_TOKEN_LIFETIME_DAYS = envint("API_TOKEN_LIFETIME_DAYS", 90)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Production behind TLS (docs/security.md): redirect http to https, tell browsers to use https only,
# and trust the proxy's scheme header when it terminates TLS.
SECURE_SSL_REDIRECT = envbool("SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", False)
if envbool("PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp): every script and style from this site's own files, no inline
# script, no eval, nothing framed, forms post only here. The API docs' page alone allows inline styles
# (Swagger UI sets them), see api.api.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# The API's interactive docs (/api/v1/docs): staff only, unless this says anyone may read them.
API_DOCS_PUBLIC = envbool("API_DOCS_PUBLIC", False)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
