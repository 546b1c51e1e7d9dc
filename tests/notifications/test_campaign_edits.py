"""With SMS_LAUNCH_APPROVAL on, what is sent is what the second person approved: any change to an approved
push voids the approval and puts it back to a draft, whether made in the admin or by a hand-made POST."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import services, tasks
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy
from portal.roles import ADMINISTRATOR
from tests.factories import PolicyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]


@pytest.fixture
def approved(four_eyes):
    """A push scheduled for tomorrow, launched by the operator and approved by the approver."""
    campaign, operator, approver = four_eyes
    campaign.scheduled_at = timezone.now() + datetime.timedelta(days=1)
    campaign.save()
    services.campaign_launch(campaign=campaign, user=operator)
    services.campaign_approve(campaign=campaign, user=approver)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED and campaign.approved_by == approver
    return campaign, operator, approver


def _change(campaign: Campaign, what: str):
    """One change of each kind an operator could make after the approval: (values, policies)."""
    if what == "policies":
        extra = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})
        return {}, [*campaign.policies.all(), extra]
    other = SmsTemplate.objects.create(name="另一个", code="SMS_200", kind="marketing", body=campaign.template.body)
    return {
        "scope": {"scope": Campaign.Scope.SINCE_LAST},
        "force_reminder": {"force_reminder": True},
        "daily_cap": {"daily_cap": 5},
        "template": {"template": other},
        "scheduled_at": {"scheduled_at": campaign.scheduled_at + datetime.timedelta(hours=2)},
        "link_mode": {"link_mode": Campaign.LinkMode.FIXED},
    }[what], None


@pytest.mark.parametrize(
    "what", ["policies", "scope", "force_reminder", "daily_cap", "template", "scheduled_at", "link_mode"]
)
def test_any_change_after_approval_voids_it_and_the_push_is_a_draft_again(approved, what):
    campaign, operator, approver = approved
    values, policies = _change(campaign, what)
    update = services.campaign_update(campaign=campaign, user=operator, values=values, policies=policies)
    assert update.approval_void
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.approved_by is None and campaign.approved_at is None
    label = str(Campaign._meta.get_field(what).verbose_name)
    assert label in campaign.review_note and "operator" in campaign.review_note and "approver" in campaign.review_note
    with pytest.raises(ValidationError, match="无需复核"):  # the old approval cannot be replayed
        services.campaign_approve(campaign=campaign, user=approver)


def test_saving_an_approved_push_unchanged_keeps_the_approval(approved):
    campaign, operator, approver = approved
    update = services.campaign_update(
        campaign=campaign, user=operator, values={"daily_cap": campaign.daily_cap},
        policies=list(campaign.policies.all()),
    )  # fmt: skip
    campaign.refresh_from_db()
    assert not update.approval_void and campaign.status == Campaign.Status.SCHEDULED
    assert campaign.approved_by == approver


def test_a_push_waiting_for_approval_or_under_way_cannot_be_changed(four_eyes):
    campaign, operator, _ = four_eyes
    services.campaign_launch(campaign=campaign, user=operator)
    with pytest.raises(ValidationError, match="当前状态为“待复核”，不能修改"):
        services.campaign_update(campaign=campaign, user=operator, values={"daily_cap": 9})
    campaign.refresh_from_db()
    assert campaign.daily_cap == 1


def _form(campaign: Campaign, **changes) -> dict:
    data = {
        "name": campaign.name, "scope": campaign.scope, "template": campaign.template_id,
        "link_mode": campaign.link_mode, "daily_cap": campaign.daily_cap,
        "policies": [p.pk for p in campaign.policies.all()],
        "scheduled_at_0": timezone.localtime(campaign.scheduled_at).strftime("%Y-%m-%d"),
        "scheduled_at_1": timezone.localtime(campaign.scheduled_at).strftime("%H:%M:%S"),
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_hand_made_post_widening_an_approved_push_voids_the_approval_and_nothing_is_sent(approved, client):
    campaign, operator, _ = approved
    page = f"/admin/notifications/campaign/{campaign.pk}/change/"
    client.force_login(operator)
    assert "保存任何修改都会作废复核" in client.get(page).content.decode()  # the admin says so before
    client.post(page, _form(campaign))  # saved unchanged: still approved
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED and campaign.approved_at
    wider = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})
    form = _form(campaign, policies=[*_form(campaign)["policies"], wider.pk], daily_cap=3)
    response = client.post(page, form, follow=True)
    assert "原复核已作废，推送已回到草稿：请重新提交复核" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and campaign.approved_at is None
    assert wider in campaign.policies.all() and campaign.daily_cap == 3
    assert "复核退回：复核通过后又被修改" in client.get(page).content.decode()
    tasks.watchdog.apply(args=[])  # even when its time had come, a draft is not started
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    tasks.watchdog.apply(args=[])
    assert not Message.objects.filter(campaign=campaign).exists()


def test_editing_the_template_of_an_approved_push_voids_the_approval(approved, client):
    campaign, _, _ = approved
    template = campaign.template
    client.force_login(UserFactory(username="sysadmin", role=ADMINISTRATOR))  # templates are the admin's
    form = {"name": template.name, "code": template.code, "kind": template.kind, "is_active": "on",
            "body": "{企业简称}：您有{n}条政策，另有惊喜，详见 {link} 拒收请回复R"}  # fmt: skip
    response = client.post(f"/admin/notifications/smstemplate/{template.pk}/change/", form, follow=True)
    assert f"推送批次“{campaign.name}”：修改已保存" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and "短信模板" in campaign.review_note


def test_the_template_of_a_push_being_sent_cannot_be_changed(push_setup, client):
    campaign, _, _ = push_setup
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    template = campaign.template
    client.force_login(UserFactory(username="boss", is_superuser=True))
    form = {"name": template.name, "code": template.code, "kind": template.kind, "is_active": "on",
            "body": "{企业简称}：改过的正文，详见 {link} 拒收请回复R"}  # fmt: skip
    page = client.post(f"/admin/notifications/smstemplate/{template.pk}/change/", form).content.decode()
    assert "正在使用此模板发送，发送完成或取消前不能修改模板" in page
    template.refresh_from_db()
    assert "改过的正文" not in template.body
    with pytest.raises(ValidationError, match="正在使用此模板发送"):
        services.sms_template_update(template=template, user=UserFactory(username="ops"), values={"body": "x"})
