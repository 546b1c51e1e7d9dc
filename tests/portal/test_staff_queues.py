"""The staff queues enterprises fill from the portal (好差评, 纠错), worked by the 服务专员 role."""

import datetime
import json
import logging
import re
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from enterprises.models import EnterpriseTag, PortraitTag
from notifications.gateways.local import FileGateway
from notifications.sms_rules import check_template, sms_length
from portal.models import PolicyRating, TagCorrection
from portal.roles import SERVICE_DESK
from portal.services import feedback
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def desk():
    user = UserFactory(username="desk", is_staff=True)
    user.groups.add(Group.objects.get(name=SERVICE_DESK))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def queue_items():
    enterprise = EnterpriseFactory(name="无锡队列测试有限公司")
    tag = PortraitTag.objects.get(code="QUAL01")
    EnterpriseTag.objects.create(enterprise=enterprise, tag=tag, source=EnterpriseTag.Source.IMPORT)
    rating = PolicyRating.objects.create(
        enterprise=enterprise, policy=PolicyFactory(), rating="bad", comment="材料要求不清楚"
    )
    correction = TagCorrection.objects.create(enterprise=enterprise, tag=tag, action="remove", reason="证书已过期")
    return enterprise, tag, rating, correction


def test_the_service_desk_role_sees_both_queues_and_works_them(desk, queue_items):
    enterprise, tag, rating, correction = queue_items
    assert "材料要求不清楚"[:10] in desk.get("/admin/portal/policyrating/").content.decode()
    assert enterprise.name in desk.get("/admin/portal/tagcorrection/").content.decode()
    desk.post(f"/admin/portal/policyrating/{rating.pk}/change/", {"status": "replied", "reply": "已补充材料清单。"})
    rating.refresh_from_db()
    assert rating.status == "replied" and rating.handled_by.username == "desk"
    desk.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "approve", "review_note": "核实"})
    assert TagCorrection.objects.get().status == "approved"
    assert not EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).exists()


def test_a_correction_saved_without_a_decision_changes_nothing_and_says_what_is_missing(desk, queue_items):
    enterprise, tag, _, correction = queue_items
    page = desk.get(f"/admin/portal/tagcorrection/{correction.pk}/change/").content.decode()
    assert '<option value="" selected>请选择审核结论</option>' in page
    response = desk.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"review_note": ""})
    assert "请选择审核结论：采纳或不采纳。" in response.content.decode()
    assert TagCorrection.objects.get().status == "pending"
    assert EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).exists()


def test_a_rating_is_never_deleted_not_even_by_a_superuser(queue_items):
    _, _, rating, _ = queue_items
    admin = Client()
    admin.force_login(UserFactory(username="root", is_superuser=True))
    assert admin.post(f"/admin/portal/policyrating/{rating.pk}/delete/", {"post": "yes"}).status_code == 403
    admin.post(
        "/admin/portal/policyrating/", {"action": "delete_selected", "_selected_action": [rating.pk], "post": "yes"}
    )
    assert PolicyRating.objects.filter(pk=rating.pk).exists()


def test_queue_messages_name_the_tag_not_its_id(desk, queue_items):
    _, tag, _, correction = queue_items
    page = desk.post(
        f"/admin/portal/tagcorrection/{correction.pk}/change/",
        {"decision": "reject", "review_note": "名单仍有"},
        follow=True,
    ).content.decode()
    assert f"该标签有误，应去除：{tag.name}" in page and f"应去除：{tag.pk}" not in page


# --- replies, the SMS that tells the enterprise, both kinds of correction, and how long items wait ---------


@pytest.fixture
def reply_outbox(tmp_path, monkeypatch):
    """Reply notices go to a file outbox the test can read, as the phone would."""
    gateway = FileGateway(tmp_path / "outbox.jsonl")
    monkeypatch.setattr(feedback, "get_gateway", lambda: gateway)
    return lambda: [json.loads(x) for x in gateway.path.read_text().splitlines()] if gateway.path.exists() else []


def test_writing_a_reply_makes_the_rating_replied_even_when_the_status_was_left_at_received(desk, queue_items):
    *_, rating, _ = queue_items
    page = desk.get(f"/admin/portal/policyrating/{rating.pk}/change/").content.decode()
    assert "填写答复后保存，状态自动变为“已回复”。" in page
    desk.post(f"/admin/portal/policyrating/{rating.pk}/change/", {"status": "received", "reply": "已补充材料清单。"})
    rating.refresh_from_db()
    assert (rating.status, rating.reply) == (PolicyRating.Status.REPLIED, "已补充材料清单。")


@pytest.mark.django_db(transaction=True)
def test_短信告知企业_sends_one_notice_and_logs_only_the_masked_number(
    committed_db, desk, queue_items, reply_outbox, caplog
):
    """The SMS goes once the reply is committed (a real commit here, so the page's message is seen)."""
    enterprise, _, rating, _ = queue_items
    url = f"/admin/portal/policyrating/{rating.pk}/change/"
    assert "保存后发送一条短信到企业登记的手机（138****5678）" in desk.get(url).content.decode()
    desk.post(url, {"status": "received", "reply": "已补充材料清单。"})
    assert reply_outbox() == []  # no SMS unless asked for

    caplog.set_level(logging.INFO)
    response = desk.post(url, {"status": "replied", "reply": "已补充材料清单。", "notify_sms": "on"}, follow=True)
    assert "已发送短信告知企业（138****5678）。" in response.content.decode()
    [sms] = reply_outbox()
    assert sms["mobile"] == enterprise.contact_mobile and sms["template"] == settings.SMS_REPLY_TEMPLATE
    expected = f"{enterprise.name}：您对“技术改造补助”的评价已有答复，请登录惠企直达查看。"
    assert sms["text"] == f"【{settings.SMS_SIGNATURE}】{expected}"
    assert "138****5678" in caplog.text and enterprise.contact_mobile not in caplog.text


def test_短信告知企业_without_a_reply_is_refused_and_sends_nothing(desk, queue_items, reply_outbox):
    *_, rating, _ = queue_items
    response = desk.post(f"/admin/portal/policyrating/{rating.pk}/change/", {"status": "handled", "notify_sms": "on"})
    assert "请先填写答复，再短信告知企业。" in response.content.decode()
    assert reply_outbox() == []


def test_the_reply_notice_is_a_valid_notice_template_that_fits_one_sms():
    body = settings.SMS_REPLY_TEMPLATE_BODY
    assert check_template(body=body, signature=settings.SMS_SIGNATURE, marketing=False).ok
    text = body.replace("{企业简称}", "无锡甲芯科技有限公司").replace("{政策简称}", "十二个字的政策简称示例")
    assert sms_length(text, settings.SMS_SIGNATURE) <= 70


def test_a_request_to_add_a_missing_tag_is_approved_in_the_admin(desk, queue_items):
    enterprise, *_ = queue_items
    missing = PortraitTag.objects.get(code="QUAL02")
    correction = TagCorrection.objects.create(enterprise=enterprise, tag=missing, action="add", reason="已获认定")
    url = f"/admin/portal/tagcorrection/{correction.pk}/change/"
    page = desk.get(url).content.decode()
    assert "缺少该标签，应添加" in page and "企业是否已有该标签" in page
    desk.post(url, {"decision": "approve", "review_note": "证书核实"})
    correction.refresh_from_db()
    assert correction.status == TagCorrection.Status.APPROVED
    link = EnterpriseTag.objects.get(enterprise=enterprise, tag=missing)
    assert link.source == EnterpriseTag.Source.CORRECTION


def test_queue_lists_show_working_days_waited_and_a_light(desk, settings):
    """Counted on the Chinese calendar: 2025's National Day holidays (1–8 October) do not count, and the
    make-up working Saturday of 11 October does."""
    at = lambda day: datetime.datetime(2025, *day, 10, 0, tzinfo=SHANGHAI)  # noqa: E731
    enterprise = EnterpriseFactory()
    tag = PortraitTag.objects.get(code="QUAL01")
    bad = PolicyRating.objects.create(
        enterprise=enterprise, policy=PolicyFactory(), rating="bad", created_at=at((9, 30))
    )
    PolicyRating.objects.create(enterprise=enterprise, policy=PolicyFactory(), rating="good", created_at=at((10, 9)))
    PolicyRating.objects.create(
        enterprise=enterprise,
        policy=PolicyFactory(),
        rating="good",
        status="replied",
        reply="谢谢",
        created_at=at((9, 1)),
    )
    TagCorrection.objects.create(enterprise=enterprise, tag=tag, action="add", reason="已认定", created_at=at((10, 3)))
    with time_machine.travel(at((10, 13)), tick=False):
        ratings = desk.get("/admin/portal/policyrating/").content.decode()
        corrections = desk.get("/admin/portal/tagcorrection/").content.decode()
        settings.QUEUE_DEADLINES = {**settings.QUEUE_DEADLINES, "correction": 10}
        relaxed = desk.get("/admin/portal/tagcorrection/").content.decode()
    lights = lambda page: re.findall(r'queue-light-(\w+)".*?</span> (\S+) · 已等 (\d+) 个工作日', page)  # noqa: E731
    assert lights(ratings) == [("green", "正常", "3"), ("red", "超期", "4")]  # newest first: the good one, the 差评
    assert "已答复" in ratings
    assert f"/admin/portal/policyrating/{bad.pk}/change/" in ratings
    assert lights(corrections) == [("yellow", "临期", "4")]  # due 14 October
    assert lights(relaxed) == [("green", "正常", "4")]
