"""Browser tests: real headless Chromium (Debian's, driven by Playwright) against a live server, a push
through the fake SMS platform, and screenshots at phone and desktop widths in test-artifacts/."""

import os
import shutil
import time
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
PHONE_390 = {"width": 390, "height": 844}  # today's common phone width
DESKTOP = {"width": 1280, "height": 900}
SIZES = {"phone": PHONE, "phone390": PHONE_390, "desktop": DESKTOP}
# axe-core from npm (vendored with its licence, so no npm is needed to run the tests).


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
    """``shots(page, name)`` saves the page at phone width and at desktop width; ``sizes`` picks others
    from SIZES (``sizes=("phone390", "desktop")``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, sizes: tuple[str, ...] = ("phone", "desktop")) -> list[Path]:
        paths = []
        for label in sizes:
            page.set_viewport_size(SIZES[label])
            path = ARTIFACTS / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(PHONE)
        return paths

    return save


@pytest.fixture
def axe_check():
    """``axe_check(page)`` runs axe-core on the page as it is now and fails, listing each problem and where,
    when axe finds a serious or critical violation; returns axe's whole result."""

    def check(page) -> dict:
        # From the app's own static files: the Content-Security-Policy admits scripts from the site only.
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        bad = [v for v in result["violations"] if v["impact"] in {"serious", "critical"}]
        assert not bad, "axe-core（严重/关键）：\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:5])
            for v in bad
        )
        return result

    return check


def wait_for_js(page, expression: str, *, arg=None, timeout: float = 15.0) -> None:
    """Poll ``expression`` (a JavaScript function) until it returns something true. Playwright's own
    wait_for_function compiles its predicate inside the page, which the Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout
    while not (page.evaluate(expression, arg) if arg is not None else page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise AssertionError(f"等待超时：{expression}")
        page.wait_for_timeout(50)


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
