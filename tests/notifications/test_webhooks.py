"""What the vendors post back: receipts (authenticated, idempotent, answered per vendor) and replies."""

import json

import pytest
from django.urls import reverse

from enterprises.models import Enterprise
from notifications import services
from notifications.models import Campaign, InboundSms, Message, SmsTemplate
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching", "eager_tasks")]
BODY = "{企业简称}：您有{n}条惠企政策可申报，详见 {link} 拒收请回复R"


@pytest.fixture
def sent(settings):
    """Two firms' messages, sent in one call c9-0."""
    template = SmsTemplate.objects.create(name="政策包", code="SMS_1", body=BODY)
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule={"all": []})
    EnterpriseFactory(contact_mobile="13900000001")
    EnterpriseFactory(contact_mobile="13900000002")
    campaign = Campaign.objects.create(name="推送", template=template, status=Campaign.Status.PLANNING)
    campaign.policies.set([policy])
    services.campaign_plan(campaign=campaign)
    first = Message.objects.filter(campaign=campaign).order_by("pk").first().pk
    Message.objects.filter(campaign=campaign).update(status="sent", call_id=f"c9-ab12-{first}")
    return campaign


def post(client, vendor, kind, payload, secret="dev-webhook-secret"):
    url = reverse(f"notifications:{kind}", args=[vendor, secret])
    return client.post(url, json.dumps(payload, ensure_ascii=False), content_type="application/json")


def call_of(mobile):
    return Message.objects.get(mobile=mobile).call_id


def aliyun_receipt(mobile, success=True, out_id=None):
    out_id = out_id or call_of(mobile)
    return {
        "phone_number": mobile,
        "send_time": "2026-11-23 09:00:00",
        "report_time": "2026-11-23 09:00:05",
        "success": success,
        "err_code": "DELIVERED" if success else "MK:0001",
        "err_msg": "用户接收成功" if success else "空号",
        "sms_size": "1",
        "biz_id": "12345^0",
        "out_id": out_id,
    }


def status_of(mobile):
    return Message.objects.values_list("status", "error").get(mobile=mobile)


def test_an_aliyun_receipt_marks_delivery_and_gets_the_vendors_answer(client, sent):
    response = post(client, "aliyun", "receipts", [aliyun_receipt("13900000001"), aliyun_receipt("13900000002", False)])
    assert response.json() == {"code": 0, "msg": "接收成功"}
    assert status_of("13900000001") == ("delivered", "")
    assert status_of("13900000002") == ("permanent-failure", "MK:0001：空号")
    assert Message.objects.get(mobile="13900000001").delivered_at is not None


def test_a_tencent_receipt_uses_its_own_format(client, sent):
    receipt = {
        "user_receive_time": "2026-11-23 09:00:05",
        "nationcode": "86",
        "mobile": "13900000001",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "x1",
        "ext": call_of("13900000001"),
    }
    assert post(client, "tencent", "receipts", [receipt]).json() == {"result": 0, "errmsg": "OK"}
    assert status_of("13900000001")[0] == "delivered"


def test_a_forged_receipt_is_refused_and_changes_nothing(client, sent):
    response = post(client, "aliyun", "receipts", [aliyun_receipt("13900000001", False)], secret="guessed")
    assert response.status_code == 403
    assert status_of("13900000001") == ("sent", "")


def test_a_repeated_receipt_changes_nothing_more(client, sent):
    post(client, "aliyun", "receipts", [aliyun_receipt("13900000001")])
    first = Message.objects.get(mobile="13900000001").delivered_at
    post(client, "aliyun", "receipts", [aliyun_receipt("13900000001", success=False)])  # late, contradictory repeat
    assert status_of("13900000001") == ("delivered", "")
    assert Message.objects.get(mobile="13900000001").delivered_at == first


def test_a_receipt_for_another_call_touches_nothing(client, sent):
    post(client, "aliyun", "receipts", [aliyun_receipt("13900000001", out_id="c9-ffff-1")])
    assert status_of("13900000001")[0] == "sent"


def test_garbage_is_refused_with_a_reason(client, sent):
    assert post(client, "aliyun", "receipts", {"not": "a list"}).status_code == 400
    url = reverse("notifications:receipts", args=["aliyun", "dev-webhook-secret"])
    assert client.post(url, "{", content_type="application/json").status_code == 400


@pytest.mark.parametrize("word", ["R", "td", "退订", " T "])
def test_an_opt_out_reply_stops_every_sms_to_that_number(client, sent, word):
    Message.objects.filter(mobile="13900000002").update(status="created")
    reply = [
        {
            "phone_number": "13900000002",
            "send_time": "2026-11-23 09:01:00",
            "content": word,
            "sign_name": "无锡政务服务",
            "dest_code": "1234",
            "sequence_id": 1,
        }
    ]
    assert post(client, "aliyun", "replies", reply).json() == {"code": 0, "msg": "接收成功"}
    firm = Enterprise.objects.get(contact_mobile="13900000002")
    assert firm.sms_opt_out and firm.sms_opt_out_at is not None
    assert status_of("13900000002")[0] == "cancelled"  # the waiting message will not go out
    assert InboundSms.objects.get().opted_out == 1


def test_other_replies_are_kept_without_opting_out(client, sent):
    reply = {
        "extend": "",
        "mobile": "13900000001",
        "nationcode": "86",
        "sign": "无锡政务服务",
        "text": "请问怎么申报",
        "time": 1795000000,
    }
    assert post(client, "tencent", "replies", reply).json() == {"result": 0, "errmsg": "OK"}
    assert not Enterprise.objects.get(contact_mobile="13900000001").sms_opt_out
    assert InboundSms.objects.get().text == "请问怎么申报"


def test_opted_out_firms_are_left_out_of_the_next_push(client, sent):
    post(client, "aliyun", "replies", [{"phone_number": "13900000001", "content": "R"}])
    campaign = Campaign.objects.create(name="第二批", template=sent.template, force_reminder=True, daily_cap=2)
    campaign.policies.set(sent.policies.all())
    preview = services.campaign_preview(campaign=campaign)
    assert preview.excluded["opted_out"] == 1 and preview.recipients == 1


# --- Bad input with the right secret: a clear answer, never a 500, and the rest of the batch counts ----------


def post_raw(client, vendor, kind, body: str):
    url = reverse(f"notifications:{kind}", args=[vendor, "dev-webhook-secret"])
    return client.post(url, body, content_type="application/json")


@pytest.mark.parametrize("report_time", ["Infinity", "1e400", "-Infinity", "NaN", '"99999999999999999999"'])
def test_a_receipt_with_an_impossible_time_is_left_out_and_the_rest_of_its_batch_counts(client, sent, report_time):
    bad = json.dumps(aliyun_receipt("13900000001"), ensure_ascii=False).replace(
        '"report_time": "2026-11-23 09:00:05"', f'"report_time": {report_time}'
    )
    good = json.dumps(aliyun_receipt("13900000002"), ensure_ascii=False)
    response = post_raw(client, "aliyun", "receipts", f"[{bad}, {good}]")
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "接收成功"}
    assert status_of("13900000001")[0] == "sent"  # left out: no time a handset could have received it
    assert status_of("13900000002")[0] == "delivered"


def test_deeply_nested_json_is_refused_with_a_reason(client, sent):
    response = post_raw(client, "aliyun", "receipts", "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400 and response.json() == {"code": 1, "msg": "回调内容嵌套过深，无法解析。"}
    response = post_raw(client, "tencent", "replies", '{"mobile": ' * 50_000 + "1" + "}" * 50_000)
    assert response.status_code == 400 and "嵌套过深" in response.json()["errmsg"]


@pytest.mark.parametrize("field", ["phone_number", "err_msg", "biz_id"])
@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone-surrogate"])
def test_a_receipt_with_characters_no_database_stores_is_left_out(client, sent, field, bad):
    receipt = aliyun_receipt("13900000001", success=False)
    receipt[field] += bad
    body = json.dumps([receipt, aliyun_receipt("13900000002")])  # ASCII escapes: \u0000, \ud800
    response = post_raw(client, "aliyun", "receipts", body)
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "接收成功"}
    assert status_of("13900000001") == ("sent", "") and status_of("13900000002")[0] == "delivered"


def test_a_reply_with_a_nul_is_left_out_and_the_rest_of_its_batch_counts(client, sent):
    replies = [{"phone_number": "13900000001", "content": "R\x00"}, {"phone_number": "13900000002", "content": "R"}]
    response = post_raw(client, "aliyun", "replies", json.dumps(replies))
    assert response.json() == {"code": 0, "msg": "接收成功"}
    assert list(InboundSms.objects.values_list("mobile", "text")) == [("13900000002", "R")]
    assert list(Enterprise.objects.filter(sms_opt_out=True).values_list("contact_mobile", flat=True)) == ["13900000002"]


def test_a_tencent_reply_that_cannot_be_stored_is_refused_with_a_reason(client, sent):
    response = post_raw(client, "tencent", "replies", json.dumps({"mobile": "13900000001", "text": "退订\x00"}))
    assert response.status_code == 400 and response.json()["result"] == 1 and "上行短信" in response.json()["errmsg"]
    assert not InboundSms.objects.exists() and not Enterprise.objects.filter(sms_opt_out=True).exists()


def test_a_batch_with_nothing_readable_is_refused_with_a_reason(client, sent):
    response = post(client, "tencent", "receipts", [1, "x", {"ext": call_of("13900000001")}])
    assert response.status_code == 400
    assert response.json() == {"result": 1, "errmsg": "回执中没有一条可以读取（缺少字段或内容无效）。"}
    assert status_of("13900000001")[0] == "sent"


def test_a_receipt_naming_a_block_beyond_any_message_id_is_left_out(client, sent):
    stray = aliyun_receipt("13900000001", out_id="c9-ab12-99999999999999999999")
    response = post(client, "aliyun", "receipts", [stray, aliyun_receipt("13900000002")])
    assert response.status_code == 200
    assert status_of("13900000001")[0] == "sent" and status_of("13900000002")[0] == "delivered"
