"""Push fixtures: quiet hours off by default, a campaign with firms left out for every reason, and real
processes for the fault tests."""

import datetime

import pytest
from django.utils import timezone

from matching.index import reset_index
from notifications import services
from notifications.models import Campaign, Message, NotificationLedger, SmsTemplate
from policies.models import Policy
from portal.dev.processes import CeleryWorker, FakePlatform, PrivateRedis
from portal.roles import PUSH_APPROVER, PUSH_OPERATOR
from tests.conftest import _worker_env
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"


@pytest.fixture(autouse=True)
def daytime(settings):
    """Push tests send at any hour; the quiet-hours tests switch them back on with a frozen clock."""
    settings.SMS_QUIET_HOURS = ()


# --- a campaign of two open policies and firms left out for every reason ----------------------------------


@pytest.fixture
def push_setup(reviewer):
    template = SmsTemplate.objects.create(name="政策包", code="SMS_100", kind="marketing", body=BODY)
    first = PolicyFactory(status=Policy.Status.PUBLISHED, short_title="技改补助", audience_rule={"all": []},
                          apply_end=timezone.localdate() + datetime.timedelta(days=10))  # fmt: skip
    second = PolicyFactory(status=Policy.Status.PUBLISHED, short_title="人才安居", audience_rule={"all": []},
                           apply_end=timezone.localdate() + datetime.timedelta(days=40))  # fmt: skip
    firms = {
        "ok": EnterpriseFactory(short_name="芯睿微电子", contact_mobile="13812345678"),
        "opted_out": EnterpriseFactory(sms_opt_out=True),
        "no_mobile": EnterpriseFactory(contact_mobile=""),
        "told": EnterpriseFactory(),
        "capped": EnterpriseFactory(),
    }
    old = Campaign.objects.create(name="上次推送", template=template, status=Campaign.Status.COMPLETED)
    NotificationLedger.objects.create(enterprise=firms["told"], policy=first, campaign=old)
    NotificationLedger.objects.create(enterprise=firms["told"], policy=second, campaign=old)
    Message.objects.create(campaign=old, enterprise=firms["capped"], mobile="13900000000", policy_ids=[first.pk],
                           length=10, segments=1, status="sent")  # fmt: skip
    campaign = Campaign.objects.create(name="本次推送", template=template)
    campaign.policies.set([first, second])
    return campaign, firms, (first, second)


@pytest.fixture
def four_eyes(push_setup, settings):
    """Approval switched on: the campaign, a push operator and a push approver."""
    settings.SMS_LAUNCH_APPROVAL = True
    operator = UserFactory(username="operator", role=PUSH_OPERATOR)
    return push_setup[0], operator, UserFactory(username="approver", role=PUSH_APPROVER)


@pytest.fixture
def city(push_setup, monkeypatch):
    """Six more reachable firms, planned one firm per slice."""
    campaign, firms, policies = push_setup
    for n in range(6):
        EnterpriseFactory(contact_mobile=f"1370000000{n}")
    reset_index()  # the test's firms never announce themselves: its writes never commit
    monkeypatch.setattr(services, "PLAN_SLICE", 1)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PLANNING)  # launched
    campaign.refresh_from_db()
    return campaign


# --- real processes: a private Redis, the fake SMS platform, a Celery worker ---------------------------------


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture
def fake_platform(committed_db, tmp_path):
    """The fake platform in its own process, reading templates from the test database."""
    platform = FakePlatform(_worker_env()).start(tmp_path / "fake-port")
    yield platform
    platform.stop()


@pytest.fixture
def push_worker(private_redis, fake_platform, tmp_path):
    """A worker (2 processes, with beat) on its own Redis, sending through the fake platform with a fast watchdog."""
    env = {
        **_worker_env(),
        "REDIS_URL": private_redis.url,
        **fake_platform.backend_env(),
        "SMS_QUIET_HOURS": "off",
        "SMS_STUCK_AFTER": "3",
        "SMS_WATCHDOG_SECONDS": "1",
        "SMS_HTTP_TIMEOUT": "2",
        "SMS_TASK_CHUNK": "200",
    }
    worker = CeleryWorker(env, beat_file=tmp_path / "beat").start()
    yield worker
    worker.stop()
