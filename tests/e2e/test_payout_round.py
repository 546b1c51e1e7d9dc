"""One 免申即享 round end to end in a real browser: an officer freezes the list, a second person approves it,
the firm confirms on its phone from the SMS link, 公示, the finance export, the bank's results, 已拨付."""

import datetime
import re

import pytest
import requests
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from enterprises.models import Enterprise
from notifications.models import SmsTemplate
from policies.models import Policy
from portal.payouts.models import PayoutEntry, PayoutRound, PayoutStandard
from portal.roles import PAYOUT_APPROVER, PAYOUT_OFFICER
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PolicyFactory, UserFactory

pytestmark = pytest.mark.slow
NOTICE = "{企业简称}：您可免申享受“{政策简称}”，请点击 {link} 确认领取并核对收款账户。"
SIZES = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}


def shots(page, name: str) -> None:
    """The page at 390 px (a phone) and 1280 px, in test-artifacts/screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)


def staff_page(browser, base_url: str, username: str, next_path: str):
    page = browser.new_context(viewport=SIZES["1280"], accept_downloads=True).new_page()
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-for-tests-only")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{next_path}")
    return page


def test_one_round_from_the_frozen_list_to_the_money_paid(
    live_server, browser, demo_city, settings, eager_tasks, tmp_path
):
    settings.PORTAL_BASE_URL = live_server.url
    SmsTemplate.objects.create(name="意愿确认", code=settings.SMS_PAYOUT_TEMPLATE, body=NOTICE, kind="notice")
    UserFactory(username="payout", role=PAYOUT_OFFICER)
    UserFactory(username="checker", role=PAYOUT_APPROVER)
    firm = Enterprise.objects.exclude(contact_mobile="").exclude(employees=None).order_by("id").first()
    rule = {
        "all": [
            {"field": "region", "op": "in", "value": [firm.region.code]},
            {"field": "employees", "op": "eq", "value": firm.employees},
        ]
    }
    policy = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="稳岗留工奖励（免申即享）",
        short_title="稳岗奖励",
        delivery=Policy.Delivery.NO_APPLICATION,
        audience_rule=rule,
    )
    PayoutStandard.objects.create(policy=policy, kind=PayoutStandard.Kind.FIXED, fixed_amount=20000)

    # An officer freezes the list and submits it.
    officer = staff_page(browser, live_server.url, "payout", "/admin/payouts/payoutround/add/")
    officer.get_by_label("政策（免申即享、已发布）").select_option(label=policy.title)
    officer.get_by_label("批次名称").fill("稳岗留工奖励 第一批")
    officer.locator("#id_frozen_on").fill(timezone.localdate().isoformat())
    officer.get_by_role("button", name="保存", exact=True).click()
    expect(officer.locator("#round-status")).to_have_text("名单审核中")
    round_ = PayoutRound.objects.get()
    listed = round_.listed_count
    assert listed >= 1 and PayoutEntry.objects.filter(round=round_, enterprise=firm, amount=20000).exists()
    officer.get_by_role("button", name=f"提交复核（{listed} 户）").click()
    expect(officer.locator("#round-review")).to_contain_text("等待复核")
    expect(officer.get_by_role("button", name=re.compile("复核通过"))).to_have_count(0)
    shots(officer, "payout-round-awaiting-approval")

    # A second person approves: the 意愿确认 SMS go out through the push pipeline and the fake platform.
    path = f"/admin/payouts/payoutround/{round_.pk}/change/"
    checker = staff_page(browser, live_server.url, "checker", path)
    checker.get_by_role("button", name=f"复核通过，通知企业确认（{listed} 户）").click()
    expect(checker.locator("#round-status")).to_have_text("意愿确认中")
    texts = requests.get(f"{demo_city.url}/_fake/messages", params={"mobile": firm.contact_mobile}, timeout=10).json()
    sms = next(t["text"] for t in texts if "稳岗奖励" in t["text"])
    link = re.search(r"(http://\S+/b/[A-Za-z0-9_-]{16})", sms).group(1)

    # The firm confirms on its phone, from the link in the SMS.
    phone = browser.new_page(viewport=SIZES["390"])
    phone.goto(link)
    tracker = phone.locator("article.payout-tracker", has_text="稳岗留工奖励")
    expect(tracker).to_contain_text("拟兑现 20,000.00 元")
    shots(phone, "payout-link-page-listed")
    tracker.get_by_role("link", name="确认领取").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("稳岗留工奖励（免申即享）")
    phone.get_by_label("开户银行（含支行）").fill("中国银行无锡新区支行")
    phone.get_by_label("对公收款账号").fill("6216 6100 0001 2345 678")
    shots(phone, "payout-confirm-page")
    phone.get_by_role("button", name="确认领取").click()
    expect(phone.locator(".messages")).to_contain_text("已确认领取")
    expect(phone.locator("article.payout-tracker")).to_contain_text("**** **** 5678")
    expect(phone.locator("body")).not_to_contain_text("6216610000012345678")

    # The answers close (time passes), 公示 starts; the public page lists names and amounts only.
    PayoutRound.objects.filter(pk=round_.pk).update(confirm_deadline=timezone.localdate() - datetime.timedelta(1))
    officer.reload()
    officer.get_by_role("button", name=re.compile("开始公示")).click()
    expect(officer.locator("#round-status")).to_have_text("公示中")
    public = browser.new_page(viewport=SIZES["390"])
    public.goto(f"{live_server.url}/gongshi/{round_.pk}/")
    expect(public.locator("table.publicity-list")).to_contain_text(firm.name)
    expect(public.locator("body")).not_to_contain_text(firm.uscc)
    shots(public, "payout-publicity")

    # 公示 over: the officer exports the list for finance, and uploads the bank's results.
    PayoutRound.objects.filter(pk=round_.pk).update(publicity_end=timezone.localdate() - datetime.timedelta(1))
    officer.reload()
    with officer.expect_download() as download:
        officer.get_by_role("link", name="导出拨付名单（XLSX）").click()
    download.value.save_as(tmp_path / "list.xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(tmp_path / "list.xlsx", read_only=True).active
    rows = list(sheet.values)
    assert [r[4] for r in rows[2:-2] if r[2] == firm.uscc] == ["6216610000012345678"]
    assert rows[-2][5] == sum(r[5] for r in rows[2:-2])
    results = Workbook()
    results.active.append(["统一社会信用代码", "结果", "金额", "日期", "原因", "流水号"])
    results.active.append([firm.uscc, "已拨付", 20000, timezone.localdate().isoformat(), "", "BOC-0001"])
    file = tmp_path / "results.xlsx"
    results.save(file)
    officer.reload()
    officer.get_by_label(re.compile("导入拨付结果（列")).set_input_files(str(file))
    officer.get_by_role("button", name="导入拨付结果", exact=True).click()
    expect(officer.locator(".messagelist")).to_contain_text("拨付结果已导入：共 1 行：更新 1")
    shots(officer, "payout-round-paid")

    # The firm sees the money paid.
    phone.goto(link)
    expect(phone.locator("article.payout-tracker")).to_contain_text(
        f"已拨付 20,000.00 元（{timezone.localdate():%Y-%m-%d}）"
    )
    shots(phone, "payout-link-page-paid")
