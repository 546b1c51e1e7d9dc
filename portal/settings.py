"""Settings for 惠企直达, read from the environment (and an optional ``.env`` file) in one place.

In development (``DEBUG`` or ``DEV_TOOLS``) without ``DATABASE_URL`` / ``REDIS_URL`` they point at the
embedded PostgreSQL and Redis under ``var/``, which ``manage.py embedded start`` starts (``make demo`` and
``make test`` do it), so a bare machine needs nothing but Python. Importing the settings starts nothing.
Outside development both URLs are required: the web app, the worker and beat refuse to start without them
(``portal/checks.py``), while ``collectstatic`` still runs.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # never overrides variables already set

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY 未设置：生产环境必须通过环境变量提供 SECRET_KEY（开发环境可设置 DEBUG=1，"
            "或运行 make demo 生成本地 .env）。"
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])  # addresses or networks whose X-Forwarded-For is read
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
VAR_DIR = Path(env("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
# Development tools (portal/dev: embedded servers, fake SMS platform, demo data and commands) are on with DEBUG
# or DEV_TOOLS=1, and only where the package exists: the production image does not contain it.
DEV_TOOLS = env.bool("DEV_TOOLS", default=DEBUG) and (BASE_DIR / "portal" / "dev" / "__init__.py").exists()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "csp",
    "core",
    "portal",
    "policies",
    "enterprises",
    "matching",
    "notifications",
    "portal.analytics",
    "portal.payouts",
]
if DEV_TOOLS:
    INSTALLED_APPS.append("portal.dev")

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
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.signed_in",
            ],
        },
    },
]

# --- Database and Redis: the same engines everywhere -------------------------------------------
# Without URLs: in development the embedded servers' fixed sockets under var/ (portal/dev/embedded.py starts
# them); in production nothing, and portal/checks.py stops the web app and the worker with a clear message.
DATABASE_NAME = env("PORTAL_DB_NAME", default="huiqi")
EMBEDDED_POSTGRES = not env("DATABASE_URL", default="") and DEV_TOOLS
EMBEDDED_REDIS = not env("REDIS_URL", default="") and DEV_TOOLS
MISSING_SERVICES = []
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
elif EMBEDDED_POSTGRES:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.postgresql", "NAME": DATABASE_NAME, "USER": "postgres",
                    "PASSWORD": "", "HOST": str(VAR_DIR / "pgdata"), "PORT": ""}
    }  # fmt: skip
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
    MISSING_SERVICES.append("DATABASE_URL")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if env("REDIS_URL", default=""):
    REDIS_URL = env("REDIS_URL")
elif EMBEDDED_REDIS:
    REDIS_URL = f"unix://{VAR_DIR / 'redis.sock'}?db=0"
else:
    REDIS_URL = ""
    MISSING_SERVICES.append("REDIS_URL")


def _celery_url(url: str) -> str:
    """kombu names the unix-socket Redis transport ``redis+socket://``."""
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "core.redis.cache_key",  # one namespace for every Redis key (core/redis.py)
    }
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = _celery_url(env("CELERY_BROKER_URL", default=REDIS_URL))
CELERY_RESULT_BACKEND = _celery_url(env("CELERY_RESULT_BACKEND", default=REDIS_URL))
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every connection after each task unless this is set; portal.celery
# recycles them by CONN_MAX_AGE instead, as requests do.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues live here only; a worker started by the project consumes all of them.
CELERY_TASK_QUEUES = [Queue("default"), Queue("maintenance"), Queue("planning"), Queue("sending"), Queue("receipts")]
CELERY_TASK_ROUTES = {
    "notifications.tasks.plan_campaign": {"queue": "planning"},
    "notifications.tasks.send_chunk": {"queue": "sending"},
    "notifications.tasks.watchdog": {"queue": "maintenance"},
    "notifications.tasks.record_receipts": {"queue": "receipts"},
    "notifications.tasks.flush_link_opens": {"queue": "maintenance"},
    "policies.tasks.*": {"queue": "maintenance"},
    "enterprises.tasks.expire_qualifications": {"queue": "maintenance"},
    "enterprises.tasks.refresh_derived_tags": {"queue": "maintenance"},
    "portal.analytics.tasks.*": {"queue": "maintenance"},
    "portal.payouts.tasks.*": {"queue": "maintenance"},
}
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "expire-policies-daily": {
        "task": "policies.tasks.expire_policies",
        "schedule": crontab(hour=0, minute=10),
    },
    "expire-qualifications-daily": {
        "task": "enterprises.tasks.expire_qualifications",
        "schedule": crontab(hour=0, minute=20),
    },
    "flush-link-opens": {"task": "notifications.tasks.flush_link_opens", "schedule": 30.0},
    "push-watchdog": {"task": "notifications.tasks.watchdog", "schedule": env.float("SMS_WATCHDOG_SECONDS", 60.0)},
    "payout-reminders-daily": {"task": "portal.payouts.tasks.remind_unanswered", "schedule": crontab(hour=9, minute=0)},
    "application-notices": {"task": "portal.payouts.tasks.notify_application_changes", "schedule": 1800.0},
    "refresh-derived-tags-nightly": {
        "task": "enterprises.tasks.refresh_derived_tags",
        "schedule": crontab(hour=1, minute=0),
    },
    # The dashboard's rollups: pushes every 30 s (those due), so a new push shows within a minute.
    "analytics-refresh-funnels": {"task": "portal.analytics.tasks.refresh_funnels", "schedule": 30.0},
    "analytics-refresh-coverage": {"task": "portal.analytics.tasks.refresh_coverage", "schedule": 600.0},
    "analytics-refresh-register": {"task": "portal.analytics.tasks.refresh_register", "schedule": 900.0},
    "analytics-supervision-digest": {
        "task": "portal.analytics.tasks.send_digests",
        "schedule": crontab(hour=8, minute=30),
    },
}

# --- Auth, i18n -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
# Chinese for strings Django's own catalogs leave in English (the admin's selection widget).
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files served by the app itself: intranets have no CDN.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Served over https (PORTAL_BASE_URL says so): cookies only over TLS, HSTS, and plain http redirected. The TLS
# proxy in front says which scheme the client used in X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER); set
# PROXY_SSL_HEADER=0 when the app terminates TLS itself, so no client can claim https.
HTTPS = PORTAL_BASE_URL.startswith("https://") and not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own health check speaks plain http
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("PROXY_SSL_HEADER", default=HTTPS) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # a link page's token never leaves in a Referer header
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy for every page, portal and admin alike. Every script and style file is served by the
# app itself, so scripts come only from here, and an inline script runs only with this response's nonce
# (templates write nonce="{{ request.csp_nonce }}"). Inline style attributes stay allowed: Django's admin
# and the pages use them for layout, and they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, "'unsafe-inline'"],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_NONE],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    }
}

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.auth.IntegrationTokenAuthentication",  # other systems: hashed, expiring, scoped tokens
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "惠企直达 API",
    "DESCRIPTION": "惠企政策、政策标签与企业画像标签的读取接口。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Imports of the enterprise register (admin uploads and the bulk API) -------------------------
# Larger uploads and API bodies are refused (413 for the API) before anything is read into the register.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=300 * 1024 * 1024)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=1024 * 1024 * 1024)  # an .xlsx, unzipped
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=1_500_000)  # the city has 1.11M firms
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=100)

# --- SMS --------------------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="file")
SMS_SIGNATURE = env("SMS_SIGNATURE", default="无锡政务服务")
# No pushes start between these hours (local time): "21-8" means 21:00 to 08:00; "off" disables them.
_quiet = env("SMS_QUIET_HOURS", default="21-8")
SMS_QUIET_HOURS = () if _quiet == "off" else tuple(int(h) for h in _quiet.split("-"))
SMS_ALIYUN_ENDPOINT = env("SMS_ALIYUN_ENDPOINT", default="https://dysmsapi.aliyuncs.com/")
SMS_ALIYUN_ACCESS_KEY_ID = env("SMS_ALIYUN_ACCESS_KEY_ID", default="")
SMS_ALIYUN_ACCESS_KEY_SECRET = env("SMS_ALIYUN_ACCESS_KEY_SECRET", default="")
SMS_TENCENT_ENDPOINT = env("SMS_TENCENT_ENDPOINT", default="https://sms.tencentcloudapi.com/")
SMS_TENCENT_SECRET_ID = env("SMS_TENCENT_SECRET_ID", default="")
SMS_TENCENT_SECRET_KEY = env("SMS_TENCENT_SECRET_KEY", default="")
SMS_TENCENT_APP_ID = env("SMS_TENCENT_APP_ID", default="")
SMS_TENCENT_REGION = env("SMS_TENCENT_REGION", default="ap-guangzhou")
# Requests per second per account, shared by all workers (vendor defaults: Aliyun 5,000, Tencent 3,000).
SMS_QPS = {"aliyun": env.int("SMS_ALIYUN_QPS", default=5000), "tencent": env.int("SMS_TENCENT_QPS", default=3000)}
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)  # seconds to wait for a gateway's answer
SMS_TASK_CHUNK = env.int("SMS_TASK_CHUNK", default=1000)  # messages per send task (whole gateway calls)
SMS_STUCK_AFTER = env.int("SMS_STUCK_AFTER", default=600)  # seconds before the watchdog steps in
SMS_WATCHDOG_SECONDS = env.float("SMS_WATCHDOG_SECONDS", default=60.0)
# Four eyes: a launched push waits until a second person with the approval permission agrees.
SMS_LAUNCH_APPROVAL = env.bool("SMS_LAUNCH_APPROVAL", default=False)
SMS_UNIT_PRICE_FEN = env.int("SMS_UNIT_PRICE_FEN", default=4)  # per billed segment, for the preview's estimate
# Enterprise sign-in codes go out through the same gateway, with their own registered notice template.
SMS_LOGIN_TEMPLATE = env("SMS_LOGIN_TEMPLATE", default="SMS_LOGIN")
SMS_LOGIN_TEMPLATE_BODY = env(
    "SMS_LOGIN_TEMPLATE_BODY", default="您的惠企直达登录验证码为{code}，5分钟内有效，请勿告诉他人。"
)
# Telling an enterprise that staff answered its 好差评 (the 短信告知企业 box): another registered notice template.
SMS_REPLY_TEMPLATE = env("SMS_REPLY_TEMPLATE", default="SMS_REPLY")
SMS_REPLY_TEMPLATE_BODY = env(
    "SMS_REPLY_TEMPLATE_BODY", default="{企业简称}：您对“{政策简称}”的评价已有答复，请登录惠企直达查看。"
)
# The secret path segment of the receipt and reply webhooks given to the vendors. Outside DEBUG it is required
# whatever the backend (an opt-out reply arrives there); portal/checks.py refuses to start without it. Logs
# never show it (portal/logs.py redacts it from every line, gunicorn's access log included).
SMS_WEBHOOK_SECRET = env("SMS_WEBHOOK_SECRET", default="") or ("dev-webhook-secret" if DEBUG else "")

# --- Supervision (督办) ---------------------------------------------------------------------------
# Working days on the Chinese calendar to answer each queue's items (core/workdays.py): 差评, 好评, 标签纠错
# and 公示异议; the queues' admin lists and the dashboard's lights read the same setting (yellow one working
# day before, red after). An application's deadline is its policy's 兑现时限 instead. The environment may change
# some: QUEUE_DEADLINES="rating_bad=2;correction=10".
QUEUE_DEADLINES = {"rating_bad": 3, "rating": 5, "correction": 5, "objection": 5} | env.dict(
    "QUEUE_DEADLINES", cast={"value": int}, default={}
)
# The daily digest (portal/analytics) also goes by SMS to staff whose scope has a mobile, once a template for
# it is registered with the vendor; without one it is shown in the admin only.
QUEUE_DIGEST_SMS_TEMPLATE = env("QUEUE_DIGEST_SMS_TEMPLATE", default="")
QUEUE_DIGEST_SMS_TEMPLATE_BODY = env(
    "QUEUE_DIGEST_SMS_TEMPLATE_BODY",
    default="{责任单位}今日督办：待办{待办}件，其中超期{超期}件、临期{临期}件，请登录惠企直达管理后台处理。",
)

# --- 兑现 (portal/payouts) ------------------------------------------------------------------------
# Key(s) encrypting firms' receiving bank accounts (AES-256-GCM; 32 bytes, URL-safe base64, as Fernet.generate_key()
# makes them); comma-separated to rotate (the first encrypts).
# Required outside development (``manage.py check --deploy`` and the first use refuse without it).
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
# The registered 通知 template asking a round's firms to confirm (意愿确认), e.g.
# "{企业简称}：您可免申享受“{政策简称}”，请点击 {link} 确认领取并核对收款账户。"
SMS_PAYOUT_TEMPLATE = env("SMS_PAYOUT_TEMPLATE", default="SMS_PAYOUT_CONFIRM")
# The registered 通知 template telling a firm its application moved on (办理进度), e.g.
# "{企业简称}：您申报的“{政策简称}”办理进度有更新，详情请点击 {link} 查看。" Without it no such SMS is sent.
SMS_APPLICATION_TEMPLATE = env("SMS_APPLICATION_TEMPLATE", default="SMS_APPLICATION_PROGRESS")
# The states worth an SMS (received, reviewing, publicized, paid, rejected), and how recent a state must be
# for one: a department loading last year's history sends nobody anything.
APPLICATION_NOTICE_STATUSES = env.list(
    "APPLICATION_NOTICE_STATUSES", default=["received", "publicized", "paid", "rejected"]
)
APPLICATION_NOTICE_MAX_AGE_DAYS = env.int("APPLICATION_NOTICE_MAX_AGE_DAYS", default=7)
# One policy's notices in one run above this many firms wait for a second person's approval (复核).
APPLICATION_NOTICE_REVIEW_ABOVE = env.int("APPLICATION_NOTICE_REVIEW_ABOVE", default=500)
if not FIELD_ENCRYPTION_KEY and DEBUG:
    FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE="  # development only, not a secret

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "portal.logs.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
