"""Settings behaviour with and without the environment variables, each in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
out = {"host": db["HOST"], "port": str(db["PORT"]), "name": db["NAME"], "embedded_pg": settings.EMBEDDED_POSTGRES,
       "embedded_redis": settings.EMBEDDED_REDIS, "broker": settings.CELERY_BROKER_URL,
       "lang": settings.LANGUAGE_CODE, "tz": settings.TIME_ZONE}
if {connect}:
    from django.db import connection
    import redis
    with connection.cursor() as c:
        c.execute("SELECT current_setting('server_version_num')::int")
        out["pg_version"] = c.fetchone()[0]
    out["redis_ping"] = redis.Redis.from_url(settings.REDIS_URL).ping()
print(json.dumps(out))
"""


def run_settings(env_overrides: dict, *, connect: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", **env_overrides)
    return subprocess.run(
        [sys.executable, "-c", PROBE.replace("{connect}", str(connect))],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_external_services_come_from_the_environment():
    result = run_settings(
        {
            "DATABASE_URL": "postgres://portal:secret@db.internal:5433/huiqi_prod",
            "REDIS_URL": "redis://cache.internal:6379/2",
            "SECRET_KEY": "x" * 50,
            "DEBUG": "0",
        }
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["host"], out["port"], out["name"]) == ("db.internal", "5433", "huiqi_prod")
    assert out["embedded_pg"] is False and out["embedded_redis"] is False
    assert out["broker"] == "redis://cache.internal:6379/2"
    assert (out["lang"], out["tz"]) == ("zh-hans", "Asia/Shanghai")


def test_missing_secret_key_in_production_fails_with_a_clear_message():
    result = run_settings(
        {"DATABASE_URL": "postgres://u@localhost/x", "REDIS_URL": "redis://localhost/0", "SECRET_KEY": "", "DEBUG": "0"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY 未设置" in result.stderr


@pytest.mark.slow
def test_without_urls_the_project_starts_and_uses_embedded_servers(tmp_path):
    var_dir = tmp_path / "var"
    try:
        result = run_settings({"PORTAL_VAR_DIR": str(var_dir), "DEBUG": "1", "SECRET_KEY": ""}, connect=True)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert out["embedded_pg"] is True and out["embedded_redis"] is True
        assert out["host"].startswith(str(var_dir))  # a unix socket under var/, no TCP port taken
        assert out["pg_version"] >= 150000
        assert out["redis_ping"] is True
        assert out["broker"].startswith("redis+socket://")
        # A second process reuses the running servers instead of starting new ones.
        again = run_settings({"PORTAL_VAR_DIR": str(var_dir), "DEBUG": "1"}, connect=True)
        assert again.returncode == 0, again.stderr
    finally:
        from portal.dev import embedded

        embedded.postgres_stop(var_dir)
        embedded.redis_stop(var_dir)
