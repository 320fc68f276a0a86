"""Django settings, built from environment variables (see README.md for every variable).

Two modes:
* embedded (no `DB_NAME` set): SQLite, in-memory broker with an in-process worker and scheduler,
  in-memory channel layer, local-memory cache. Nothing to configure.
* production (`DB_NAME` set): PostgreSQL, Redis broker/cache/channel layer; required variables are checked.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
from datetime import timedelta

from admin_cohort import env
from admin_cohort.env import BASE_DIR, ConfigurationError
from admin_cohort.scheduling import beat_schedule, cohort_beat_schedule, exports_beat_schedule

EMBEDDED = not env.is_set("DB_NAME")
DATA_DIR = BASE_DIR / "var"

# ---------------------------------------------------------------------------------------------- apps
KNOWN_FEATURE_APPS = (
    "accesses",
    "content_management",
    "accesses_perimeters",
    "cohort",
    "cohort_job_server",
    "exports",
    "exporters",
)
# Known but installed only on request: accesses_perimeters needs a second (OMOP) database.
OPTIONAL_FEATURE_APPS = ("accesses_perimeters",)
DEFAULT_INCLUDED_APPS = ",".join(app for app in KNOWN_FEATURE_APPS if app not in OPTIONAL_FEATURE_APPS)
INCLUDED_APPS = env.comma_list("INCLUDED_APPS", DEFAULT_INCLUDED_APPS)
_unknown_apps = [app for app in INCLUDED_APPS if app not in KNOWN_FEATURE_APPS]
if _unknown_apps:
    raise ConfigurationError(
        f"INCLUDED_APPS: unknown app(s) {', '.join(_unknown_apps)}; available: {', '.join(KNOWN_FEATURE_APPS)}"
    )
if "accesses_perimeters" in INCLUDED_APPS and "accesses" not in INCLUDED_APPS:
    raise ConfigurationError("INCLUDED_APPS: accesses_perimeters syncs the perimeters of accesses, add accesses")
if "cohort" in INCLUDED_APPS and "accesses" not in INCLUDED_APPS:
    raise ConfigurationError("INCLUDED_APPS: cohort checks reading rights on perimeters, add accesses")
if "cohort_job_server" in INCLUDED_APPS and "cohort" not in INCLUDED_APPS:
    raise ConfigurationError("INCLUDED_APPS: cohort_job_server runs the jobs of cohort, add cohort")
if "exports" in INCLUDED_APPS and "cohort" not in INCLUDED_APPS:
    raise ConfigurationError("INCLUDED_APPS: exports export the cohorts of cohort, add cohort")
if "exporters" in INCLUDED_APPS and "exports" not in INCLUDED_APPS:
    raise ConfigurationError("INCLUDED_APPS: exporters run the exports of exports, add exports")

# ---------------------------------------------------------------------------------- required variables
if not EMBEDDED:
    _required = ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DB_HOST", "DB_NAME", "DB_USER"]
    if "accesses" in INCLUDED_APPS:
        _required.append("PERIMETER_TYPES")
    if "accesses_perimeters" in INCLUDED_APPS:
        _required += ["PERIMETERS_SOURCE_DB_HOST", "PERIMETERS_SOURCE_DB_NAME", "PERIMETERS_SOURCE_DB_USER"]
    if env.boolean("INFLUXDB_ENABLED"):
        _required += ["INFLUXDB_URL", "INFLUXDB_ORG", "INFLUXDB_BUCKET", "INFLUXDB_DJANGO_TOKEN"]
    env.require(_required)


def _embedded_secret(name: str) -> str:
    """A random secret kept under var/ so that embedded-mode tokens survive restarts."""
    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"{name}.secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = env.string("DJANGO_SECRET_KEY") or _embedded_secret("django")
JWT_SIGNING_KEY = (env.string("JWT_SIGNING_KEY") or _embedded_secret("jwt")).replace("\\n", "\n")
JWT_ALGORITHMS = env.comma_list("JWT_ALGORITHMS", "RS256,HS256")
JWT_ACCESS_TOKEN_LIFETIME = timedelta(minutes=5)
JWT_REFRESH_TOKEN_LIFETIME = timedelta(days=1)

DEBUG = env.boolean("DEBUG", False)
BACKEND_HOST = env.string("BACKEND_HOST", "localhost:8000")
BACKEND_URL = f"https://{BACKEND_HOST}"
FRONTEND_URL = env.string("FRONTEND_URL", "http://localhost:3000")
FRONTEND_URLS = env.comma_list("FRONTEND_URLS", FRONTEND_URL)
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]", BACKEND_HOST.split(":")[0]]
ADMINS = env.admins()
NOTIFY_ADMINS = env.boolean("NOTIFY_ADMINS", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "admin_cohort",
    *INCLUDED_APPS,
]

MIDDLEWARE = [
    "admin_cohort.middleware.influxdb.InfluxDBTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "admin_cohort.middleware.request_context.RequestContextMiddleware",
    "admin_cohort.middleware.maintenance.MaintenanceGateMiddleware",
    "admin_cohort.middleware.session_cookies.SessionCookiesMiddleware",
    "admin_cohort.middleware.swagger.SwaggerAuthorizationMethodMiddleware",
]
if not env.boolean("INFLUXDB_ENABLED"):
    MIDDLEWARE.remove("admin_cohort.middleware.influxdb.InfluxDBTimingMiddleware")

ROOT_URLCONF = "admin_cohort.urls"
ASGI_APPLICATION = "admin_cohort.asgi.application"
WSGI_APPLICATION = "admin_cohort.wsgi.application"
APPEND_SLASH = False
AUTH_USER_MODEL = "admin_cohort.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ]
        },
    }
]

# ------------------------------------------------------------------------------------------ database
if EMBEDDED:
    DATA_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.string("EMBEDDED_DB_PATH", str(DATA_DIR / "embedded.sqlite3")),
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env.string("DB_NAME"),
            "USER": env.string("DB_USER"),
            "PASSWORD": env.string("DB_PASSWORD"),
            "HOST": env.string("DB_HOST"),
            "PORT": env.string("DB_PORT", "5432"),
            # Kept by the processes that work in one thread (workers, commands); the web processes take theirs
            # from a pool instead (admin_cohort.databases).
            "CONN_MAX_AGE": env.integer("DB_CONN_MAX_AGE", 600),
            "TEST": {"NAME": f"test_{env.string('DB_NAME')}"},
        }
    }

# Largest number of connections of one web process (admin_cohort.databases).
DB_POOL_MAX_SIZE = env.integer("DB_POOL_MAX_SIZE", 10)

# Perimeter sync source (accesses_perimeters): the OMOP database, only read, by a daily task. Its tables are
# reached through the router, which also keeps migrations away from it. Short-lived autocommit connections
# without server-side cursors, so that a connection pooler in front of the warehouse is no problem.
if "accesses_perimeters" in INCLUDED_APPS:
    DATABASES["accesses_perimeters"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env.string("PERIMETERS_SOURCE_DB_NAME"),
        "USER": env.string("PERIMETERS_SOURCE_DB_USER"),
        "PASSWORD": env.string("PERIMETERS_SOURCE_DB_PASSWORD"),
        "HOST": env.string("PERIMETERS_SOURCE_DB_HOST"),
        "PORT": env.string("PERIMETERS_SOURCE_DB_PORT", "5432"),
        "OPTIONS": {"options": f"-c search_path={env.string('PERIMETERS_SOURCE_DB_SCHEMA', 'public')}"},
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "DISABLE_SERVER_SIDE_CURSORS": True,
    }
    DATABASE_ROUTERS = ["accesses_perimeters.routers.PerimetersSourceRouter"]

# ----------------------------------------------------------------------- broker, cache, channel layer
CELERY_BROKER_URL = "memory://" if EMBEDDED else env.string("CELERY_BROKER_URL", "redis://localhost:6379")
ENABLE_CACHE = env.boolean("ENABLE_CACHE", False)
RESPONSE_CACHE_TTL = timedelta(hours=env.integer("RESPONSE_CACHE_TTL_HOURS", 24))

if EMBEDDED:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cohort360"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.string("CACHE_REDIS_URL", CELERY_BROKER_URL),
            "KEY_PREFIX": env.string("CACHE_KEY_PREFIX", "c360"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    # Pushes are notifications to the sockets connected now: Redis pub/sub carries each one in a single PUBLISH,
    # where the list-based layer spends a script on the sender's side and two commands per message on each
    # receiving web process (a tenth of its CPU in the count flow of bench/cohort_workspace.py), and drops
    # messages past 100 queued for one socket.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [env.string("CHANNELS_REDIS_URL", CELERY_BROKER_URL)],
                "prefix": env.string("CHANNELS_PREFIX", "asgi"),
            },
        }
    }

# -------------------------------------------------------------------------------------------- celery
CELERY_RESULT_BACKEND = None if EMBEDDED else CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = env.string("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every connection around each task unless told to reuse them: the worker's tasks
# then keep theirs for CONN_MAX_AGE, and admin_cohort.celery closes the broken or obsolete ones between tasks.
CELERY_DB_REUSE_MAX = 1_000_000
SCHEDULED_TASKS = env.string("SCHEDULED_TASKS")
CELERY_BEAT_SCHEDULE = beat_schedule(SCHEDULED_TASKS)
if "cohort" in INCLUDED_APPS:
    # Built in, not optional: without them stale jobs would stay pending and refresh schedules never fire.
    CELERY_BEAT_SCHEDULE.update(cohort_beat_schedule())
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# ----------------------------------------------------------------------------------------------- DRF
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["admin_cohort.auth.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "admin_cohort.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "admin_cohort.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "UNAUTHENTICATED_USER": None,
}
PAGINATION_MAX_LIMIT = 30_000

SPECTACULAR_SETTINGS = {
    "TITLE": "Cohort360 backend API",
    "DESCRIPTION": "API of the Cohort360 and Portail web applications. Log in with `POST /auth/login/`, "
    "then click Authorize and paste the access token.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# --------------------------------------------------------------------------------------- security
CORS_ALLOWED_ORIGINS = [BACKEND_URL, *FRONTEND_URLS]
CSRF_TRUSTED_ORIGINS = CORS_ALLOWED_ORIGINS
CORS_ALLOW_HEADERS = [
    "accept",
    "access-control-allow-origin",
    "authorization",
    "authorizationmethod",
    "content-type",
    "x-csrftoken",
    "x-impersonate",
    "x-trace-id",
]
CORS_EXPOSE_HEADERS = ["x-trace-id"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_AGE = 86_400
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_THROTTLE_MAX_FAILURES = env.integer("LOGIN_THROTTLE_MAX_FAILURES", 5)
LOGIN_THROTTLE_WINDOW_SECONDS = env.integer("LOGIN_THROTTLE_WINDOW_SECONDS", 300)
LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS = env.integer("LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS", 30)

# ------------------------------------------------------------------------------- authentication
ENABLE_OIDC_AUTH = env.boolean("ENABLE_OIDC_AUTH", False)
OIDC_AUDIENCE = env.comma_list("OIDC_AUDIENCE")
OIDC_EXTRA_SERVER_URLS = env.comma_list("OIDC_EXTRA_SERVER_URLS")
OIDC_JWKS_CACHE_SECONDS = env.integer("OIDC_JWKS_CACHE_SECONDS", 3600)
# a token naming an unknown kid refetches the key set at most once per this delay (no IdP flooding)
OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = env.integer("OIDC_JWKS_REFETCH_COOLDOWN_SECONDS", 10)


def _oidc_servers() -> list[dict[str, str]]:
    servers = []
    index = 1
    while env.is_set(f"OIDC_AUTH_SERVER_{index}"):
        companions = [f"OIDC_CLIENT_ID_{index}", f"OIDC_CLIENT_SECRET_{index}", f"OIDC_REDIRECT_URI_{index}"]
        env.require(companions)
        servers.append(
            {
                "issuer": env.string(f"OIDC_AUTH_SERVER_{index}").rstrip("/"),
                "client_id": env.string(f"OIDC_CLIENT_ID_{index}"),
                "client_secret": env.string(f"OIDC_CLIENT_SECRET_{index}"),
                "redirect_uri": env.string(f"OIDC_REDIRECT_URI_{index}"),
            }
        )
        index += 1
    return servers


OIDC_SERVERS = _oidc_servers()
if ENABLE_OIDC_AUTH and not OIDC_SERVERS:
    raise ConfigurationError("ENABLE_OIDC_AUTH is true but OIDC_AUTH_SERVER_1 is not set")

USER_AUTHENTICATION_HOOKS = env.comma_list("USER_AUTHENTICATION_HOOKS")
USER_IDENTITY_HOOKS = env.comma_list("USER_IDENTITY_HOOKS")
IDENTITY_SERVER_URL = env.string("IDENTITY_SERVER_URL")
IDENTITY_SERVER_AUTH_TOKEN = env.string("IDENTITY_SERVER_AUTH_TOKEN")

QUERY_EXECUTOR_USERNAME = env.string("QUERY_EXECUTOR_USERNAME", "SPARK_JOB_SERVER")
QUERY_EXECUTOR_TOKEN = env.string("QUERY_EXECUTOR_TOKEN")
SOLR_ETL_USERNAME = env.string("SOLR_ETL_USERNAME", "SOLR_ETL")
SOLR_ETL_TOKEN = env.string("SOLR_ETL_TOKEN")
ROLLOUT_USERNAME = env.string("ROLLOUT_USERNAME", "ROLLOUT_PIPELINE")
ROLLOUT_TOKEN = env.string("ROLLOUT_TOKEN")
# The export pipeline writes the statistics of finished exports (`/exports/export-stats/`).
EXPORT_PIPELINE_USERNAME = env.string("EXPORT_PIPELINE_USERNAME", "EXPORT_PIPELINE")
EXPORT_PIPELINE_TOKEN = env.string("EXPORT_PIPELINE_TOKEN")
APPLICATIVE_USERS = [QUERY_EXECUTOR_USERNAME, SOLR_ETL_USERNAME]

# The user that `load_initial_data` sets up with the Full Admin role (empty values fall back to the defaults).
ADMIN_USERNAME = env.string("ADMIN_USERNAME") or "admin"
DEFAULT_ADMIN_PASSWORD = "admin"
ADMIN_PASSWORD = env.string("ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
ADMIN_FIRSTNAME = env.string("ADMIN_FIRSTNAME") or "Admin"
ADMIN_LASTNAME = env.string("ADMIN_LASTNAME") or "ADMIN"
ADMIN_EMAIL = env.string("ADMIN_EMAIL") or "admin@backend.fr"

USERNAME_REGEX = env.string("USERNAME_REGEX", "[0-9]")
EMAIL_REGEX = env.string("EMAIL_REGEX", r"^[\w.+-]+@[\w-]+\.[\w]+$")

# ------------------------------------------------------------------------------------ access management
# Perimeter type labels from the root down (the OMOP sync keeps only these types).
PERIMETER_TYPES = env.comma_list(
    "PERIMETER_TYPES", "AP-HP,Groupe hospitalier (GH),Hôpital,Pôle/DMU,Unité Fonctionnelle (UF)"
)
ROOT_PERIMETER_ID = env.integer("ROOT_PERIMETER_ID", 0)
DEFAULT_ACCESS_VALIDITY_IN_DAYS = env.integer("DEFAULT_ACCESS_VALIDITY_IN_DAYS", 365)
ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS = env.integer("ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS", 30)
ACCESS_EXPIRY_SECOND_ALERT_IN_DAYS = env.integer("ACCESS_EXPIRY_SECOND_ALERT_IN_DAYS", 2)
# Off by default: copies of a production database must not mail real users.
ENABLE_ACCESS_EXPIRY_ALERTS = env.boolean("ENABLE_ACCESS_EXPIRY_ALERTS", False)
ACCESS_MANAGERS_LIST_LINK = env.string("ACCESS_MANAGERS_LIST_LINK")

# ----------------------------------------------------------------------------------- cohort building
QUERY_EXECUTOR_URL = env.string("QUERY_EXECUTOR_URL").rstrip("/")
FHIR_URL = env.string("FHIR_URL").rstrip("/")
USE_SOLR = env.boolean("USE_SOLR", False)
TEST_FHIR_QUERIES = env.boolean("TEST_FHIR_QUERIES", False)
LAST_COUNT_VALIDITY = env.integer("LAST_COUNT_VALIDITY", 24)  # hours
COHORT_SIZE_LIMIT = env.integer("COHORT_SIZE_LIMIT", 20_000)
# Stored-query format upgrades (cohort.query_versions): JSON object {"<code-system name>": "<URL>"}, none by default.
QUERY_UPGRADE_CODE_SYSTEMS = json.loads(env.string("QUERY_UPGRADE_CODE_SYSTEMS") or "{}")
REPORTING_PERIMETER_TYPES = env.comma_list("REPORTING_PERIMETER_TYPES")
# Jobs without news for this long are failed by the reconciler (a lost task, a restarted QueryExecutor).
STALE_JOB_AFTER_MINUTES = env.integer("STALE_JOB_AFTER_MINUTES", 24 * 60)
# Large cohorts wait for the Solr ETL, which may take a day.
STALE_LONG_PENDING_JOB_AFTER_MINUTES = env.integer("STALE_LONG_PENDING_JOB_AFTER_MINUTES", 72 * 60)
JOB_SERVER_TIMEOUT_SECONDS = env.integer("JOB_SERVER_TIMEOUT_SECONDS", 60)

# -------------------------------------------------------------------------------------------- exports
EXPORT_API_URL = env.string("EXPORT_API_URL").rstrip("/")
EXPORT_API_AUTH_TOKEN = env.string("EXPORT_API_AUTH_TOKEN")
EXPORT_CSV_PATH = env.string("EXPORT_CSV_PATH", "/exports/csv")
EXPORT_XLSX_PATH = env.string("EXPORT_XLSX_PATH", "/exports/xlsx")
# Forwarded as `disableTerminology`: the raw text when set (the Export API reads it), else false.
DISABLE_DATA_TRANSLATION = env.string("DISABLE_DATA_TRANSLATION") or False
HADOOP_API_URL = env.string("HADOOP_API_URL").rstrip("/")
HADOOP_API_AUTH_TOKEN = env.string("HADOOP_API_AUTH_TOKEN")
HIVE_DB_PATH = env.string("HIVE_DB_PATH", "/hive/db")
HIVE_USER = env.string("HIVE_USER", "hive")
STORAGE_PROVIDERS = [url.rstrip("/") for url in env.comma_list("STORAGE_PROVIDERS")]
# How WebHDFS knows us: not at all, Hadoop's simple authentication (`user.name`), or Kerberos (SPNEGO) with the
# ticket cache of the process (renewed by `kinit -kt <keytab>`); Kerberos needs the requests-gssapi package.
STORAGE_PROVIDERS_AUTH = env.choice("STORAGE_PROVIDERS_AUTH", ("none", "simple", "kerberos"), "none")
STORAGE_PROVIDERS_USER = env.string("STORAGE_PROVIDERS_USER")
if STORAGE_PROVIDERS_AUTH == "simple" and not STORAGE_PROVIDERS_USER:
    raise ConfigurationError("STORAGE_PROVIDERS_AUTH=simple needs STORAGE_PROVIDERS_USER (the HDFS user name)")
if STORAGE_PROVIDERS_AUTH == "kerberos" and importlib.util.find_spec("requests_gssapi") is None:
    raise ConfigurationError(
        "STORAGE_PROVIDERS_AUTH=kerberos needs the requests-gssapi package: pip install requests-gssapi "
        "(it builds against the system's Kerberos libraries, e.g. apt-get install libkrb5-dev)"
    )
DAYS_TO_KEEP_EXPORTED_FILES = env.integer("DAYS_TO_KEEP_EXPORTED_FILES", 7)
# Remote export tasks are polled this often by a periodic task (no worker waits for an export).
EXPORT_POLL_INTERVAL_SECONDS = env.integer("EXPORT_POLL_INTERVAL_SECONDS", 10)
# An export whose status could not be read this many times, or still running after this long, fails.
EXPORT_MAX_POLL_FAILURES = env.integer("EXPORT_MAX_POLL_FAILURES", 5)
EXPORT_TIMEOUT_HOURS = env.integer("EXPORT_TIMEOUT_HOURS", 48)
EXTERNAL_API_TIMEOUT_SECONDS = env.integer("EXTERNAL_API_TIMEOUT_SECONDS", 60)
if "exports" in INCLUDED_APPS:
    # Built in too: exports would wait for ever without the poller, files would outlive their retention.
    CELERY_BEAT_SCHEDULE.update(exports_beat_schedule(EXPORT_POLL_INTERVAL_SECONDS))

# -------------------------------------------------------------------------------------------- e-mail
EMAIL_BACKEND = env.string(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if EMBEDDED else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", True)
EMAIL_HOST = env.string("EMAIL_HOST", "localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "cohort360@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUPPORT_CONTACT = env.string("EMAIL_SUPPORT_CONTACT")

# ------------------------------------------------------------------------------------- monitoring
INFLUXDB_ENABLED = env.boolean("INFLUXDB_ENABLED", False)
INFLUXDB_URL = env.string("INFLUXDB_URL")
INFLUXDB_ORG = env.string("INFLUXDB_ORG")
INFLUXDB_BUCKET = env.string("INFLUXDB_BUCKET")
INFLUXDB_DJANGO_TOKEN = env.string("INFLUXDB_DJANGO_TOKEN")
SOCKET_LOGGER_HOST = env.string("SOCKET_LOGGER_HOST", "localhost")
SOCKET_LOGGER_PORT = env.integer("SOCKET_LOGGER_PORT", 9020)
SOCKET_LOGGER_ENABLED = env.boolean("SOCKET_LOGGER_ENABLED", not EMBEDDED)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "admin_cohort.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "admin_cohort.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_context"]},
        "socket": {
            "class": "admin_cohort.logging.JsonSocketHandler",
            "host": SOCKET_LOGGER_HOST,
            "port": SOCKET_LOGGER_PORT,
            "filters": ["request_context"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "include_html": False,
            "reporter_class": "admin_cohort.logging.RedactingExceptionReporter",
        },
    },
    "loggers": {
        "info": {"level": "INFO", "handlers": ["console", "socket"], "propagate": False},
        "django.request": {
            "level": "ERROR",
            "handlers": ["console", "socket", *(["mail_admins"] if NOTIFY_ADMINS else [])],
            "propagate": False,
        },
        "py.warnings": {"handlers": ["console", "socket"], "propagate": False},
    },
}
if not SOCKET_LOGGER_ENABLED:
    del LOGGING["handlers"]["socket"]
    for _logger in LOGGING["loggers"].values():
        _logger["handlers"].remove("socket")
DEFAULT_EXCEPTION_REPORTER_FILTER = "admin_cohort.logging.HideSettingsExceptionReporterFilter"

# -------------------------------------------------------------------------------- static, i18n
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_root"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ----------------------------------------------------------------------------------- maintenance
MAINTENANCE_PERIODIC_SCHEDULING_MINUTES = 1
