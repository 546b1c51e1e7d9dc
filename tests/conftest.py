import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from core.reference_data import load_regions
from enterprises import reference_data as enterprise_data
from policies import reference_data as policy_data
from portal.celery import app
from portal.dev.processes import child_env
from portal.roles import EDITOR, REVIEWER, ensure_roles
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Stop at once, with the way out, when the tests cannot run: the development tools (demo data, fake SMS
    platform, embedded servers) are off, or the embedded servers the settings point at were not started."""
    if "portal.dev" not in settings.INSTALLED_APPS:
        pytest.exit("测试需要开发工具：请设置 DEBUG=1 或 DEV_TOOLS=1（make test 会生成 .env）。", returncode=4)
    from portal.dev import embedded

    missing = embedded.not_started()
    if missing:
        pytest.exit(
            f"内嵌 {'、'.join(missing)} 未启动（未设置 DATABASE_URL / REDIS_URL）：请用 make test 运行测试，"
            "或先执行 .venv/bin/python manage.py embedded start。",
            returncode=4,
        )


def load_reference_data() -> None:
    """Reference data comes from data migrations, which a transactional test's flush wipes; the loaders
    are idempotent, so load it again wherever a test needs it."""
    load_regions()
    policy_data.load_departments()
    policy_data.load_policy_labels()
    policy_data.load_search_synonyms()
    enterprise_data.load_portrait_tags()
    enterprise_data.load_size_standard()
    enterprise_data.load_tag_rules()
    ensure_roles()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_reference_data()


@pytest.fixture(autouse=True)
def fresh_redis_state():
    """Sign-in limits and buffered link openings live in Redis across runs; start each test without this
    database's (keys carry the database name, so a demo on the same Redis keeps its own), and without the
    link page shapes an earlier test's policies left in this process."""
    from core.redis import client, key
    from notifications.links import reset_local_opens
    from portal.views.link import reset_shapes

    reset_shapes()
    reset_local_opens()

    redis = client()
    for pattern in (key("limits") + "*", key("link") + "*", key("push") + "*"):
        for name in redis.scan_iter(pattern):
            redis.delete(name)


@pytest.fixture
def committed_db(transactional_db):
    """A database whose writes other processes (workers, commands) can see, with reference data."""
    load_reference_data()


@pytest.fixture
def fresh_matching():
    """A matching index and policy cache built from this test's data. Test writes never commit, so they
    never announce changes; without this, a process-wide index from an earlier test would answer."""
    from matching import selectors
    from matching.index import reset_index
    from portal import selectors as portal_selectors

    reset_index()
    selectors.reset_caches()
    portal_selectors.reset_caches()
    yield
    reset_index()
    selectors.reset_caches()
    portal_selectors.reset_caches()


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the calling thread (a request, a service), as a worker would run them just after."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", role=EDITOR)


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", role=REVIEWER)


def _worker_env() -> dict:
    """Environment that points a separate process at the test database and the same Redis."""
    return child_env(REDIS_URL=settings.REDIS_URL, PORTAL_VAR_DIR=str(settings.VAR_DIR))


@pytest.fixture
def celery_worker_process(committed_db):
    """A real Celery worker process on a private queue; yields the queue name.

    The private queue keeps tests from being served by (or stealing from) any other worker on the
    same Redis, such as a running demo.
    """
    queue = f"test-{uuid.uuid4().hex[:12]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "--concurrency", "1",
         "--pool", "prefork", "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=_worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.fail(f"Celery worker did not start:\n{proc.stdout.read()}")
    try:
        yield queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
