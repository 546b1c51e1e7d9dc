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
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "core",
    "portal",
    "policies",
    "enterprises",
    "matching",
    "notifications",
    "portal.payouts",
]
if DEV_TOOLS:
    INSTALLED_APPS.append("portal.dev")

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
    "refresh-derived-tags-nightly": {
        "task": "enterprises.tasks.refresh_derived_tags",
        "schedule": crontab(hour=1, minute=0),
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

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG and PORTAL_BASE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",  # integration accounts of other systems
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
# The secret path segment of the receipt and reply webhooks given to the vendors.
SMS_WEBHOOK_SECRET = env("SMS_WEBHOOK_SECRET", default="")
if not SMS_WEBHOOK_SECRET:
    if SMS_BACKEND in {"aliyun", "tencent"} and not DEBUG:
        raise ImproperlyConfigured("SMS_WEBHOOK_SECRET 未设置：真实短信通道的回执与上行回调地址需要一个随机密钥。")
    SMS_WEBHOOK_SECRET = "dev-webhook-secret"

# --- 兑现 (portal/payouts) ------------------------------------------------------------------------
# Key(s) encrypting firms' receiving bank accounts (AES-256-GCM; 32 bytes, URL-safe base64, as Fernet.generate_key()
# makes them); comma-separated to rotate (the first encrypts).
# Required outside development (``manage.py check --deploy`` and the first use refuse without it).
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
# The registered 通知 template asking a round's firms to confirm (意愿确认), e.g.
# "{企业简称}：您可免申享受“{政策简称}”，请点击 {link} 确认领取并核对收款账户。"
SMS_PAYOUT_TEMPLATE = env("SMS_PAYOUT_TEMPLATE", default="SMS_PAYOUT_CONFIRM")
if not FIELD_ENCRYPTION_KEY and DEBUG:
    FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE="  # development only, not a secret

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
