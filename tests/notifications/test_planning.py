"""Planning a push: SMS rules, who is excluded and why, one message per firm, links, the ledger."""

import datetime
import re
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from notifications import dispatch, links, selectors, services
from notifications.models import Campaign, Message, NotificationLedger
from notifications.sms_rules import check_template, segments, sms_length
from portal.roles import PUSH_APPROVER, PUSH_OPERATOR
from tests.factories import EnterpriseFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]
BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"


# --- SMS rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "expected"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (500, 8)])
def test_segments_follow_the_70_and_67_rule(length, expected):
    assert segments(length) == expected


def test_length_counts_chinese_characters_and_the_signature():
    assert sms_length("您有3条政策", "无锡政务服务") == len("【无锡政务服务】") + 6 == 14


@pytest.mark.parametrize(
    ("body", "marketing", "problem"),
    [
        ("【惠企】您有新政策 拒收请回复R", True, "正文中不能出现【】"),
        ("您有新政策，详见 {link}", True, "必须以退订提示结尾"),
        ("您有新政策，详见 {link} 拒收请回复R", False, "通知类短信不能包含营销退订提示"),
        ("{公司名}：您有新政策 拒收请回复R", True, "未知的变量：公司名"),
        ("政" * 500 + " 拒收请回复R", True, "短信过长"),
    ],
)
def test_templates_that_carriers_would_refuse_are_refused_with_a_reason(body, marketing, problem):
    check = check_template(body=body, signature="无锡政务服务", marketing=marketing)
    assert not check.ok and any(problem in p for p in check.problems)


def test_the_standard_marketing_template_passes():
    assert check_template(body=BODY, signature="无锡政务服务", marketing=True).ok


# --- preview and planning -----------------------------------------------------------------------------------


def test_preview_counts_audience_exclusions_samples_and_cost(push_setup, settings):
    settings.PORTAL_BASE_URL = "https://hqzd.wuxi.gov.cn"
    campaign, firms, _ = push_setup
    preview = services.campaign_preview(campaign=campaign)
    assert preview.audience == 5
    assert preview.excluded == {"opted_out": 1, "no_mobile": 1, "daily_cap": 1, "already_notified": 1}
    assert preview.recipients == 1 and preview.by_region == {"新吴区": 1}
    [sample] = preview.samples
    assert sample["text"].startswith(
        "【无锡政务服务】芯睿微电子：您有2条惠企政策可申报，含“技改补助”等，详见 https://hqzd.wuxi.gov.cn/b/"
    )
    assert sample["length"] == len(sample["text"]) and sample["segments"] == segments(sample["length"])
    assert preview.segments == sample["segments"] and preview.cost_yuan == sample["segments"] * 0.04
    assert preview.template_problems == []
    assert not Message.objects.filter(campaign=campaign).exists()  # a preview writes nothing


def test_planning_writes_one_message_per_firm_with_a_link_and_the_ledger(push_setup, settings):
    settings.PORTAL_BASE_URL = "https://hqzd.wuxi.gov.cn"
    campaign, firms, (first, second) = push_setup
    assert services.campaign_plan(campaign=campaign) == 1
    message = Message.objects.get(campaign=campaign)
    assert message.enterprise == firms["ok"]
    assert message.policy_ids == [first.pk, second.pk]  # nearest deadline first
    text = selectors.message_text(message=message)
    link = f"https://hqzd.wuxi.gov.cn/b/{message.token}"
    assert text == f"芯睿微电子：您有2条惠企政策可申报，含“技改补助”等，详见 {link} 拒收请回复R"
    assert message.length == len("【无锡政务服务】") + len(text) and message.status == "created"
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", message.token)  # 96 bits, URL-safe
    campaign.refresh_from_db()
    assert links.link_visit(token=message.token).usable()
    assert campaign.links_expire_at > timezone.now() + datetime.timedelta(days=89)
    assert campaign.plan_report["messages"] == 1 and campaign.plan_report["excluded"]["opted_out"] == 1
    assert set(NotificationLedger.objects.filter(campaign=campaign).values_list("policy_id", flat=True)) == {
        first.pk, second.pk,
    }  # fmt: skip
    assert services.campaign_plan(campaign=campaign) == 0  # running twice sends nothing twice


def test_a_firm_removed_from_the_register_takes_its_messages_and_ledger_with_it(push_setup):
    campaign, firms, _ = push_setup
    services.campaign_plan(campaign=campaign)
    firms["ok"].delete()
    assert not Message.objects.filter(campaign=campaign).exists()
    assert not NotificationLedger.objects.filter(campaign=campaign).exists()
    assert NotificationLedger.objects.filter(enterprise=firms["told"]).count() == 2  # other firms keep theirs


def test_planning_commits_slice_by_slice_and_hands_each_to_sending(city, django_capture_on_commit_callbacks):
    handed = []
    with django_capture_on_commit_callbacks(execute=True):
        written = services.campaign_plan(campaign=city, on_slice=lambda first, last: handed.append((first, last)))
    ids = sorted(Message.objects.filter(campaign=city).values_list("id", flat=True))
    assert written == len(ids) == 7 and len(handed) == 7
    assert sorted(i for first, last in handed for i in ids if first <= i <= last) == ids  # each once
    city.refresh_from_db()
    assert city.status == Campaign.Status.SENDING and city.plan_report["messages"] == 7


def test_a_plan_cut_off_part_way_finishes_on_a_second_run_without_repeats(city, monkeypatch):
    write_slice, calls = services._write_slice, []

    def dies_on_the_third_slice(*args):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return write_slice(*args)

    monkeypatch.setattr(services, "_write_slice", dies_on_the_third_slice)
    with pytest.raises(RuntimeError):
        services.campaign_plan(campaign=city)
    assert Message.objects.filter(campaign=city).count() == 2  # two slices had committed
    monkeypatch.setattr(services, "_write_slice", write_slice)
    assert services.campaign_plan(campaign=city) == 5
    assert Message.objects.filter(campaign=city).values("enterprise").distinct().count() == 7
    city.refresh_from_db()
    assert city.plan_report["excluded"]["already_notified"] == 1  # the firm told by the earlier push only


def test_cancelling_stops_planning_between_slices(city, monkeypatch):
    write_slice, operator = services._write_slice, UserFactory(username="op", is_superuser=True)

    def cancelled_after_the_first(campaign, *args):
        written = write_slice(campaign, *args)
        dispatch.campaign_cancel(campaign=campaign, user=operator)
        return written

    monkeypatch.setattr(services, "_write_slice", cancelled_after_the_first)
    assert services.campaign_plan(campaign=city) == 1
    assert Message.objects.filter(campaign=city).get().status == Message.Status.CANCELLED


@pytest.mark.django_db(transaction=True)  # the cancel runs on a connection of its own, so writes must commit
def test_a_cancel_arriving_mid_slice_waits_for_it_then_cancels_its_messages_too(committed_db, city, monkeypatch):
    """Real concurrency: a cancel from another connection while a slice's transaction is open."""
    write_slice, operator = services._write_slice, UserFactory(username="op", is_superuser=True)
    cancelled = []

    def cancel():
        try:
            cancelled.append(dispatch.campaign_cancel(campaign=city, user=operator))
        finally:
            connection.close()

    canceller = threading.Thread(target=cancel)

    def cancel_arrives_mid_slice(campaign, *args):
        written = write_slice(campaign, *args)
        if not canceller.is_alive() and not cancelled:  # the first slice, its messages not yet committed
            canceller.start()
            assert _waits_for_a_lock("notifications_campaign"), "the cancel should wait for the open slice"
        return written

    monkeypatch.setattr(services, "_write_slice", cancel_arrives_mid_slice)
    assert services.campaign_plan(campaign=city) == 1  # no slice after the cancel
    canceller.join(timeout=30)
    assert cancelled == [1]  # the slice that was being written when the cancel came
    assert set(Message.objects.filter(campaign=city).values_list("status", flat=True)) == {Message.Status.CANCELLED}
    city.refresh_from_db()
    assert city.status == Campaign.Status.CANCELLED


def _waits_for_a_lock(table: str, seconds: float = 10) -> bool:
    """Whether another backend is waiting for a lock while writing ``table`` (polled, up to ``seconds``)."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # within a transaction, activity is read once
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{table}%"],
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def test_a_later_push_of_the_same_policies_skips_firms_already_told_unless_forced(push_setup):
    campaign, firms, (first, second) = push_setup
    services.campaign_plan(campaign=campaign)
    again = Campaign.objects.create(name="再推一次", template=campaign.template, daily_cap=5)
    again.policies.set([first, second])
    preview = services.campaign_preview(campaign=again)
    # The firm told in the first push and the one in the ledger from before are both left out now;
    # with a cap of 5 the firm that had one SMS today is not.
    assert (preview.excluded["already_notified"], preview.recipients) == (2, 1)
    again.force_reminder = True
    again.save()
    forced = services.campaign_preview(campaign=again)
    assert (forced.excluded["already_notified"], forced.recipients) == (0, 3)


def test_links_are_unique_and_revocable(push_setup):
    campaign, _, _ = push_setup
    for n in range(200):
        EnterpriseFactory(contact_mobile=f"139{n:08d}")
    services.campaign_plan(campaign=campaign)
    tokens = list(Message.objects.filter(campaign=campaign).values_list("token", flat=True))
    assert len(tokens) == 201 == len(set(tokens))
    message = Message.objects.select_related("campaign").filter(campaign=campaign).first()
    assert links.link_visit(token=message.token).usable()
    assert not links.link_visit(token=message.token).usable(now=message.campaign.links_expire_at)
    links.link_revoke(message=message, user=UserFactory(username="ops", is_superuser=True))
    assert not links.link_visit(token=message.token).usable()


def test_a_fixed_link_push_sends_one_address_and_makes_no_tokens(push_setup, settings):
    settings.PORTAL_BASE_URL = "https://hqzd.wuxi.gov.cn"
    campaign, _, _ = push_setup
    campaign.link_mode = Campaign.LinkMode.FIXED
    campaign.save()
    services.campaign_plan(campaign=campaign)
    message = Message.objects.get(campaign=campaign)
    assert message.token is None
    assert selectors.message_text(message=message).endswith("详见 https://hqzd.wuxi.gov.cn/m 拒收请回复R")


@pytest.mark.parametrize("link_mode", [Campaign.LinkMode.PER_FIRM, Campaign.LinkMode.FIXED])
def test_the_length_billed_is_the_length_of_the_text_sent_whatever_the_template(push_setup, settings, link_mode):
    settings.PORTAL_BASE_URL = "https://hqzd.wuxi.gov.cn"
    campaign, _, _ = push_setup
    repeated = "{企业简称}您好！{企业简称}有{n}条政策可申报（{政策简称}），"
    campaign.template.body = repeated + "详" * 40 + " {link} 拒收请回复R"
    campaign.template.save()
    campaign.link_mode = link_mode
    campaign.save()
    services.campaign_plan(campaign=campaign)
    message = Message.objects.get(campaign=campaign)
    text = selectors.message_text(message=message)
    assert text.startswith("芯睿微电子您好！芯睿微电子有2条政策可申报（技改补助），")
    assert message.length == len("【无锡政务服务】") + len(text) > 70
    assert message.segments == segments(message.length) == 2


def test_planning_refuses_a_template_that_breaks_the_rules(push_setup):
    campaign, _, _ = push_setup
    campaign.template.body = "您有新政策，详见 {link}"
    campaign.template.save()
    with pytest.raises(ValidationError, match="必须以退订提示结尾"):
        services.campaign_plan(campaign=campaign)
    assert not Message.objects.filter(campaign=campaign).exists()


def test_launching_needs_the_push_permission_and_happens_once(push_setup, editor, django_capture_on_commit_callbacks):
    campaign, _, _ = push_setup
    with pytest.raises(PermissionDenied, match="没有发起短信推送的权限"):
        services.campaign_launch(campaign=campaign, user=editor)
    operator = UserFactory(username="operator", is_superuser=True)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.campaign_launch(campaign=campaign, user=operator)
    assert len(queued) == 1  # the planning task, queued after commit
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PLANNING and campaign.launched_by == operator
    with pytest.raises(ValidationError, match="不能再次发起"):
        services.campaign_launch(campaign=campaign, user=operator)


def test_with_approval_on_a_launch_waits_for_a_second_person(four_eyes, django_capture_on_commit_callbacks):
    campaign, operator, approver = four_eyes
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.campaign_launch(campaign=campaign, user=operator)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL and not queued  # nothing planned yet
    with pytest.raises(PermissionDenied, match="没有复核短信推送的权限"):
        services.campaign_approve(campaign=campaign, user=UserFactory(username="colleague", role=PUSH_OPERATOR))
    both = UserFactory(username="both", role=PUSH_APPROVER)
    both.groups.add(operator.groups.get())
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DRAFT)
    services.campaign_launch(campaign=campaign, user=both)
    with pytest.raises(PermissionDenied, match="发起人不能复核自己发起的推送"):
        services.campaign_approve(campaign=campaign, user=both)  # holding both permissions is not enough
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.campaign_approve(campaign=campaign, user=approver)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PLANNING and len(queued) == 1
    assert (campaign.launched_by, campaign.approved_by) == (both, approver) and campaign.approved_at
    with pytest.raises(ValidationError, match="无需复核"):
        services.campaign_approve(campaign=campaign, user=approver)


def test_an_approver_sends_a_launch_back_with_a_reason(four_eyes, client):
    campaign, operator, approver = four_eyes
    services.campaign_launch(campaign=campaign, user=operator)
    page = f"/admin/notifications/campaign/{campaign.pk}/change/"
    client.force_login(operator)
    body = client.get(page).content.decode()
    assert "等待复核" in body and "复核通过" not in body  # the one who launched cannot approve
    client.post(f"/admin/notifications/campaign/{campaign.pk}/approve/")  # nor by a hand-made POST
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    client.force_login(approver)
    body = client.get(page).content.decode()
    assert "复核通过，开始推送（1 家企业）" in body and "退回修改" in body
    response = client.post(f"/admin/notifications/campaign/{campaign.pk}/send-back/", {"reason": " "}, follow=True)
    assert "退回时请填写原因" in response.content.decode()
    client.post(f"/admin/notifications/campaign/{campaign.pk}/send-back/", {"reason": "请改为通知类模板"})
    campaign.refresh_from_db()
    assert (campaign.status, campaign.review_note) == (Campaign.Status.DRAFT, "请改为通知类模板")
    client.force_login(operator)
    body = client.get(page).content.decode()
    assert "复核退回：请改为通知类模板" in body and "提交复核（1 家企业）" in body


def test_the_sql_segment_rule_agrees_with_python_at_every_length():
    from django.db import connection

    from notifications.sms_rules import segments_sql

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, {segments_sql('n')} FROM generate_series(1, 600) n ORDER BY n")
        assert all(sql == segments(n) for n, sql in cursor.fetchall())
