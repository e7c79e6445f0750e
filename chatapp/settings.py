"""Settings for chatapp. Every value comes from the environment; see README 'Settings'."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import dj_database_url
import django_stubs_ext
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from chatapp.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_url,
)

# Lets admin and form classes be subscripted for the type checker (ModelAdmin[Model]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)


def _dev_secret_key() -> str:
    # Persist the generated key so sessions survive a restart of the development server.
    path = BASE_DIR / ".dev-secret-key"
    if not path.exists():
        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = env_secret("DJANGO_SECRET_KEY", debug=DEBUG, dev_default=_dev_secret_key)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

# --- chatapp -----------------------------------------------------------------------------------

OPENROUTER_BASE_URL = env_url("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1")
OPENROUTER_AUTH_URL = env_url("OPENROUTER_AUTH_URL", "https://openrouter.ai/auth")
OPENROUTER_API_KEY = env_str("OPENROUTER_API_KEY", "") or None
CHATAPP_OPERATOR_KEY_POLICY = env_choice(
    "CHATAPP_OPERATOR_KEY_POLICY", "off", ("off", "staff", "all")
)
CHATAPP_SITE_URL = env_url("CHATAPP_SITE_URL", "http://localhost:8000")
CHATAPP_SITE_NAME = env_str("CHATAPP_SITE_NAME", "chatapp") or "chatapp"
CHATAPP_SIGNUP_ENABLED = env_bool("CHATAPP_SIGNUP_ENABLED", True)
# The catalogue refreshes itself in the background once it is older than this.
CHATAPP_CATALOG_MAX_AGE = env_int("CHATAPP_CATALOG_MAX_AGE", 6 * 3600, minimum=60)
# Off: only `manage.py sync_models` (e.g. from cron) updates it. The test suite turns it off.
CHATAPP_CATALOG_AUTO_REFRESH = env_bool("CHATAPP_CATALOG_AUTO_REFRESH", True)
# A cheap model that writes conversation titles; empty turns auto-titles off.
CHATAPP_TITLE_MODEL = env_str("CHATAPP_TITLE_MODEL", "openai/gpt-4o-mini")
# How many results the web plugin fetches when a person turns on "Web search" (OpenRouter: 1-10).
CHATAPP_WEB_SEARCH_MAX_RESULTS = env_int("CHATAPP_WEB_SEARCH_MAX_RESULTS", 5, minimum=1, maximum=10)
# Site-wide monthly budget, in dollars, for spending on the operator key (empty: no cap).
CHATAPP_DEFAULT_MONTHLY_BUDGET = env_decimal("CHATAPP_DEFAULT_MONTHLY_BUDGET", None)
# Replies one person may have streaming at once, across all their tabs and server processes.
CHATAPP_MAX_CONCURRENT_REPLIES = env_int("CHATAPP_MAX_CONCURRENT_REPLIES", 3, minimum=1)
# The largest file "Import conversations" accepts, in megabytes (imports run in the background).
CHATAPP_MAX_IMPORT_MB = env_int("CHATAPP_MAX_IMPORT_MB", 100, minimum=1)
# On SIGTERM, how long a server process may take to end its replies and close its sockets.
# Attachments (chatapp/attachments, README "Attachments"): the largest file, and the most the
# files of one message may add up to; files live under CHATAPP_MEDIA_ROOT, or in an
# S3-compatible bucket when CHATAPP_S3_BUCKET is set.
CHATAPP_MAX_UPLOAD_MB = env_int("CHATAPP_MAX_UPLOAD_MB", 20, minimum=1)
CHATAPP_MAX_MESSAGE_UPLOAD_MB = env_int("CHATAPP_MAX_MESSAGE_UPLOAD_MB", 50, minimum=1)
CHATAPP_MEDIA_ROOT = Path(env_str("CHATAPP_MEDIA_ROOT", "") or BASE_DIR / "media")
CHATAPP_S3_BUCKET = env_str("CHATAPP_S3_BUCKET", "")
CHATAPP_SHUTDOWN_SECONDS = env_int("CHATAPP_SHUTDOWN_SECONDS", 10, minimum=1)
# OpenRouter client timeouts, in seconds: connecting, silence between stream reads (OpenRouter
# sends keep-alive comments), and a cap on one whole generation. Retries: see chatapp/openrouter.
OPENROUTER_CONNECT_TIMEOUT = env_int("OPENROUTER_CONNECT_TIMEOUT", 10, minimum=1)
OPENROUTER_IDLE_TIMEOUT = env_int("OPENROUTER_IDLE_TIMEOUT", 90, minimum=1)
OPENROUTER_GENERATION_TIMEOUT = env_int("OPENROUTER_GENERATION_TIMEOUT", 600, minimum=1)


def _dev_encryption_key() -> str:
    digest = hashlib.sha256(f"chatapp-dev-encryption:{SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _fernet_keys(raw: str) -> list[str]:
    keys = [key.strip() for key in raw.split(",")]
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"CHATAPP_ENCRYPTION_KEYS item {index} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)."
            ) from None
    return keys


CHATAPP_ENCRYPTION_KEYS = _fernet_keys(
    env_secret("CHATAPP_ENCRYPTION_KEYS", debug=DEBUG, dev_default=_dev_encryption_key)
)

# --- Django ------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "csp",
    "chatapp.core",
    "chatapp.accounts",
    "chatapp.catalog",
    "chatapp.attachments",
    "chatapp.chat",
    "chatapp.usage",
    "chatapp.sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "chatapp.urls"
ASGI_APPLICATION = "chatapp.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chatapp.core.context_processors.site",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
if not DATABASE_URL.startswith(("sqlite:", "postgres:", "postgresql:")):
    raise ImproperlyConfigured(
        f"DATABASE_URL={DATABASE_URL!r}: use sqlite:///path or postgres://user@host/name."
    )
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool; persistent connections (conn_max_age) must stay off with it.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20}
else:
    # A SQLite connection is a file handle: keep it for the life of its thread instead of
    # reopening it (and re-running the PRAGMAs) for every request and every websocket frame.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    # WAL lets the streaming worker checkpoint while pages read; the timeout rides out
    # the short write locks SQLite takes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# With REDIS_URL, server processes deliver frames to each other through Redis pub/sub
# (chatapp/chat/fanout.py); without it, everything stays in the one process.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} is not a redis:// URL.")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("CHATAPP_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Never a public URL: every file is read through chatapp/attachments/views.py.
    "attachments": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": CHATAPP_S3_BUCKET,
                "endpoint_url": env_str("CHATAPP_S3_ENDPOINT_URL", "") or None,
                "region_name": env_str("CHATAPP_S3_REGION", "") or None,
                "location": "attachments",
                "default_acl": "private",
                "file_overwrite": False,
            },
        }
        if CHATAPP_S3_BUCKET
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": CHATAPP_MEDIA_ROOT,
                "directory_permissions_mode": 0o700,
                "file_permissions_mode": 0o600,
            },
        }
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ----------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = [CHATAPP_SITE_URL]
if CHATAPP_SITE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Model output is untrusted HTML: no inline script anywhere, no remote images by default.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'", OPENROUTER_AUTH_URL],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CHATAPP_LOG_LEVEL", "INFO")},
    "loggers": {
        # httpx logs full request URLs; keep it quiet so nothing sensitive reaches a log.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
