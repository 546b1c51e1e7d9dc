"""Quiet hours with a frozen clock: a push launched at night is planned at once and sent from 08:00."""

import datetime
import json

import pytest
import time_machine
from django.urls import reverse

from notifications import dispatch, services, tasks
from notifications.gateways.local import FileGateway
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def night_push(settings, monkeypatch, tmp_path, eager_tasks):
    settings.SMS_QUIET_HOURS = (21, 8)
    outbox = FileGateway(tmp_path / "outbox.jsonl")
    monkeypatch.setattr(dispatch, "get_gateway", lambda: outbox)
    template = SmsTemplate.objects.create(name="政策包", code="SMS_1", body="您有{n}条政策，详见 {link} 拒收请回复R")
    # Open whatever day the clock is frozen at: a push never names a policy outside its window.
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []}, apply_start=None, apply_end=None)
    for i in range(3):
        EnterpriseFactory(contact_mobile=f"1390000000{i}")
    campaign = Campaign.objects.create(name="夜间发起", template=template)
    campaign.policies.set([policy])
    return campaign, outbox


def sent_lines(outbox) -> list[dict]:
    return [json.loads(x) for x in outbox.path.read_text().splitlines()] if outbox.path.exists() else []


def test_a_push_launched_at_night_waits_for_eight_oclock(night_push, client, django_capture_on_commit_callbacks):
    campaign, outbox = night_push
    boss = UserFactory(username="boss", is_superuser=True)
    with time_machine.travel(datetime.datetime(2026, 11, 23, 23, 0, tzinfo=SHANGHAI), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            services.campaign_launch(campaign=campaign, user=boss)
        assert Message.objects.filter(campaign=campaign, status="created").count() == 3  # planned, not sent
        client.force_login(boss)
        progress = client.get(reverse("admin:notifications_campaign_progress", args=[campaign.pk])).json()
        assert "08:00" in progress["starts_at"]
    with time_machine.travel(datetime.datetime(2026, 11, 24, 3, 30, tzinfo=SHANGHAI), tick=False):
        tasks.watchdog()
        assert sent_lines(outbox) == []
    with time_machine.travel(datetime.datetime(2026, 11, 24, 8, 0, 30, tzinfo=SHANGHAI), tick=False):
        report = tasks.watchdog()
    assert report["resumed"] == 1
    assert len(sent_lines(outbox)) == 3
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"


def test_a_scheduled_push_starts_when_its_time_comes(night_push, django_capture_on_commit_callbacks):
    campaign, outbox = night_push
    campaign.scheduled_at = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    campaign.save()
    with time_machine.travel(datetime.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI), tick=False):
        services.campaign_launch(campaign=campaign, user=UserFactory(username="boss", is_superuser=True))
        assert Campaign.objects.get(pk=campaign.pk).status == "scheduled"
        tasks.watchdog()
        assert not Message.objects.exists()
    with time_machine.travel(datetime.datetime(2026, 11, 24, 10, 0, 30, tzinfo=SHANGHAI), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.watchdog()
    assert len(sent_lines(outbox)) == 3
