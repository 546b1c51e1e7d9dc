"""What staff do in the admin, in a real browser: one person previews and launches a push, a second
approves it (SMS_LAUNCH_APPROVAL on), and the page turns into the push's progress."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy, Window, window_q
from portal.roles import PUSH_APPROVER, PUSH_OPERATOR
from tests.factories import UserFactory

pytestmark = pytest.mark.slow
BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"


def signed_in(browser, base_url: str, username: str, next_path: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-for-tests-only")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{next_path}")
    return page


def test_a_push_launched_by_one_person_starts_when_a_second_approves(
    live_server, browser, demo_city, shots, settings, eager_tasks
):
    """Planning and sending run inside the approving request (eager tasks), as a worker would just after."""
    settings.SMS_LAUNCH_APPROVAL = True
    settings.PORTAL_BASE_URL = live_server.url
    UserFactory(username="operator", role=PUSH_OPERATOR)
    UserFactory(username="approver", role=PUSH_APPROVER)
    template = SmsTemplate.objects.create(name="政策包通知", code="SMS_E2E", body=BODY)
    campaign = Campaign.objects.create(name="浏览器复核推送", template=template)
    published = Policy.objects.filter(status=Policy.Status.PUBLISHED)
    # Open ones: a push never names a policy whose application window is closed (the demo data has some).
    campaign.policies.set(published.filter(window_q(Window.OPEN, timezone.localdate())).order_by("id")[:3])
    path = f"/admin/notifications/campaign/{campaign.pk}/change/"

    operator = signed_in(browser, live_server.url, "operator", path)
    expect(operator.get_by_role("heading", name="发送前预览")).to_be_visible()
    operator.get_by_label(re.compile("我已核对：将向")).check()  # asked once, with the numbers
    submit = operator.get_by_role("button", name=re.compile(r"提交复核（\d+ 家企业）"))
    recipients = int(re.search(r"（(\d+) 家企业）", submit.get_attribute("value")).group(1))
    assert recipients > 0
    submit.click()
    expect(operator.locator(".messagelist")).to_contain_text("已提交复核")
    expect(operator.locator("#campaign-review")).to_contain_text("等待复核")
    expect(operator.get_by_role("button", name=re.compile("复核通过"))).to_have_count(0)  # not for the one who launched
    shots(operator, "admin-push-awaiting-approval")
    assert not Message.objects.filter(campaign=campaign).exists()  # nothing planned before the approval

    approver = signed_in(browser, live_server.url, "approver", path)
    approver.get_by_role("button", name=f"复核通过，开始推送（{recipients} 家企业）").click()
    expect(approver.locator(".messagelist")).to_contain_text("已复核通过")
    expect(approver.get_by_role("heading", name=re.compile("推送进度"))).to_be_visible()
    expect(approver.locator("#campaign-counts")).to_contain_text(f"已提交 {recipients}", timeout=15_000)
    shots(approver, "admin-push-progress")
    assert demo_city.stats()["accepted"] == recipients  # every approved message reached the platform once
