"""The review workflow in a real browser: an editor builds a policy and submits it, the reviewer finds it in
the queue they land on and sends it back with a reason, and the editor sees 退回 and the reason in the list
and on the policy's page. The policy page passes axe-core's serious and critical checks."""

import pytest
from playwright.sync_api import expect

from policies.models import Policy
from portal.dev.demo.enterprises import generate_enterprises
from portal.roles import EDITOR, REVIEWER
from tests.e2e.test_staff_push import signed_in
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.slow
TITLE = "新吴区智改数转奖励（浏览器审核测试）"
REASON = "请在申报条件中写明营业收入门槛"
SIZES = ("phone390", "desktop")


def choose(page, field: str, search: str, option: str) -> None:
    """Pick ``option`` in an autocomplete (select2) box by typing ``search``."""
    page.locator(f".field-{field} .select2-selection").click()
    page.locator(f'.select2-search__field[aria-controls="select2-id_{field}-results"]').fill(search)
    page.locator(".select2-results__option", has_text=option).first.click()


def test_editor_submits_reviewer_sends_back_editor_sees_why(
    live_server, browser, committed_db, fresh_matching, shots, axe_check
):
    generate_enterprises(count=200)
    UserFactory(username="editor", role=EDITOR)
    UserFactory(username="reviewer", role=REVIEWER)
    PolicyFactory(title="另一条已发布的政策", status=Policy.Status.PUBLISHED)  # not in the reviewer's queue

    editor = signed_in(browser, live_server.url, "editor", "/admin/policies/policy/add/")
    editor.fill("#id_title", TITLE)
    editor.select_option("#id_level", "city")
    choose(editor, "departments", "无锡市工业", "无锡市工业")
    choose(editor, "labels", "数字化", "数字化")
    editor.fill("#id_summary", "对实施智能化改造、数字化转型的企业给予奖励。")
    editor.select_option("#id_rule_required_tags_from", value="QUAL01")
    editor.click("#id_rule_required_tags_add")
    editor.get_by_role("button", name="保存并继续编辑").click()
    expect(editor.locator(".messagelist")).to_contain_text("成功")
    editor.get_by_role("button", name="提交审核").click()
    expect(editor.locator(".messagelist")).to_contain_text("已提交审核")
    policy = Policy.objects.get(title=TITLE)
    assert policy.status == Policy.Status.PENDING and "QUAL01" in str(policy.audience_rule)

    reviewer = signed_in(browser, live_server.url, "reviewer", "/admin/policies/policy/")
    expect(reviewer.locator("#queue-pending")).to_have_text("待我审核（1）")
    listed = reviewer.locator("#result_list tbody tr")
    expect(listed).to_have_count(1)  # the queue they land on holds only what waits for them
    expect(listed.first).to_contain_text(TITLE)
    expect(listed.first).to_contain_text("待审核")
    shots(reviewer, "review-1-reviewer-queue", sizes=SIZES)
    axe_check(reviewer)
    listed.first.get_by_role("link", name=TITLE).click()
    reviewer.get_by_label("退回原因（必填）").fill(REASON)
    reviewer.get_by_role("button", name="退回修改").click()
    expect(reviewer.locator(".messagelist")).to_contain_text("已退回修改")
    shots(reviewer, "review-2-sent-back", sizes=SIZES)

    editor.goto(f"{live_server.url}/admin/policies/policy/")
    row = editor.locator("#result_list tbody tr", has_text=TITLE)
    expect(row.locator(".status-sent-back")).to_have_text("退回修改")
    expect(row.locator(".sent-back-reason")).to_have_text(REASON)
    expect(editor.locator("#queue-sent-back")).to_have_text("退回待修改（1）")
    shots(editor, "review-3-editor-list", sizes=SIZES)
    row.get_by_role("link", name=TITLE).click()
    expect(editor.locator("#sent-back-reason")).to_have_text(f"已退回修改。退回原因：{REASON}")
    expect(editor.get_by_role("button", name="提交审核")).to_be_visible()  # the way forward is on the page
    shots(editor, "review-4-editor-policy-page", sizes=SIZES)

    editor.goto(f"{live_server.url}/admin/policies/policy/{policy.pk}/history/")
    expect(editor.locator("#change-history")).to_contain_text("退回修改")
    expect(editor.locator("#change-history")).not_to_contain_text("pending")
    shots(editor, "review-5-history", sizes=SIZES)
    axe_check(editor)


def test_the_policy_page_has_no_serious_accessibility_problems(live_server, browser, committed_db, axe_check):
    UserFactory(username="editor", role=EDITOR)
    policy = PolicyFactory(title="无障碍检查政策", review_note="请补充联系电话")  # a sent-back draft
    page = signed_in(browser, live_server.url, "editor", f"/admin/policies/policy/{policy.pk}/change/")
    expect(page.locator("#sent-back-reason")).to_be_visible()
    page.wait_for_load_state("load")
    axe_check(page)
