"""What a firm does after the push, in a real browser: opens its SMS link, sees its policies and why, rates
one, unsubscribes; signs in with an SMS code; searches, filters and opens a policy."""

import re

import pytest
import requests
from django.utils import timezone

from enterprises.models import Enterprise
from notifications import dispatch, services
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy, Window, window_q
from portal.models import PolicyRating

pytestmark = pytest.mark.slow
BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"


def push_everyone(settings, base_url: str) -> Campaign:
    """A push of the three most widely matching policies, planned and sent through the fake platform."""
    settings.PORTAL_BASE_URL = base_url
    template = SmsTemplate.objects.create(name="政策包通知", code="SMS_E2E", body=BODY)
    campaign = Campaign.objects.create(name="浏览器测试推送", template=template)
    published = Policy.objects.filter(status=Policy.Status.PUBLISHED)
    campaign.policies.set(published.filter(window_q(Window.OPEN, timezone.localdate())).order_by("id")[:3])
    services.campaign_plan(campaign=campaign)
    for first, last in dispatch.campaign_chunks(campaign_id=campaign.pk):
        dispatch.send_chunk(campaign_id=campaign.pk, first_id=first, last_id=last)
    return campaign


def test_a_firm_opens_its_link_rates_a_policy_and_unsubscribes(live_server, browser, demo_city, shots, settings):
    campaign = push_everyone(settings, live_server.url)
    received = requests.get(f"{demo_city.url}/_fake/messages", timeout=10).json()
    assert len(received) == Message.objects.filter(campaign=campaign).count() > 0
    sms = received[0]
    link = re.search(r"(http://\S+/b/[A-Za-z0-9_-]{16})", sms["text"]).group(1)
    firm = Message.objects.select_related("enterprise").get(mobile=sms["mobile"], campaign=campaign).enterprise

    page = browser.new_page(viewport={"width": 360, "height": 780})
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == firm.name
    cards = page.locator("article.policy-card")
    assert cards.count() >= 1
    assert cards.first.locator("details.why li").count() >= 1  # the reasons it qualifies
    shots(page, "link-page")

    first = cards.first
    first.locator("details.rate summary").click()
    first.get_by_label("差评").check()
    first.get_by_label("意见（选填）").fill("申报材料写得不够清楚")
    first.get_by_role("button", name="提交评价").click()
    assert "评价已提交" in page.locator(".messages").inner_text()
    assert PolicyRating.objects.get(enterprise=firm).comment == "申报材料写得不够清楚"

    page.get_by_role("button", name="不再接收政策推送短信（退订）").click()
    assert "已退订" in page.locator(".messages").inner_text()
    assert Enterprise.objects.get(pk=firm.pk).sms_opt_out
    page.close()


def test_a_firm_signs_in_with_an_sms_code_and_sees_its_package(live_server, browser, demo_city, shots):
    firm = Enterprise.objects.exclude(contact_mobile="").order_by("id").first()
    page = browser.new_page(viewport={"width": 360, "height": 780})
    page.goto(f"{live_server.url}/m")  # the fixed link of strict SMS channels
    page.get_by_label("统一社会信用代码（18 位）").fill(firm.uscc)
    page.get_by_role("button", name="获取验证码").click()
    assert "验证码已发送" in page.locator(".messages").inner_text()
    texts = requests.get(f"{demo_city.url}/_fake/messages", params={"mobile": firm.contact_mobile}, timeout=10).json()
    code = re.search(r"验证码为(\d{6})", texts[-1]["text"]).group(1)
    page.get_by_label("短信验证码（6 位）").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/my/")
    assert firm.name in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("#profile table tbody tr").count() >= 1  # its portrait tags and where they came from
    shots(page, "my-package")
    page.close()


def test_anyone_searches_filters_and_opens_a_policy(live_server, browser, demo_city, shots):
    # Browsing lists policies open for application unless asked otherwise: take one that is open.
    open_now = window_q(Window.OPEN, timezone.localdate())
    policy = Policy.objects.filter(open_now, status=Policy.Status.PUBLISHED).order_by("id").first()
    word = policy.title[2:6]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/")
    page.get_by_label("搜索政策").fill(word)
    page.get_by_role("button", name="搜索").click()
    assert page.locator(".policy-list li").count() >= 1
    page.get_by_label("排序").select_option("deadline")
    page.locator("details", has_text="更多筛选").locator("summary").click()
    page.get_by_label(policy.get_level_display(), exact=True).check()
    page.get_by_role("button", name="应用筛选").click()
    assert page.get_by_label("排序").input_value() == "deadline"
    shots(page, "search")
    page.get_by_role("link", name=policy.title).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == policy.title
    assert page.locator(".qr svg").count() == 1
    shots(page, "policy-detail")
    page.close()
