"""The editor's rule builder in a real browser: the live count beside the builder follows every pick in the
real tag widgets, and equals the audience of the policy that saving stores."""

import re

import pytest
from playwright.sync_api import expect

from matching.index import reset_index
from matching.selectors import audience_for_policy
from policies.models import Policy
from portal.roles import EDITOR
from tests.e2e.conftest import wait_for_js
from tests.e2e.test_staff_push import signed_in
from tests.factories import UserFactory

pytestmark = pytest.mark.slow


def answered(page) -> int:
    return int(page.locator("#audience-preview").get_attribute("data-answered") or 0)


def shown_count(page, after: int = 0) -> int:
    """The count shown once the page has answered a change made after answer number ``after``."""
    wait_for_js(
        page,
        f"() => Number(document.querySelector('#audience-preview').dataset.answered || 0) > {after}"
        " && !document.querySelector('#audience-preview').textContent.includes('正在计算')",
    )
    return int(page.locator("#audience-count").get_attribute("data-count"))


def pick(page, field: str, code: str, *, remove: bool = False) -> None:
    side, button = ("_to", "_remove") if remove else ("_from", "_add")
    page.select_option(f"#id_{field}{side}", value=code)
    page.click(f"#id_{field}{button}")


def test_the_live_count_follows_each_pick_and_equals_the_saved_policys_audience(live_server, browser, demo_city, shots):
    reset_index()
    UserFactory(username="editor", role=EDITOR)
    page = signed_in(browser, live_server.url, "editor", "/admin/policies/policy/add/")
    everyone = shown_count(page)
    before = answered(page)
    page.get_by_label("新吴区").check()
    in_district = shown_count(page, before)
    assert 0 < in_district < everyone

    before = answered(page)
    pick(page, "rule_required_tags", "QUAL01")
    high_tech = shown_count(page, before)
    assert high_tech < in_district  # the tag picked in the widget reaches the count

    before = answered(page)
    pick(page, "rule_required_tags", "QUAL01", remove=True)  # moving it back restores the count
    assert shown_count(page, before) == in_district

    before = answered(page)
    pick(page, "rule_any_tags", "QUAL01")
    pick(page, "rule_any_tags", "QUAL02")
    page.fill("#id_rule_revenue_min", "500")
    page.locator("#id_rule_revenue_min").blur()
    page.wait_for_timeout(600)  # the last change settles (the count is asked 0.3 s after the last one)
    final = shown_count(page, before)
    rule = page.locator("#id_audience_rule").input_value()
    assert '"tag": "QUAL01"' in rule.replace('":"', '": "') or "QUAL01" in rule  # the JSON follows the builder
    expect(page.locator("#id_audience_rule")).to_have_attribute("readonly", "")
    shots(page, "admin-rule-builder")

    page.fill("#id_title", "浏览器受众测试政策")
    page.select_option("#id_level", "city")
    page.fill("#id_summary", "测试摘要")
    page.locator(".field-departments .select2-selection").click()
    page.locator('.select2-search__field[aria-controls="select2-id_departments-results"]').fill("无锡市工业")
    page.locator(".select2-results__option", has_text="无锡市工业").first.click()
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".errornote")).to_have_count(0)
    expect(page.locator(".messagelist")).to_contain_text("成功")
    saved = Policy.objects.get(title="浏览器受众测试政策")
    assert "QUAL01" in str(saved.audience_rule) and "annual_revenue" in str(saved.audience_rule)
    assert audience_for_policy(policy=saved).count == final
    assert re.search(r"\d", str(final))
