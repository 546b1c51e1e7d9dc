"""What the operator sees around a launch: the segment advice for a long template, and one state for a push
whose every message has its outcome."""

import pytest
from django.test import Client
from django.urls import reverse

from notifications import services
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
LONG = (
    "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，请于截止日期前登录平台查看申报条件、"
    "所需材料与办理流程，详见 {link} 拒收请回复R"
)


@pytest.fixture
def boss():
    client = Client()
    client.force_login(UserFactory(username="boss", is_superuser=True))
    return client


def campaign_with(body: str) -> Campaign:
    template = SmsTemplate.objects.create(name="政策包", code="SMS_LONG", kind="marketing", body=body)
    campaign = Campaign.objects.create(name="长模板推送", template=template)
    campaign.policies.set([PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})])
    return campaign


def test_a_template_billing_two_segments_says_by_how_much_to_shorten_it(boss, fresh_matching):
    EnterpriseFactory(contact_mobile="13812345670")
    campaign = campaign_with(LONG)
    page = boss.get(reverse("admin:notifications_campaign_change", args=[campaign.pk])).content.decode()
    assert 'id="campaign-too-long"' in page and "每家企业按 2 条计费" in page and "把模板缩短约" in page


def test_a_push_whose_messages_all_have_an_outcome_reads_finished_and_offers_no_cancel(boss, fresh_matching):
    EnterpriseFactory(contact_mobile="13812345670")
    campaign = campaign_with("{企业简称}：您有{n}条政策可申报 {link} 拒收请回复R")
    services.campaign_plan(campaign=campaign)
    Message.objects.filter(campaign=campaign).update(status=Message.Status.DELIVERED)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)  # the watchdog has not closed it
    progress = boss.get(reverse("admin:notifications_campaign_progress", args=[campaign.pk])).json()
    assert progress["status"] == "已完成" and progress["finished"] is True
    page = boss.get(reverse("admin:notifications_campaign_change", args=[campaign.pk])).content.decode()
    assert "取消推送" not in page and "已完成" in page
    assert "生成短信中" not in page and "发送中" not in page  # one state, the same everywhere on the page
