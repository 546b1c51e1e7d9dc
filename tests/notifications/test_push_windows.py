"""A push never announces a policy whose application window is closed (or not yet open): launch refuses
it by name, "since the last push" skips it, planning asks again before every slice, the preview lists it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import services
from notifications.models import Campaign, Message, NotificationLedger
from policies.models import Policy
from tests.factories import PolicyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def closed_and_upcoming(reviewer):
    closed = PolicyFactory(status=Policy.Status.PUBLISHED, title="已截止的技改政策", audience_rule={"all": []},
                           apply_start=days(-60), apply_end=days(-1))  # fmt: skip
    upcoming = PolicyFactory(status=Policy.Status.PUBLISHED, title="下月开始申报的人才政策",
                             audience_rule={"all": []}, apply_start=days(20), apply_end=days(60))  # fmt: skip
    return closed, upcoming


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", is_superuser=True)


def test_a_campaign_naming_a_closed_or_not_yet_open_policy_is_refused_at_launch_with_their_names(
    push_setup, closed_and_upcoming, operator
):
    campaign, _, (first, second) = push_setup
    closed, upcoming = closed_and_upcoming
    campaign.policies.add(closed, upcoming)
    with pytest.raises(ValidationError) as refused:
        services.campaign_launch(campaign=campaign, user=operator)
    [reason] = refused.value.messages
    assert "不在申报期内" in reason
    assert f"《已截止的技改政策》（已截止，截止日期 {days(-1):%Y-%m-%d}）" in reason
    assert f"《下月开始申报的人才政策》（未开始，{days(20):%Y-%m-%d} 开始申报）" in reason
    assert first.title not in reason and second.title not in reason
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and not Message.objects.filter(campaign=campaign).exists()
    campaign.policies.remove(closed, upcoming)
    assert services.campaign_launch(campaign=campaign, user=operator).status == Campaign.Status.PLANNING


def test_a_scheduled_push_is_checked_against_the_day_it_goes_out(push_setup, operator):
    campaign, _, (first, _) = push_setup  # the first policy closes in 10 days
    campaign.scheduled_at = timezone.now() + datetime.timedelta(days=11)
    campaign.save()
    with pytest.raises(ValidationError, match=f"发送当日（{days(11):%Y-%m-%d}）不在申报期内.*{first.title}"):
        services.campaign_launch(campaign=campaign, user=operator)


def test_an_approval_is_refused_when_a_policy_closed_after_the_launch(four_eyes):
    campaign, operator, approver = four_eyes
    services.campaign_launch(campaign=campaign, user=operator)
    first = campaign.policies.order_by("apply_end").first()
    Policy.objects.filter(pk=first.pk).update(apply_end=days(-1))
    with pytest.raises(ValidationError, match=f"《{first.title}》（已截止"):
        services.campaign_approve(campaign=campaign, user=approver)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert not Message.objects.filter(campaign=campaign).exists()


def test_everything_published_since_the_last_push_skips_policies_outside_their_window(push_setup, closed_and_upcoming):
    campaign, _, (first, second) = push_setup
    Policy.objects.update(published_at=timezone.now())
    campaign.scope = Campaign.Scope.SINCE_LAST
    campaign.save()
    preview = services.campaign_preview(campaign=campaign)
    assert {title for title, _ in preview.outside_window} == {"已截止的技改政策", "下月开始申报的人才政策"}
    assert preview.template_problems == [] and set(preview.by_policy) == {first.title, second.title}
    assert services.campaign_plan(campaign=campaign) == 1
    assert Message.objects.get(campaign=campaign).policy_ids == [first.pk, second.pk]
    told = set(NotificationLedger.objects.filter(campaign=campaign).values_list("policy_id", flat=True))
    assert told == {first.pk, second.pk}


def test_a_policy_that_closes_mid_push_is_dropped_from_the_slices_still_to_come(city, monkeypatch):
    first, second = city.policies.order_by("apply_end")
    write_slice, calls = services._write_slice, []

    def first_closes_after_the_second_slice(*args):
        calls.append(args)
        written = write_slice(*args)
        if len(calls) == 2:
            Policy.objects.filter(pk=first.pk).update(apply_end=days(-1))  # midnight has passed
        return written

    monkeypatch.setattr(services, "_write_slice", first_closes_after_the_second_slice)
    assert services.campaign_plan(campaign=city) == 7
    bundles = list(Message.objects.filter(campaign=city).order_by("enterprise_id").values_list("policy_ids", flat=True))
    assert bundles[:2] == [[first.pk, second.pk]] * 2
    assert bundles[2:] == [[second.pk]] * 5  # nothing written after the close names it
    told_first = NotificationLedger.objects.filter(campaign=city, policy=first).count()
    assert told_first == 2
    city.refresh_from_db()
    assert city.plan_report["outside_window"] == [first.pk]


def test_the_admin_preview_lists_policies_outside_their_window_and_offers_no_launch(
    push_setup, closed_and_upcoming, operator, client
):
    campaign, _, _ = push_setup
    campaign.policies.add(*closed_and_upcoming)
    client.force_login(operator)
    page = client.get(f"/admin/notifications/campaign/{campaign.pk}/change/").content.decode()
    assert "不在申报期的政策（不会推送）" in page
    assert "已截止的技改政策" in page and f"已截止，截止日期 {days(-1):%Y-%m-%d}" in page
    assert "下月开始申报的人才政策" in page and "不能推送" in page
    assert "发起推送（" not in page
