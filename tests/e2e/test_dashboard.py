"""The staff dashboard in a real browser: city staff and district staff open the admin home page, the figures it
shows match the database, the charts are drawn, and screenshots are saved at 1280 px and 390 px."""

from __future__ import annotations

import pytest
from django.db.models import Q
from playwright.sync_api import expect

from core.models import Region
from enterprises.models import Enterprise
from notifications.models import Message
from policies.models import StaffScope
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.demo.history import generate_history
from portal.dev.demo.policies import generate_policies
from portal.models import PolicyRating, TagCorrection
from portal.roles import ADMINISTRATOR, SERVICE_DESK
from tests.e2e.conftest import ARTIFACTS
from tests.factories import UserFactory

pytestmark = pytest.mark.slow
WIDTHS = (1280, 390)
XINWU = "320214"


@pytest.fixture
def history(committed_db, fresh_matching):
    """Demo data with six weeks of pushes, openings, reactions, ratings and corrections, rolled up."""
    generate_policies(count=60, seed=3)
    generate_enterprises(count=800, seed=3)
    generate_history(seed=3)


def signed_in(browser, base_url: str, username: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-for-tests-only")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/admin/")
    return page


def number(page, selector: str) -> int:
    return int(page.locator(selector).inner_text().replace(",", "").strip())


def stage(page, row: int) -> int:
    return number(page, f"#table-funnel-stages tbody tr:nth-child({row}) td:nth-child(2)")


def reached(messages) -> dict[str, int]:
    """Distinct firms per stage straight from the messages (an opening proves delivery, delivery sending)."""
    opened = Q(first_opened_at__isnull=False)
    delivered = opened | Q(delivered_at__isnull=False) | Q(status=Message.Status.DELIVERED)
    sent = delivered | Q(status=Message.Status.SENT)
    return {name: messages.filter(q).values("enterprise").distinct().count()
            for name, q in (("sent", sent), ("delivered", delivered), ("opened", opened))}  # fmt: skip


def screenshots(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)  # the charts redraw for the new width
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)


def test_city_staff_see_the_whole_city_and_the_figures_match_the_database(live_server, browser, history, axe_check):
    UserFactory(username="city", role=ADMINISTRATOR)
    page = signed_in(browser, live_server.url, "city")
    expect(page.get_by_role("heading", name="数据看板")).to_be_visible()
    expect(page.locator("#dash-scope")).to_have_text("全市")
    assert number(page, "#kpi-firms") == Enterprise.objects.count()
    expected = reached(Message.objects.all())
    assert (stage(page, 2), stage(page, 3), stage(page, 4)) == (expected["sent"], expected["delivered"],
                                                                 expected["opened"])  # fmt: skip
    waiting = PolicyRating.objects.exclude(status=PolicyRating.Status.REPLIED).count()
    waiting += TagCorrection.objects.filter(status=TagCorrection.Status.PENDING).count()
    assert number(page, "#kpi-queue-open") == waiting > 0
    expect(page.locator("#chart-funnel canvas")).to_have_count(1)  # ECharts drew the funnel
    expect(page.locator("#chart-matrix canvas").first).to_be_visible()
    expect(page.locator("#table-supervision-overdue .light-red").first).to_be_visible()
    axe_check(page)  # no serious or critical accessibility problem on the dashboard
    screenshots(page, "dashboard-city")


def test_district_staff_see_their_district_only(live_server, browser, history):
    user = UserFactory(username="district", role=SERVICE_DESK)
    xinwu = Region.objects.get(code=XINWU)
    StaffScope.objects.create(user=user, region=xinwu)
    page = signed_in(browser, live_server.url, "district")
    expect(page.locator("#dash-scope")).to_have_text("新吴区")
    assert number(page, "#kpi-firms") == Enterprise.objects.filter(region=xinwu).count()
    expected = reached(Message.objects.filter(enterprise__region=xinwu))
    assert (stage(page, 2), stage(page, 4)) == (expected["sent"], expected["opened"])
    assert page.locator("select[name=region] option").all_inner_texts() == ["新吴区"]
    waiting = PolicyRating.objects.filter(enterprise__region=xinwu).exclude(status=PolicyRating.Status.REPLIED).count()
    waiting += TagCorrection.objects.filter(enterprise__region=xinwu, status=TagCorrection.Status.PENDING).count()
    assert number(page, "#kpi-queue-open") == waiting
    screenshots(page, "dashboard-district")
    refused = page.goto(f"{live_server.url}/admin/?region=320213")  # another district, by a hand-made URL
    assert refused.status == 403
