"""A push survives what happens in production: a worker killed mid-send, a flaky platform, Redis restarted,
staff cancelling half-way. Real worker processes, a real (private) Redis, the fake platform counting."""

import time

import pytest

from core.models import Region
from enterprises.models import Enterprise
from notifications import dispatch, services, tasks
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy
from portal.dev.processes import wait_until
from tests.factories import PolicyFactory, UserFactory, make_uscc

pytestmark = pytest.mark.slow
FIRMS = 2000
BODY = "{企业简称}：您有{n}条惠企政策可申报，详见 {link} 拒收请回复R"


@pytest.fixture
def launched(committed_db, monkeypatch):
    """2,000 firms with their own numbers, one broad policy, a campaign launched by staff.

    Launching here only marks the campaign; the worker's watchdog (its own beat, its own Redis) notices a
    campaign with no heartbeat and plans it, exactly as it would after losing the planning task."""
    region = Region.objects.get(code="320214")
    Enterprise.objects.bulk_create(
        Enterprise(
            uscc=make_uscc(900_000 + i),
            name=f"无锡故障测试{i}有限公司",
            contact_mobile=f"1390{i:07d}",
            region=region,
            industry="C39",
            size_class="small",
        )
        for i in range(FIRMS)
    )
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})
    template = SmsTemplate.objects.create(name="政策包", code="SMS_FAULT", body=BODY)
    campaign = Campaign.objects.create(name="故障演练", template=template)
    campaign.policies.set([policy])
    monkeypatch.setattr(tasks.plan_campaign, "delay", lambda *args: None)
    services.campaign_launch(campaign=campaign, user=UserFactory(username="operator", is_superuser=True))
    return campaign


def statuses(campaign) -> dict[str, int]:
    rows = Message.objects.filter(campaign=campaign).values_list("status", flat=True)
    counts = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


def finished(campaign, timeout=120):
    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status in {"completed", "cancelled"},
        timeout,
        f"推送结束，当前 {statuses(campaign)}",
    )


def assert_everyone_got_exactly_one(campaign, platform):
    stats = platform.stats()
    assert statuses(campaign) == {"sent": FIRMS}
    assert stats["mobiles"] == FIRMS, stats
    assert stats["mobiles_with_more_than_one"] == 0, stats
    assert stats["accepted"] == FIRMS, stats
    assert stats["injected_timeouts"] == 0, stats  # none asked for: every call was answered in time


def mid_chunk(platform):
    """Wait until the workers are inside a call: each call takes 300 ms at the platform, and moving on to
    the next call or chunk takes a few, so 0.1 s after some calls were accepted both are mid-call."""
    platform.faults(latency_ms=300)
    wait_until(lambda: platform.stats()["accepted"] >= 300, 60, "开始发送", every=0.01)
    time.sleep(0.1)


def test_a_worker_killed_mid_push_resumes_and_nobody_gets_two(launched, push_worker, fake_platform):
    mid_chunk(fake_platform)
    push_worker.kill()
    assert fake_platform.stats()["accepted"] < FIRMS  # killed half-way
    assert statuses(launched).get("sending")  # taken, maybe sent, never recorded: the hard case
    time.sleep(1)
    fake_platform.faults(latency_ms=0)
    push_worker.start()
    finished(launched)
    assert_everyone_got_exactly_one(launched, fake_platform)


def test_a_platform_failing_one_call_in_ten_still_reaches_everyone_once(launched, push_worker, fake_platform):
    fake_platform.faults(error_every=10)
    finished(launched)
    assert fake_platform.stats()["injected_errors"] >= FIRMS // 100 // 10  # a tenth of the calls, at least
    assert_everyone_got_exactly_one(launched, fake_platform)


def test_redis_restarted_mid_push_loses_its_queue_and_the_push_still_completes(
    launched, push_worker, fake_platform, private_redis
):
    mid_chunk(fake_platform)
    private_redis.stop()  # no persistence: every queued chunk is gone
    time.sleep(1)
    private_redis.start()
    fake_platform.faults(latency_ms=0)
    finished(launched, timeout=180)
    assert_everyone_got_exactly_one(launched, fake_platform)


def test_cancel_mid_push_sends_nothing_more(launched, push_worker, fake_platform):
    fake_platform.faults(latency_ms=300)
    wait_until(lambda: fake_platform.stats()["accepted"] >= 400, 60, "开始发送", every=0.02)
    dispatch.campaign_cancel(campaign=launched, user=UserFactory(username="boss", is_superuser=True))
    at_cancel = fake_platform.stats()["accepted"]
    finished(launched)
    wait_until(lambda: not Message.objects.filter(campaign=launched, status="sending").exists(), 30, "在途调用结束")
    after_cancel = fake_platform.stats()["accepted"]
    time.sleep(3)  # several watchdog rounds
    counts = statuses(launched)
    assert fake_platform.stats()["accepted"] == after_cancel == counts["sent"]  # the platform got only these
    # Each of the 2 worker processes finishes at most the calls on the wire and the one queued behind them.
    assert counts["sent"] <= at_cancel + 2 * (dispatch.CALLS_IN_FLIGHT + 1) * 100
    assert counts["cancelled"] == FIRMS - counts["sent"] > 0
