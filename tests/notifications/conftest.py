"""Push fixtures: quiet hours off by default, and real processes for the fault tests."""

import pytest

from portal.dev.processes import CeleryWorker, FakePlatform, PrivateRedis
from tests.conftest import _worker_env


@pytest.fixture(autouse=True)
def daytime(settings):
    """Push tests send at any hour; the quiet-hours tests switch them back on with a frozen clock."""
    settings.SMS_QUIET_HOURS = ()


# --- real processes: a private Redis, the fake SMS platform, a Celery worker ---------------------------------


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture
def fake_platform(committed_db, tmp_path):
    """The fake platform in its own process, reading templates from the test database."""
    platform = FakePlatform(_worker_env()).start(tmp_path / "fake-port")
    yield platform
    platform.stop()


@pytest.fixture
def push_worker(private_redis, fake_platform, tmp_path):
    """A worker (2 processes, with beat) on its own Redis, sending through the fake platform with a fast watchdog."""
    env = {
        **_worker_env(),
        "REDIS_URL": private_redis.url,
        **fake_platform.backend_env(),
        "SMS_QUIET_HOURS": "off",
        "SMS_STUCK_AFTER": "3",
        "SMS_WATCHDOG_SECONDS": "1",
        "SMS_HTTP_TIMEOUT": "2",
        "SMS_TASK_CHUNK": "200",
    }
    worker = CeleryWorker(env, beat_file=tmp_path / "beat").start()
    yield worker
    worker.stop()
