"""The visitor's and the enterprise's journeys in a real browser, on a 390 px phone and a 1280 px desktop:
what a person must see at each step, a screenshot of every step (test-artifacts/screenshots/journeys/), and
an accessibility check (axe-core, run in Chromium) with no serious or critical violations."""

import re
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from enterprises.models import Enterprise
from matching.selectors import explain_match, package_for_enterprise
from policies.models import Policy, Window, window_q
from portal.models import LabelSubscription, TagCorrection
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.slow
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def snap():
    """``snap(page, name)`` saves the whole page at its current width, one file per step and width;
    ``in_view=True`` saves only what the screen shows (where the browser landed after a form)."""
    folder = ARTIFACTS / "journeys"
    folder.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, in_view: bool = False) -> Path:
        path = folder / f"{name}-{page.viewport_size['width']}{'-in-view' if in_view else ''}.png"
        page.screenshot(path=str(path), full_page=not in_view)
        return path

    return save


@pytest.mark.parametrize("size", WIDTHS, ids=list(WIDTHS))
def test_a_visitor_browses_by_names_and_searches_with_an_abbreviation(
    live_server, browser, demo_city, snap, axe_check, size
):
    page = browser.new_page(viewport=WIDTHS[size])
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("最新惠企政策")
    snap(page, "visitor-1-home")

    page.get_by_role("link", name="全部政策").first.click()
    expect(page.locator(".chips")).to_contain_text("只看可申报")  # the default filter, visible and removable
    more = page.locator("details.more-filters")
    expect(more.locator(".filter-grid")).to_be_hidden()  # folded behind one button
    snap(page, "visitor-2-browse")
    axe_check(page)

    # A district's open policy, found by the names a person knows: its district and its label's category.
    target = Policy.objects.filter(
        window_q(Window.OPEN, timezone.localdate()), status=Policy.Status.PUBLISHED, region__isnull=False
    ).order_by("id")[0]
    region, category = target.region.name, target.labels.all()[0].category.name
    more.locator("summary").click()
    page.get_by_label("区域").select_option(label=region)  # names, not codes
    page.get_by_label("标签大类").select_option(label=category)
    snap(page, "visitor-3-filters-by-name")
    page.get_by_role("button", name="应用筛选").click()
    expected = requests.get(
        f"{live_server.url}/api/policies/",
        params={"region": region, "label_category": category, "window": "open"},
        timeout=10,
    ).json()["count"]
    count = page.locator("#h-results")
    assert expected >= 1
    expect(count).to_have_text(f"共 {expected} 条政策")
    expect(count).to_be_in_viewport()  # right above the results, not below an open filter panel
    expect(page.locator(".chips")).to_contain_text(region)
    expect(page.locator(".chips")).to_contain_text(category)
    expect(page.locator(".policy-list")).to_contain_text(target.title)
    snap(page, "visitor-4-filtered")
    snap(page, "visitor-4-filtered", in_view=True)

    page.goto(f"{live_server.url}/policies/")
    page.get_by_label("关键词").fill("高企")
    page.get_by_role("button", name="查询").first.click()
    found = int(re.search(r"共 (\d+) 条", page.locator("#h-results").inner_text()).group(1))
    assert found > 0  # 高企 stands for 高新技术企业, which no policy spells as 高企
    expect(page.locator(".chips")).to_contain_text("关键词：高企")
    snap(page, "visitor-5-search-synonym")

    page.locator(".policy-list a").first.click()
    expect(page.locator("article.policy h1")).to_be_visible()
    expect(page.locator("#h-fit")).to_have_count(0)  # no qualify box for a visitor
    snap(page, "visitor-6-policy")
    axe_check(page)

    page.goto(f"{live_server.url}/policies/99999/")
    expect(page.get_by_role("heading", level=1)).to_have_text("没有找到这个页面")
    expect(page.get_by_role("link", name="回到首页")).to_be_visible()
    snap(page, "visitor-7-not-found")
    page.close()


def _firm_with_a_package() -> tuple[Enterprise, list, Policy]:
    """A firm with a mobile that qualifies for some open policies and not for another one."""
    published = Policy.objects.filter(status=Policy.Status.PUBLISHED).order_by("id")
    for firm in Enterprise.objects.exclude(contact_mobile="").exclude(derived_tags=[]).order_by("id")[:150]:
        items = package_for_enterprise(enterprise_id=firm.pk)
        missed = next((p for p in published if explain_match(enterprise_id=firm.pk, policy=p).qualifies is False), None)
        if len(items) >= 2 and missed:
            return firm, items, missed
    pytest.fail("演示数据里没有合适的企业")


@pytest.mark.parametrize("size", WIDTHS, ids=list(WIDTHS))
def test_an_enterprise_signs_in_reads_its_package_subscribes_disputes_and_checks_a_policy(
    live_server, browser, demo_city, snap, axe_check, size
):
    firm, items, missed = _firm_with_a_package()
    page = browser.new_page(viewport=WIDTHS[size])

    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="登记的手机号有误、已停用，或收不到验证码？")).to_be_visible()
    snap(page, "enterprise-1-sign-in")
    axe_check(page)
    page.get_by_label("统一社会信用代码（18 位）").fill(firm.uscc)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator(".sent-to")).to_contain_text("登记的手机")
    assert "****" not in page.content()  # where the code went, without the number
    texts = requests.get(f"{demo_city.url}/_fake/messages", params={"mobile": firm.contact_mobile}, timeout=10).json()
    code = re.search(r"验证码为(\d{6})", texts[-1]["text"]).group(1)
    snap(page, "enterprise-2-code-sent")
    page.get_by_label("短信验证码（6 位）").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/my/")

    # 我的政策包: summaries first, in one order, details behind a tap.
    expect(page.get_by_role("heading", level=1)).to_contain_text(firm.name)
    cards = page.locator("#package article.policy-card")
    expect(cards).to_have_count(len(items))
    first = cards.filter(has=page.locator("ul.checklist li")).first  # a policy with conditions to show
    expect(first.locator(".why-summary")).to_be_visible()
    expect(first.locator("ul.checklist")).to_be_hidden()
    snap(page, "enterprise-3-package")
    snap(page, "enterprise-3-package", in_view=True)
    axe_check(page)
    first.locator("details.card-more > summary").click()
    expect(first.locator("ul.checklist")).to_be_visible()
    snap(page, "enterprise-4-card-open")

    # Subscribe: search the labels (narrowed as one types), tick one, save; the confirmation is in view.
    page.get_by_label("查找标签").fill("研发")
    label = page.locator("#subscription-groups label", has_text="研发费用补助")
    expect(label).to_be_visible()
    expect(page.locator("#subscription-groups label", has_text="高层次人才引进")).to_be_hidden()
    label.locator("input").check()
    snap(page, "enterprise-5-subscribe")
    page.get_by_role("button", name="保存订阅").click()
    page.wait_for_url("**/my/#subscriptions")
    confirmation = page.locator("#subscriptions .messages")
    expect(confirmation).to_contain_text("订阅已保存")
    expect(confirmation).to_be_in_viewport()
    assert LabelSubscription.objects.filter(enterprise=firm, label__name="研发费用补助").exists()
    snap(page, "enterprise-6-subscribed", in_view=True)

    # Dispute a tag derived from the register (these were never offered before); the confirmation is in view.
    corrections = page.locator("#corrections")
    corrections.locator("summary", has_text="某个标签有误，应去除").click()
    derived = corrections.locator('optgroup[label^="由登记信息推导"] option').first
    corrections.get_by_label("有误的标签").select_option(derived.get_attribute("value"))
    corrections.get_by_label("理由（工作人员据此核实）").fill("企业已于今年迁址，营业执照已变更")
    snap(page, "enterprise-7-dispute")
    corrections.get_by_role("button", name="提交纠错申请").first.click()
    page.wait_for_url("**/my/#corrections")
    confirmation = page.locator("#corrections .messages")
    expect(confirmation).to_contain_text("已作为登记信息纠错提交")
    expect(confirmation).to_be_in_viewport()
    assert TagCorrection.objects.get(enterprise=firm).action == TagCorrection.Action.FIELD
    snap(page, "enterprise-8-disputed", in_view=True)

    # A policy page says whether the firm qualifies, and why not.
    page.goto(f"{live_server.url}/policies/{items[0].policy.id}/")
    expect(page.locator("#h-fit")).to_have_text("贵企业符合本政策的条件")
    snap(page, "enterprise-9-policy-qualifies")
    axe_check(page)
    page.goto(f"{live_server.url}/policies/{missed.id}/")
    expect(page.locator("#h-fit")).to_have_text("贵企业暂不符合本政策的条件")
    expect(page.locator(".fit li.unmet").first).to_be_visible()
    snap(page, "enterprise-10-policy-not-qualified")
    page.close()
