"""Sending: statuses move forward only, nothing twice, failures end in a state that says why."""

import datetime
import json
import re

import pytest
from django.utils import timezone

from notifications import dispatch, services
from notifications.gateways import Gateway, Outcome, SendResult, get_gateway
from notifications.gateways.local import FileGateway
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


class ScriptedGateway(Gateway):
    """Answers each message by its mobile's last digit: 0 accepted, 1 temporary, 2 permanent, 3 timeout."""

    batch_size = 3
    OUTCOMES = {"0": Outcome.ACCEPTED, "1": Outcome.TEMPORARY, "2": Outcome.PERMANENT, "3": Outcome.UNKNOWN}

    def __init__(self):
        self.calls: list[list[str]] = []
        self.call_ids: list[str] = []
        self.accepted_ids: set[str] | None = set()

    def send(self, messages, *, signature, template_code, call_id):
        self.calls.append([m.out_id for m in messages])
        self.call_ids.append(call_id)
        return [SendResult(m.out_id, self.OUTCOMES[m.mobile[-1]], gateway_id=f"g-{m.out_id}", error="空号")
                for m in messages]  # fmt: skip

    def accepted(self, stuck):
        if self.accepted_ids is None:
            return None
        return {sms.out_id: sms.out_id in self.accepted_ids for sms in stuck}


@pytest.fixture
def gateway(monkeypatch, settings):
    settings.SMS_TASK_CHUNK = ScriptedGateway.batch_size  # one call per task unless a test says otherwise
    scripted = ScriptedGateway()
    monkeypatch.setattr(dispatch, "get_gateway", lambda: scripted)
    return scripted


@pytest.fixture
def planned(fresh_matching):
    template = SmsTemplate.objects.create(name="政策包", code="SMS_100", kind="marketing", body=BODY)
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})
    for last_digit in "0012303":
        EnterpriseFactory(contact_mobile=f"1381234567{last_digit}")
    campaign = Campaign.objects.create(name="推送", template=template, status=Campaign.Status.SENDING)
    campaign.policies.set([policy])
    services.campaign_plan(campaign=campaign)
    return campaign


def statuses(campaign):
    return sorted(Message.objects.filter(campaign=campaign).values_list("enterprise__contact_mobile", "status"))


def send_all(campaign):
    for first, last in dispatch.campaign_chunks(campaign_id=campaign.pk):
        dispatch.send_chunk(campaign_id=campaign.pk, first_id=first, last_id=last)


def test_chunks_are_whole_gateway_calls_and_each_call_has_its_own_id(planned, gateway, settings):
    settings.SMS_TASK_CHUNK = 7  # two calls of 3 per task
    chunks = dispatch.campaign_chunks(campaign_id=planned.pk)
    assert len(chunks) == 2  # 7 messages, 6 per task
    send_all(planned)
    assert [len(call) for call in gateway.calls[:3]] == [3, 3, 1]
    assert len(set(gateway.call_ids)) == len(gateway.call_ids)
    # Each message is stamped, before the call, with the id of the call that carried it: receipts and the
    # watchdog find it by that id.
    carried = {int(out_id): call_id for call_id, out_ids in zip(gateway.call_ids, gateway.calls, strict=True)
               for out_id in out_ids}  # fmt: skip
    assert dict(Message.objects.filter(campaign=planned).values_list("pk", "call_id")) == carried


def test_each_outcome_ends_in_its_own_state(planned, gateway):
    send_all(planned)
    got = dict(Message.objects.filter(campaign=planned).values_list("enterprise__contact_mobile", "status"))
    assert got["13812345670"] == "sent"
    assert got["13812345671"] == "created"  # temporary: back in line for the retry
    assert got["13812345672"] == "permanent-failure"
    assert got["13812345673"] == "sending"  # timed out: left for the watchdog to check, not resent
    assert Message.objects.get(enterprise__contact_mobile="13812345672").error == "空号"


def test_a_chunk_run_twice_sends_nothing_twice(planned, gateway):
    # The chunk holding the firm whose gateway answers "try again" (ids follow the plan's order, not the firms').
    temporary = Message.objects.get(enterprise__contact_mobile="13812345671").pk
    [(first, last)] = [c for c in dispatch.campaign_chunks(campaign_id=planned.pk) if c[0] <= temporary <= c[1]]
    dispatch.send_chunk(campaign_id=planned.pk, first_id=first, last_id=last)
    dispatch.send_chunk(campaign_id=planned.pk, first_id=first, last_id=last)  # e.g. redelivered after a crash
    sent = [out_id for call in gateway.calls for out_id in call]
    assert len(sent) == len(set(sent)) + 1  # only the temporary failure was tried again
    assert Message.objects.get(enterprise__contact_mobile="13812345671").attempts == 2


def test_temporary_failures_give_up_after_the_cap(planned, gateway):
    for _ in range(dispatch.MAX_ATTEMPTS + 2):
        send_all(planned)
    message = Message.objects.get(enterprise__contact_mobile="13812345671")
    assert (message.status, message.attempts) == ("technical-failure", dispatch.MAX_ATTEMPTS)


def test_watchdog_asks_the_gateway_before_resending(planned, gateway):
    send_all(planned)
    stuck = Message.objects.filter(status="sending")
    assert stuck.count() == 2
    accepted, lost = stuck.order_by("id")
    gateway.accepted_ids = {str(accepted.pk)}
    later = timezone.now() + dispatch.stuck_after() + datetime.timedelta(seconds=1)
    dispatch.reconcile_stuck(now=later)
    accepted.refresh_from_db()
    lost.refresh_from_db()
    assert (accepted.status, lost.status) == ("sent", "created")  # only the lost one will be sent again
    gateway.accepted_ids = None  # a gateway that cannot tell: wait, then give up with a reason
    Message.objects.filter(pk=lost.pk).update(status="sending")
    dispatch.reconcile_stuck(now=later)
    lost.refresh_from_db()
    assert lost.status == "sending"
    dispatch.reconcile_stuck(now=timezone.now() + dispatch.GIVE_UP_AFTER + datetime.timedelta(minutes=1))
    lost.refresh_from_db()
    assert lost.status == "technical-failure" and "无法确认" in lost.error


def test_cancel_stops_everything_not_yet_sent(planned, gateway):
    first, last = dispatch.campaign_chunks(campaign_id=planned.pk)[0]
    dispatch.send_chunk(campaign_id=planned.pk, first_id=first, last_id=last)
    operator = UserFactory(username="op", is_superuser=True)
    dispatch.campaign_cancel(campaign=planned, user=operator)
    before = len(gateway.calls)
    send_all(planned)
    assert len(gateway.calls) == before  # nothing further went to the gateway
    assert Message.objects.filter(campaign=planned, status="created").count() == 0
    assert Message.objects.filter(campaign=planned, status="cancelled").count() >= 4


@pytest.mark.parametrize(
    ("clock", "starts"),
    [
        ("2026-11-22 20:59", None),
        ("2026-11-22 21:00", "2026-11-23 08:00"),
        ("2026-11-23 03:30", "2026-11-23 08:00"),
        ("2026-11-23 08:00", None),
    ],
)
def test_quiet_hours_move_a_night_launch_to_eight_in_the_morning(clock, starts, settings):
    settings.SMS_QUIET_HOURS = (21, 8)
    now = datetime.datetime.fromisoformat(clock).replace(tzinfo=SHANGHAI)
    result = dispatch.quiet_until(now)
    assert (result and timezone.localtime(result).strftime("%Y-%m-%d %H:%M")) == starts


def test_the_file_gateway_writes_an_outbox_the_demo_can_show(planned, tmp_path, monkeypatch):
    outbox = FileGateway(tmp_path / "outbox.jsonl")
    monkeypatch.setattr(dispatch, "get_gateway", lambda: outbox)
    send_all(planned)
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == Message.objects.filter(campaign=planned).count() == 7
    assert all(line["text"].startswith("【无锡政务服务】") and "/b/" in line["text"] for line in lines)
    assert Message.objects.filter(campaign=planned, status="sent").count() == 7
    assert dispatch.close_finished() == 1


def test_an_unknown_backend_is_a_clear_error(settings):
    get_gateway.cache_clear()
    with pytest.raises(ValueError, match="未知的短信通道"):
        get_gateway("carrier-pigeon")


def test_admin_shows_the_preview_and_launches_with_permission(
    client, fresh_matching, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    template = SmsTemplate.objects.create(name="政策包", code="SMS_100", kind="marketing", body=BODY)
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})
    EnterpriseFactory(contact_mobile="13812345670")
    EnterpriseFactory(sms_opt_out=True)
    campaign = Campaign.objects.create(name="后台推送", template=template)
    campaign.policies.set([policy])
    client.force_login(UserFactory(username="boss", is_superuser=True))
    page = client.get(reverse("admin:notifications_campaign_change", args=[campaign.pk])).content.decode()
    assert "实际发送 <strong>1</strong> 家" in page and "已退订短信" in page and "发起推送（1 家企业）" in page
    # Asked once, with the numbers: a launch without the ticked confirmation starts nothing.
    assert "我已核对：将向 <strong>1</strong> 家企业各发送 1 条短信" in page and "条计费短信，预计费用" in page
    url = reverse("admin:notifications_campaign_launch", args=[campaign.pk])
    refused = client.post(url, follow=True).content.decode()
    assert "请先核对并勾选发送确认" in refused
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    confirm = re.search(r'name="confirm" value="([^"]+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url, {"confirm": confirm})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PLANNING
    progress = client.get(reverse("admin:notifications_campaign_progress", args=[campaign.pk])).json()
    assert progress["status"] == "生成短信中" and progress["planned"] == 0


def test_a_template_breaking_the_rules_cannot_be_saved_in_the_admin(client):
    from django.urls import reverse

    client.force_login(UserFactory(username="boss2", is_superuser=True))
    form = {"name": "x", "code": "SMS_1", "kind": "marketing", "body": "【广告】您有新政策 {link}"}
    response = client.post(reverse("admin:notifications_smstemplate_add"), form)
    page = response.content.decode()
    assert "正文中不能出现【】" in page and "必须以退订提示结尾" in page
    assert not SmsTemplate.objects.exists()
