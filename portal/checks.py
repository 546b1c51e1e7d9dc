"""Start-up guard: outside development the database and Redis come only from DATABASE_URL / REDIS_URL, and
the webhook secret from SMS_WEBHOOK_SECRET.

Settings load without them, so ``collectstatic`` runs in an image build with none; the web app
(``portal/wsgi.py``), the Celery worker and beat (``portal/celery.py``) and every management command that
runs the system checks refuse to start, with this message, until they are set.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def services_missing_message() -> str:
    """The Chinese refusal naming the unset variables, or "" when both services are configured."""
    problems = []
    missing = settings.MISSING_SERVICES
    if missing:
        problems.append(
            f"未设置 {' 与 '.join(missing)}：生产环境必须通过环境变量提供 PostgreSQL（DATABASE_URL，如 "
            "postgres://用户:密码@主机:5432/huiqi）与 Redis（REDIS_URL，如 redis://主机:6379/0）的地址。"
            "开发环境请设置 DEBUG=1，并运行 make demo 或 manage.py embedded start 使用内嵌服务。"
        )
    if not settings.SMS_WEBHOOK_SECRET:
        problems.append(
            "未设置 SMS_WEBHOOK_SECRET：短信回执与上行（退订）回调地址需要一个随机密钥，"
            "如 python -c 'import secrets; print(secrets.token_urlsafe(32))' 生成。"
        )
    return "\n".join(problems)


def require_services() -> None:
    """Raise ImproperlyConfigured with the message above when a service is not configured."""
    message = services_missing_message()
    if message:
        raise ImproperlyConfigured(message)


@checks.register("services")
def services_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    message = services_missing_message()
    return [checks.Error(message, id="portal.E001")] if message else []
