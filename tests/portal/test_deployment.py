"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked by reading it."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_describes_the_production_stack(compose):
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    for name in ("postgres", "redis", "web"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["build"] == "."
    assert "pgdata" in compose["volumes"] and "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "gunicorn" in services["web"]["command"] and "migrate" in services["web"]["command"]


def test_compose_sets_only_variables_the_settings_read(compose):
    settings_source = (BASE_DIR / "portal" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    environment = compose["services"]["web"]["environment"]
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} <= set(environment)
    assert set(environment) <= read, set(environment) - read
    assert environment["DEBUG"] == "0"


def test_worker_consumes_every_queue_the_settings_route_to(compose):
    command = compose["services"]["worker"]["command"]
    queues = re.search(r"-Q (\S+)", command).group(1).split(",")
    assert sorted(queues) == sorted(q.name for q in settings.CELERY_TASK_QUEUES)
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed <= set(queues)


def test_healthz_reports_database_and_redis(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
