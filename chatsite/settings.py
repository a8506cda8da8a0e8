"""Settings, read from the environment.

Development is the default and needs nothing: SQLite in WAL mode, the in-memory channel
layer, and a secret generated once into a git-ignored file so tokens survive restarts.
``DJANGO_ENV=production`` demands ``SECRET_KEY``, ``DATABASE_URL`` and ``REDIS_URL`` and
refuses to start without them. Every variable is listed in the README and .env.example.
"""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = os.environ.get("DJANGO_ENV", "development").strip().lower()
PRODUCTION = DJANGO_ENV == "production"
# Under pytest no worker thread starts in the test process (tests run their own workers).
TESTING = "pytest" in sys.modules


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DJANGO_ENV=production (see the README's settings table)."
        )
    return value


def development_secret() -> str:
    """A secret made once and kept in a git-ignored file, so tokens survive restarts."""
    path = Path(os.environ.get("DEV_SECRET_FILE", BASE_DIR / ".dev-secret"))
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(50)
    path.write_text(value)
    path.chmod(0o600)
    return value


# Redis behind Sentinel: "host:port,host:port" of the sentinels, and the name they watch
# the primary by. Every Redis client (channel layer, presence and limits, cache) then asks
# them for the primary and follows a failover (chatsite.foundation.redis).
REDIS_SENTINELS = env_list("REDIS_SENTINELS", [])
REDIS_SENTINEL_MASTER = os.environ.get("REDIS_SENTINEL_MASTER", "mymaster")

if PRODUCTION:
    SECRET_KEY = require("SECRET_KEY")
    DATABASE_URL = require("DATABASE_URL")
    REDIS_URL = "" if REDIS_SENTINELS else require("REDIS_URL")
else:
    SECRET_KEY = os.environ.get("SECRET_KEY") or development_secret()
    DATABASE_URL = os.environ.get("DATABASE_URL", "")
    REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_SENTINELS:
    from chatsite.foundation.redis import sentinel_url

    REDIS_URL = sentinel_url(
        REDIS_SENTINELS,
        REDIS_SENTINEL_MASTER,
        db=env_int("REDIS_SENTINEL_DB", 0),
        password=os.environ.get("REDIS_PASSWORD", ""),
    )

DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "rooms",
    "moderation",
    "messaging",
    "django_tasks",
    "django_tasks_db",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chatsite.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented place): the language
    # from the cookie the switcher sets, else Accept-Language. A signed-in user's settings
    # ``language`` is applied after authentication (chatsite.i18n).
    "django.middleware.locale.LocaleMiddleware",
    "chatsite.i18n.UserLanguageCookieMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",  # LANGUAGE_CODE, LANGUAGES
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

if DATABASE_URL:
    # Health checks: after a database restart the pool's connections are dead; Django then
    # has psycopg_pool test each one on checkout instead of failing the first request.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's psycopg pool: a message costs one short transaction on a warm connection.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN", 2),
            "max_size": env_int("DB_POOL_MAX", 10),
            "timeout": env_float("DB_POOL_TIMEOUT", 5.0),
        }
elif os.environ.get("TEST_DATABASE") == "postgresql":
    # tests/conftest.py fills in the host and port of the throwaway server it starts.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "chat",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "",
            "TEST": {"NAME": "chat_test"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Keep each thread's connection: opening one (and running the PRAGMAs below) per
            # message cost more than the message's own INSERT (bench/README.md).
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock
                # at BEGIN, so concurrent writers queue on busy_timeout instead of failing
                # with "database is locked" half-way through a transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]

# JSON and form bodies Django or DRF read into memory; the server itself refuses any body
# over CHAT_HTTP_BODY_MAX (chatsite.asgi) before reading it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "nickname", "tag", "display_name")},
    },
    {"NAME": "accounts.validators.NotBlankPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Channel layer, cache ------------------------------------------------------------------

# "pubsub" (chatsite.layers.PubSubChannelLayer: one PUBLISH per broadcast) or "core"
# (channels-redis' RedisChannelLayer: ~15 round trips per message over two processes).
# Chosen by measurement: bench/README.md, "Across processes".
CHANNEL_LAYER_BACKEND = os.environ.get("CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER_BACKEND not in {"pubsub", "core"}:
    raise ImproperlyConfigured("CHANNEL_LAYER must be pubsub or core")
if REDIS_URL:
    from chatsite.foundation.redis import channel_layer_host

    layer_host = channel_layer_host(REDIS_URL)
    CHANNEL_LAYERS = {
        "default": (
            {"BACKEND": "chatsite.layers.PubSubChannelLayer", "CONFIG": {"hosts": [layer_host]}}
            if CHANNEL_LAYER_BACKEND == "pubsub"
            else {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [layer_host], "capacity": 10_000, "expiry": 60},
            }
        )
    }
    # Shared by every process: throttles, and the handshake's and join's snapshots of users
    # and rooms (chatsite.foundation.snapshots), whose invalidation every process sees at
    # once. Short timeouts: an unreachable cache is a database read, not a stall.
    CACHES = {
        "default": {
            "BACKEND": (
                "chatsite.foundation.redis.SentinelRedisCache"
                if REDIS_SENTINELS
                else "django.core.cache.backends.redis.RedisCache"
            ),
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chat",
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatsite.layers.LocalChannelLayer",
            "CONFIG": {"capacity": 10_000, "expiry": 60},
        }
    }
    # One process: its own memory. Room for a reconnect storm's snapshots (a user and its
    # version key each) before LocMemCache starts culling.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Chat rules (all overridable from the environment) -------------------------------------


class ChatSettings(TypedDict):
    """``settings.CHAT``, typed: code reading ``settings.CHAT["SEND_RATE"]`` gets an int."""

    BODY_MAX: int
    FRAME_MAX_BYTES: int
    HISTORY_DEFAULT: int
    HISTORY_MAX: int
    REPLAY_MAX: int
    RECENT_FRAMES: int
    SEND_RATE: int
    SEND_WINDOW: float
    READ_RATE: int
    REPLAY_RATE: int
    REPLAY_WINDOW: float
    REPLAY_REPEAT_WINDOW: float
    LOGIN_FAILURES: int
    LOGIN_WINDOW: float
    ROOM_CREATE_RATE: str
    LISTING_CREATE_RATE: str
    SOCKET_SNDBUF: int
    HEADER_TIMEOUT: float
    MAX_CONCURRENCY: int
    HTTP_BODY_MAX: int
    FORWARDED_ALLOW_IPS: str
    TYPING_INTERVAL: float
    PRESENCE_TTL: float
    PRESENCE_COALESCE: float
    PRESENCE_USERS_MAX: int
    MAX_CONNECTIONS_PER_USER: int
    OUTBOX_MAX_BYTES: int
    GUEST_RATE: str
    GC_TUNING: bool
    GC_FREEZE_INTERVAL: float
    HEARTBEAT_INTERVAL: float
    REDIS_URL: str
    UPLOAD_MAX_BYTES: int
    UPLOAD_MAX_PIXELS: int
    UPLOAD_RATE: int
    UPLOAD_WINDOW: int
    IMAGE_WORKERS: int
    IMAGE_QUEUE: int
    MEDIA_URL_TTL: int
    ATTACHMENTS_MAX: int
    ATTACHMENT_PENDING_SECONDS: int
    GUEST_POW_BITS: int
    GUEST_POW_MAX_BITS: int
    MAX_CONNECTIONS_PER_ADDRESS: int
    REPORT_AUTOHIDE: int
    REPORT_MIN_AGE: float
    NEW_GUEST_LINK_DELAY: float
    MASK_CONTACTS: bool
    BAN_ADDRESS_HOURS: float
    SITE_URL: str
    PUSH_DELAY: float
    PUSH_ENDPOINTS: list[str]
    PUSH_RETRIES: int
    PUSH_TIMEOUT: float
    EMAIL_DELAY: float
    EMAIL_INTERVAL: float
    TASKS_IN_PROCESS: bool


CHAT: ChatSettings = {
    "BODY_MAX": env_int("CHAT_BODY_MAX", 2000),
    "FRAME_MAX_BYTES": env_int("CHAT_FRAME_MAX_BYTES", 64 * 1024),
    "HISTORY_DEFAULT": 50,
    "HISTORY_MAX": 100,
    "REPLAY_MAX": env_int("CHAT_REPLAY_MAX", 1000),
    # Per room with local members: the latest frames kept in memory to replay rejoins from.
    "RECENT_FRAMES": env_int("CHAT_RECENT_FRAMES", 500),
    "SEND_RATE": env_int("CHAT_SEND_RATE", 10),
    "SEND_WINDOW": env_float("CHAT_SEND_WINDOW", 10.0),
    # Read marks per user per SEND_WINDOW (their own budget: a client marks as it scrolls).
    "READ_RATE": env_int("CHAT_READ_RATE", 60),
    # Replays (join/sync with a cursor) per connection per window; twice that per user.
    "REPLAY_RATE": env_int("CHAT_REPLAY_RATE", 10),
    "REPLAY_WINDOW": env_float("CHAT_REPLAY_WINDOW", 10.0),
    # The same (room, cursor) replayed to one connection again within this: rate_limited.
    "REPLAY_REPEAT_WINDOW": env_float("CHAT_REPLAY_REPEAT_WINDOW", 5.0),
    # Failed logins (and claims) per client address and per username per window.
    "LOGIN_FAILURES": env_int("CHAT_LOGIN_FAILURES", 5),
    "LOGIN_WINDOW": env_float("CHAT_LOGIN_WINDOW", 900.0),
    "ROOM_CREATE_RATE": os.environ.get("CHAT_ROOM_CREATE_RATE", "10/hour"),
    "LISTING_CREATE_RATE": os.environ.get("CHAT_LISTING_CREATE_RATE", "20/hour"),
    # Kernel send buffer per socket (bytes; the kernel doubles it): what a client that
    # stopped reading can hold in the kernel beyond OUTBOX_MAX_BYTES. 0: the kernel's own.
    "SOCKET_SNDBUF": env_int("CHAT_SOCKET_SNDBUF", 64 * 1024),
    # uvicorn (chatsite.serve): a connection that has not sent its request headers (or
    # WebSocket handshake) within this is closed; concurrent connections and requests are
    # capped (0: from the file-descriptor limit); request bodies over HTTP_BODY_MAX are
    # refused (413) before they are read.
    "HEADER_TIMEOUT": env_float("CHAT_HEADER_TIMEOUT", 10.0),
    "MAX_CONCURRENCY": env_int("CHAT_MAX_CONCURRENCY", 0),
    # Above CHAT_UPLOAD_MAX_BYTES (10 MB) with room for a multipart envelope.
    "HTTP_BODY_MAX": env_int("CHAT_HTTP_BODY_MAX", 12 * 1024 * 1024),
    # Peers whose X-Forwarded-For is believed (comma-separated addresses or networks): the
    # reverse proxy's. Empty: the peer's own address is the client's.
    "FORWARDED_ALLOW_IPS": os.environ.get("FORWARDED_ALLOW_IPS", ""),
    "TYPING_INTERVAL": env_float("CHAT_TYPING_INTERVAL", 2.0),
    # The browser client pings this often; a socket silent for as long again is dead.
    "HEARTBEAT_INTERVAL": env_float("CHAT_HEARTBEAT_INTERVAL", 25.0),
    "PRESENCE_TTL": env_float("CHAT_PRESENCE_TTL", 60.0),
    "PRESENCE_COALESCE": env_float("CHAT_PRESENCE_COALESCE", 0.25),
    "PRESENCE_USERS_MAX": 50,
    "MAX_CONNECTIONS_PER_USER": env_int("CHAT_MAX_CONNECTIONS_PER_USER", 20),
    "OUTBOX_MAX_BYTES": env_int("CHAT_OUTBOX_MAX_BYTES", 4 * 1024 * 1024),
    "GUEST_RATE": os.environ.get("CHAT_GUEST_RATE", "60/hour"),
    "GC_TUNING": env_bool("CHAT_GC_TUNING", True),
    "GC_FREEZE_INTERVAL": env_float("CHAT_GC_FREEZE_INTERVAL", 10.0),
    "REDIS_URL": REDIS_URL,
    # Images (PROTOCOL.md, media): the most an upload may weigh and hold, how many a user
    # may send per window, how long a signed URL lives, and a send's attachments.
    "UPLOAD_MAX_BYTES": env_int("CHAT_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
    "UPLOAD_MAX_PIXELS": env_int("CHAT_UPLOAD_MAX_PIXELS", 40_000_000),
    "UPLOAD_RATE": env_int("CHAT_UPLOAD_RATE", 20),
    "UPLOAD_WINDOW": env_int("CHAT_UPLOAD_WINDOW", 600),
    # Image processing (images.pool): worker processes per server process, at low priority,
    # and how many uploads may wait for one (more: 503 ``unavailable`` with Retry-After).
    "IMAGE_WORKERS": max(1, env_int("CHAT_IMAGE_WORKERS", 1)),
    "IMAGE_QUEUE": max(0, env_int("CHAT_IMAGE_QUEUE", 32)),
    "MEDIA_URL_TTL": env_int("CHAT_MEDIA_URL_TTL", 24 * 3600),
    "ATTACHMENTS_MAX": 4,
    # An upload no send named within this long is deleted by the purge command.
    "ATTACHMENT_PENDING_SECONDS": 3600,
    # Moderation (v1.1). Proof-of-work for a new guest: leading zero bits of SHA-256 (0: off);
    # the default costs Chromium here about half a second (README, "Proof-of-work").
    "GUEST_POW_BITS": env_int("CHAT_GUEST_POW_BITS", 16),
    "GUEST_POW_MAX_BITS": env_int("CHAT_GUEST_POW_MAX_BITS", 24),
    "MAX_CONNECTIONS_PER_ADDRESS": env_int("CHAT_MAX_CONNECTIONS_PER_ADDRESS", 200),
    "REPORT_AUTOHIDE": env_int("CHAT_REPORT_AUTOHIDE", 3),
    "REPORT_MIN_AGE": env_float("CHAT_REPORT_MIN_AGE", 3600.0),
    "NEW_GUEST_LINK_DELAY": env_float("CHAT_NEW_GUEST_LINK_DELAY", 600.0),
    "MASK_CONTACTS": env_bool("CHAT_MASK_CONTACTS", False),
    "BAN_ADDRESS_HOURS": env_float("CHAT_BAN_ADDRESS_HOURS", 24.0),
    # Links in pushes and e-mails are absolute.
    "SITE_URL": os.environ.get("CHAT_SITE_URL", "http://127.0.0.1:8000").rstrip("/"),
    "PUSH_DELAY": env_float("CHAT_PUSH_DELAY", 10.0),
    # Scheme, host and port compared exactly, then the path as a prefix (no SSRF). Edge's
    # WNS hosts vary by region: add the ones you allow.
    "PUSH_ENDPOINTS": env_list(
        "CHAT_PUSH_ENDPOINTS",
        [
            "https://fcm.googleapis.com/",
            "https://updates.push.services.mozilla.com/",
            "https://web.push.apple.com/",
        ],
    ),
    "PUSH_RETRIES": env_int("CHAT_PUSH_RETRIES", 5),
    "PUSH_TIMEOUT": env_float("CHAT_PUSH_TIMEOUT", 10.0),
    "EMAIL_DELAY": env_float("CHAT_EMAIL_DELAY", 15 * 60.0),
    "EMAIL_INTERVAL": env_float("CHAT_EMAIL_INTERVAL", 3600.0),
    # Run the task worker as a thread of the server process: the embedded default (one
    # process, in-process presence) needs nothing else started. Production runs
    # ``manage.py chat_worker`` as its own process instead.
    "TASKS_IN_PROCESS": env_bool(
        "CHAT_TASKS_IN_PROCESS", not PRODUCTION and not REDIS_URL and not TESTING
    ),
}

# --- Background tasks, Web Push, e-mail ------------------------------------------------------

TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}


def development_vapid_key() -> str:
    """A VAPID key pair made once into a git-ignored PEM file (as the dev secret)."""
    path = Path(os.environ.get("DEV_VAPID_FILE", BASE_DIR / ".dev-vapid.pem"))
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    VAPID_PRIVATE_KEY = require("VAPID_PRIVATE_KEY")
    VAPID_SUBJECT = require("VAPID_SUBJECT")
else:
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY") or development_vapid_key()
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:dev@localhost")

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
else:
    # Development (and production without EMAIL_HOST) prints e-mails to the console.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Realtime Chat <chat@localhost>")

# --- REST framework and tokens ---------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, then the user's settings ``language`` made the request's language.
        "chatsite.i18n.LanguageJWTAuthentication",
        "chatsite.i18n.LanguageSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "chatsite.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "chatsite.renderers.ORJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "chatsite.foundation.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The server resolves the client address (FORWARDED_ALLOW_IPS, chatsite.serve): DRF
    # reads REMOTE_ADDR. Set only behind a server that does not (then: proxies in front).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("ACCESS_TOKEN_SECONDS", 15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("REFRESH_TOKEN_SECONDS", 30 * 86400)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "LEEWAY": 30,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Realtime Chat API",
    "DESCRIPTION": "HTTP half of the wire contract; the WebSocket half is in PROTOCOL.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Static files, media, i18n ---------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# Uploaded images (re-encoded; see images/). Reached only by signed URLs: on the file
# system through ``images.views.media_serve`` (which, behind nginx, answers with
# ``X-Accel-Redirect: MEDIA_ACCEL_REDIRECT<name>`` and nginx sends the file), on S3 by
# presigned URLs.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var/media"))
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "file").strip().lower()  # "file" or "s3"
MEDIA_ACCEL_REDIRECT = os.environ.get("MEDIA_ACCEL_REDIRECT", "")  # e.g. "/_media/"
CSP_IMG_SOURCES: list[str] = []  # origins besides this one that images may come from
if MEDIA_STORAGE == "s3":
    _media_storage = {
        "BACKEND": "images.s3.MediaS3Storage",
        "OPTIONS": {
            "bucket_name": require("MEDIA_S3_BUCKET")
            if PRODUCTION
            else os.environ.get("MEDIA_S3_BUCKET", "chat-media"),
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "access_key": os.environ.get("MEDIA_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
            "querystring_auth": True,
            "querystring_expire": CHAT["MEDIA_URL_TTL"],
            "default_acl": None,
            "file_overwrite": False,
            "signature_version": "s3v4",
            "addressing_style": os.environ.get("MEDIA_S3_ADDRESSING_STYLE", "path"),
        },
    }
    # The page's Content-Security-Policy lets images come from the storage's own origin.
    _endpoint = urlsplit(os.environ.get("MEDIA_S3_ENDPOINT_URL") or "https://*.amazonaws.com")
    CSP_IMG_SOURCES = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
elif MEDIA_STORAGE == "file":
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured("MEDIA_STORAGE is 'file' or 's3'.")
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A request body past this spills to a temporary file (Django's ASGI handler spools it);
# images.uploads writes every file part to one whatever its size. (0 would mean "never".)
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
# The page speaks English and Korean (PROTOCOL.md: settings ``language``); ``make`` compiles
# locale/*/LC_MESSAGES/*.po into the .mo files Django reads (they are not committed).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Production hardening ------------------------------------------------------------------

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
