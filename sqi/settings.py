"""Settings for 消保通 (sqi), read from the environment with django-environ.

One module for every environment. ``SQI_ENV=production`` turns on the transport-security
settings and refuses to start without real secrets; development and tests leave them off so
that ``make run`` and ``make test`` need nothing but this checkout.

Environment:
    DATABASE_URL          default sqlite:///db.sqlite3 (PostgreSQL in production and CI)
    REDIS_URL             default none: Celery runs tasks in-process, cache is local memory
    SECRET_KEY            required in production
    FIELD_ENCRYPTION_KEY  required in production (encrypts complainants' ID numbers)
    DEBUG                 default false
    ALLOWED_HOSTS         comma-separated, default 127.0.0.1,localhost
    SQI_ENV               development (default) | production
    API_ANON_RATE         anonymous API requests per IP address, default 120/min in production
    NUM_PROXIES           reverse proxies in front of the app that append X-Forwarded-For (0)
    CLIENT_IP_HEADER      META key holding the client address (REMOTE_ADDR; HTTP_X_REAL_IP…)
"""

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

SQI_ENV = env.str("SQI_ENV", default="development")
PRODUCTION = SQI_ENV == "production"

DEV_SECRET_KEY = "dev-only-not-secret-sqi-0000000000000000000000000000000000000000"  # noqa: S105
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1zZWNyZXQtMDA="

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY") if PRODUCTION else env.str("SECRET_KEY", DEV_SECRET_KEY)
FIELD_ENCRYPTION_KEY = (
    env.str("FIELD_ENCRYPTION_KEY")
    if PRODUCTION
    else env.str("FIELD_ENCRYPTION_KEY", DEV_FIELD_ENCRYPTION_KEY)
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "treebeard",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "csp",
    "django_ratelimit",
    # ours, lowest first: (outbox) <- insurers <- complaints <- cases <- sqi
    "outbox",
    "insurers",
    "complaints",
    "cases",
    "sqi",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last: cached public pages before URL resolution (sqi/page_cache.py).
    "sqi.page_cache.LocalPageMiddleware",
]

ROOT_URLCONF = "sqi.urls"
WSGI_APPLICATION = "sqi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sqi.context_processors.ui",
                # After Django's own csrf processor: see sqi/page_cache.py.
                "sqi.page_cache.csrf_placeholder",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Prepared statements: parameters sent apart from the SQL (psycopg's server-side
    # binding), so that a statement run again has the same text, and psycopg prepares it on
    # its fifth run on a connection; PostgreSQL then parses and plans it once per connection
    # instead of on every run. That halves PostgreSQL's CPU per intake (bench/README.md,
    # intake). Django leaves both off by default for the sake of connection poolers: turn
    # them off (DB_PREPARED_STATEMENTS=false) behind a pooler in transaction mode that cannot
    # keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")


def _next_database(url: str) -> str:
    """The same Redis server, the next database number: the cache never shares a database
    with Celery's queues, so clearing the cache can never drop queued work."""
    head, _, db = url.rpartition("/")
    return f"{head}/{int(db) + 1}" if db.isdigit() else f"{url.rstrip('/')}/1"


def _cache_database(url: str) -> str:
    """The cache's Redis database. Tests run in parallel (pytest-xdist workers gw0, gw1…) get
    one each after it, since every test starts by clearing the cache (FLUSHDB)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    head, _, db = url.rpartition("/")
    return f"{head}/{int(db) + 1 + int(worker[2:])}"


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _cache_database(
                env.str("REDIS_CACHE_URL", default=_next_database(REDIS_URL))
            ),
            "KEY_PREFIX": "sqi",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Without Redis there is one process (make run, tests): its local-memory cache is the
    # shared cache that rate limits count in. Production always has REDIS_URL.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# Celery: through Redis when there is one, otherwise in-process so nothing else need run.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage must never hold up a request (work goes through the outbox, see
# outbox/services.py): connecting to a dead or unreachable Redis fails within seconds.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# django-axes: lock an account+IP pair out after repeated failed logins.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failures are counted in the database (survives restarts, shared by every process).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# The lockout page (HTTP 429): when to retry and whom to contact, in the site's layout.
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address, for the login lockout and the public forms' rate limits: REMOTE_ADDR
# by default; behind a reverse proxy that sets e.g. X-Real-IP, CLIENT_IP_HEADER=HTTP_X_REAL_IP
# (a header the proxy always overwrites — never one a client can set on its own).
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="REMOTE_ADDR")
AXES_CLIENT_IP_CALLABLE = "sqi.throttling.client_ip"
RATELIMIT_IP_META_KEY = CLIENT_IP_HEADER

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Complaint attachments: never under MEDIA_ROOT, never served by URL.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private_media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "sqi.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "sqi.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sqi.api.exception_handler",
    # Anonymous requests (the public results and showcase API) are throttled per IP
    # address, at API_ANON_RATE (sqi/throttling.py); authenticated ones are not.
    "DEFAULT_THROTTLE_CLASSES": ["sqi.throttling.AnonymousApiThrottle"],
    # The client address is REMOTE_ADDR, never a client-supplied X-Forwarded-For; behind
    # N reverse proxies that append to X-Forwarded-For set NUM_PROXIES=N.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# Anonymous API requests per IP address ("120/min", "2000/h"; empty turns it off).
# Development and tests crawl the API anonymously, hence the generous default there.
API_ANON_RATE = env.str("API_ANON_RATE", default="120/min" if PRODUCTION else "10000/min") or None
SPECTACULAR_SETTINGS = {
    "TITLE": "消保通 SQI API",
    "DESCRIPTION": "Insurers, org units, service officers; complaints, cases and the index follow.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ComplaintStatusEnum": "complaints.models.Status"},
}

# Content Security Policy (django-csp 4): scripts only from this origin, never inline.
# Inline style attributes stay allowed: Django's admin and treebeard's tree use them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# No script reads a cookie: static/js/app.js and the API docs take the CSRF token from the
# page, and the language is switched by a form.
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_NAME = "sqi_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@sqi.example")

# Complaints
COMPLAINT_DEADLINE_CALENDAR = env.str("COMPLAINT_DEADLINE_CALENDAR", default="calendar")
COMPLAINT_PAUSE_FOR_MATERIALS = env.bool("COMPLAINT_PAUSE_FOR_MATERIALS", default=False)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Elder mode (长辈模式) is remembered in this cookie.
ELDER_MODE_COOKIE = "sqi_elder"

# Public pages cached for anonymous visitors (sqi/page_cache.py): the longest an entry lives;
# writes through the models and publishing a run invalidate them at once anyway.
PUBLIC_PAGE_CACHE_SECONDS = env.int("PUBLIC_PAGE_CACHE_SECONDS", default=600)
# How long a worker trusts the generation it last read before asking Redis again: a
# publication shows at once in the worker that made it and within this long in every other
# one; saving the round trip is what lifts the cached pages to 0.88x the throughput of a
# trivial view (bench/pages.py; with 0, every answer asks Redis: 0.64x).
PUBLIC_PAGE_CACHE_RECHECK_SECONDS = env.float("PUBLIC_PAGE_CACHE_RECHECK_SECONDS", default=0.25)

# Outbox rows sent right after their commit are marked by the worker that starts their task;
# one that no worker has started after this long is sent again by the relay (same task id).
OUTBOX_CONFIRM_SECONDS = env.int("OUTBOX_CONFIRM_SECONDS", default=300)
# Batched outbox rows (intake's summaries and notifications) wait at most about this long
# for the relay, which sends all of a task's pending rows as one call.
OUTBOX_BATCH_SECONDS = env.float("OUTBOX_BATCH_SECONDS", default=1.0)
