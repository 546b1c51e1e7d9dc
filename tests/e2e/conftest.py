"""Browser tests: real headless Chromium (Debian's, driven by Playwright) against a live server, a push
through the fake SMS platform, and screenshots at phone and desktop widths in test-artifacts/."""

import os
import shutil
from pathlib import Path

import pytest

from notifications.gateways import get_gateway
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.demo.policies import generate_policies
from portal.dev.processes import FakePlatform
from tests.conftest import _worker_env

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it are
# ordinary blocking calls, so Django's guard against ORM use inside async code does not apply here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("需要 Debian 的 chromium：运行 make test（会用 apt 安装）或 apt-get install chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ])  # fmt: skip
        yield launched
        launched.close()


@pytest.fixture
def shots():
    """``shots(page, name)`` saves the page at phone width and at desktop width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> list[Path]:
        paths = []
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            path = ARTIFACTS / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(PHONE)
        return paths

    return save


@pytest.fixture
def demo_city(committed_db, fresh_matching, settings, tmp_path):
    """Demo data (300 firms, 40 policies) and the fake SMS platform standing in for Aliyun."""
    generate_policies(count=40)
    generate_enterprises(count=300)
    platform = FakePlatform(_worker_env()).start(tmp_path / "fake-port")
    for name, value in platform.backend_env().items():
        setattr(settings, name, value)
    settings.SMS_QUIET_HOURS = ()
    get_gateway.cache_clear()
    yield platform
    get_gateway.cache_clear()
    platform.stop()
