"""办理进度 by SMS: a department's report reaches the firm once, through the push pipeline (opt-outs, caps,
links), about its own application even when the policy's window has closed; old history and states not worth
an SMS are marked without one."""

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from notifications.models import Campaign, Message, SmsTemplate
from notifications.selectors import message_text
from notifications.services import campaign_plan
from policies.models import Policy
from portal.payouts import notices
from portal.payouts.models import Application
from tests.factories import EnterpriseFactory, PolicyFactory
from tests.payouts.reports import line, post

pytestmark = pytest.mark.django_db
PROGRESS = "{企业简称}：您申报的“{政策简称}”办理进度有更新，详情请点击 {link} 查看。"


@pytest.fixture
def progress_template(db):
    return SmsTemplate.objects.create(
        name="办理进度", code=settings.SMS_APPLICATION_TEMPLATE, body=PROGRESS, kind=SmsTemplate.Kind.NOTICE
    )


def sent_to(campaigns) -> dict[int, Message]:
    """Plan each campaign as its worker would; the messages written, by firm."""
    messages = {}
    for campaign in campaigns:
        campaign_plan(campaign=campaign)
        messages |= {m.enterprise_id: m for m in Message.objects.filter(campaign=campaign)}
    return messages


def test_a_reported_state_reaches_its_firm_once_and_the_link_shows_the_tracker(setting, progress_template):
    client, firm, ours, _ = setting
    assert post(client, line(firm, ours, "KJ-1", "已受理")).json()["accepted"] == 1
    campaigns = notices.applications_notify()
    [message] = sent_to(campaigns).values()
    assert campaigns[0].purpose == Campaign.Purpose.PROGRESS and campaigns[0].template == progress_template
    assert message.enterprise == firm and message.policy_ids == [ours.pk]
    link = f"{settings.PORTAL_BASE_URL}/b/{message.token}"
    assert (
        message_text(message=message)
        == f"无锡甲芯科技有限公司：您申报的“研发补助”办理进度有更新，详情请点击 {link} 查看。"
    )
    page = Client().get(f"/b/{message.token}").content.decode()
    assert "兑现进度" in page and "申报编号 KJ-1" in page and "已受理" in page
    assert notices.applications_notify() == []  # told once: a second run sends nothing


def test_a_state_not_worth_an_sms_is_marked_and_a_closed_policy_still_reaches_its_applicant(
    setting, progress_template, time_machine
):
    client, firm, ours, _ = setting
    post(client, line(firm, ours, "KJ-2", "已受理"))
    sent_to(notices.applications_notify())
    post(client, line(firm, ours, "KJ-2", "审核中"))
    assert notices.applications_notify() == []  # 审核中 is not one of APPLICATION_NOTICE_STATUSES
    assert Application.objects.get(external_id="KJ-2").notified_status == "reviewing"
    # The next day, after the window closed: the firm's own application is still its business.
    time_machine.move_to(timezone.now() + datetime.timedelta(days=1))
    ours.apply_end = timezone.localdate() - datetime.timedelta(days=1)
    ours.save()
    post(client, line(firm, ours, "KJ-2", "已拨付", amount=50000))
    [message] = sent_to(notices.applications_notify()).values()
    assert message.enterprise == firm
    page = Client().get(f"/b/{message.token}").content.decode()
    assert "已拨付 50,000.00 元" in page


def test_old_history_and_opted_out_firms_get_no_sms_and_a_policy_push_does_not_hold_one_back(
    setting, progress_template
):
    client, firm, ours, _ = setting
    second = PolicyFactory(status=Policy.Status.PUBLISHED, departments=list(ours.departments.all()))
    quiet = EnterpriseFactory(name="无锡退订科技有限公司", sms_opt_out=True)
    busy = EnterpriseFactory(name="无锡双项申报科技有限公司")
    # A policy push reached the busy firm earlier today: its own cases are still told (caps count apart).
    push = Campaign.objects.create(name="今日政策推送", template=progress_template, launched_at=timezone.now())
    Message.objects.create(
        campaign=push, enterprise=busy, mobile=busy.contact_mobile, policy_ids=[second.pk], length=60, segments=1
    )
    post(
        client,
        line(firm, ours, "OLD-1", "已受理", at="2026-03-02"),  # a department loading its history
        line(quiet, ours, "KJ-3", "已受理"),
        line(busy, ours, "KJ-4", "已受理"),
        line(busy, second, "KJ-5", "已受理"),  # two applications moving the same day: both told
    )
    campaigns = notices.applications_notify()
    assert [set(c.policies.values_list("pk", flat=True)) for c in campaigns] == [{ours.pk}, {second.pk}]
    sent = []
    for campaign in campaigns:
        campaign_plan(campaign=campaign)
        sent += Message.objects.filter(campaign=campaign)
    assert sorted((m.enterprise_id, m.policy_ids[0]) for m in sent) == [(busy.pk, ours.pk), (busy.pk, second.pk)]
    assert Campaign.objects.get(pk=campaigns[0].pk).plan_report["excluded"]["opted_out"] == 1
    assert Application.objects.filter(notified_status="received").count() == 4  # all considered, once


def test_a_firm_past_todays_cap_of_progress_notices_is_told_the_next_day_not_never(
    setting, progress_template, time_machine
):
    client, firm, ours, _ = setting
    policies = [
        ours,
        *(PolicyFactory(status=Policy.Status.PUBLISHED, departments=[ours.departments.get()]) for _ in range(3)),
    ]
    post(client, *(line(firm, p, f"KJ-C{n}", "已受理") for n, p in enumerate(policies)))
    today = sent_to(notices.applications_notify())
    assert len(Message.objects.filter(enterprise=firm)) == notices.PROGRESS_DAILY_CAP == 3
    assert today and Application.objects.filter(notified_status="").count() == 1  # the fourth waits
    assert notices.applications_notify() == []  # later the same day: the firm is at its cap
    time_machine.move_to(timezone.now() + datetime.timedelta(days=1))
    [message] = sent_to(notices.applications_notify()).values()
    assert message.enterprise == firm and message.policy_ids == [policies[3].pk]
    assert not Application.objects.filter(notified_status="").exists()


def test_across_the_claims_of_one_run_a_firm_gets_each_policy_once_and_no_more_than_the_cap(
    setting, progress_template, monkeypatch
):
    client, firm, ours, _ = setting
    monkeypatch.setattr(notices, "CLAIM", 1)  # one application a claim: the run's campaigns are not messages yet
    policies = [
        ours,
        *(PolicyFactory(status=Policy.Status.PUBLISHED, departments=[ours.departments.get()]) for _ in range(3)),
    ]
    post(
        client,
        *(line(firm, p, f"KJ-D{n}", "已受理") for n, p in enumerate(policies)),
        line(firm, ours, "KJ-D4", "已受理"),  # a second application to the first policy
    )
    campaigns = notices.applications_notify()
    assert [c.policies.get() for c in campaigns] == policies[:3]  # three policies, each once
    sent_to(campaigns)
    assert Message.objects.filter(enterprise=firm).count() == notices.PROGRESS_DAILY_CAP
    assert list(Application.objects.filter(notified_status="").values_list("external_id", flat=True)) == ["KJ-D3"]


def test_a_large_report_waits_for_a_second_person_and_cannot_be_edited(setting, progress_template, settings):
    from django.core.exceptions import ValidationError

    from notifications.services import campaign_approve, campaign_update
    from portal.roles import PUSH_APPROVER
    from tests.factories import UserFactory

    settings.APPLICATION_NOTICE_REVIEW_ABOVE = 1
    client, firm, ours, _ = setting
    other = EnterpriseFactory(name="无锡第二申报企业有限公司")
    post(client, line(firm, ours, "KJ-6", "已受理"), line(other, ours, "KJ-7", "已受理"))
    [campaign] = notices.applications_notify()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL and "需复核后发送" in campaign.review_note
    assert not Message.objects.filter(campaign=campaign).exists()
    with pytest.raises(ValidationError, match="系统按名单生成"):
        campaign_update(campaign=campaign, user=UserFactory(), values={"daily_cap": 5}, policies=[])
    checker = UserFactory(username="checker-2", role=PUSH_APPROVER)
    staff = Client()
    staff.force_login(checker)
    page = staff.get(f"/admin/notifications/campaign/{campaign.pk}/change/").content.decode()
    assert "需复核后发送" in page and 'name="_save"' not in page  # read-only, with the numbers to approve
    campaign = campaign_approve(campaign=campaign, user=checker)
    assert campaign.status == Campaign.Status.PLANNING
    assert set(sent_to([campaign])) == {firm.pk, other.pk}


def test_without_a_registered_template_changes_wait_for_one(setting):
    client, firm, ours, _ = setting
    post(client, line(firm, ours, "KJ-5", "已受理"))
    assert notices.applications_notify() == []
    assert Application.objects.get(external_id="KJ-5").notified_status == ""  # still to be told
    SmsTemplate.objects.create(name="办理进度", code=settings.SMS_APPLICATION_TEMPLATE, body=PROGRESS, kind="notice")
    assert len(sent_to(notices.applications_notify())) == 1
