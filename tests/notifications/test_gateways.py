"""Vendor gateways: request signing against the vendors' documented examples, and real HTTP calls to the
fake platform, which checks those signatures the way the vendors do."""

import datetime
import json
import threading
from urllib.parse import unquote

import pytest
import requests
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from notifications.gateways import Outcome, OutgoingSms, StuckSms, throttle
from notifications.gateways.aliyun import (
    AliyunGateway,
    encoded_json_objects,
    encoded_json_strings,
    percent_encode,
    rpc_signature,
)
from notifications.gateways.tencent import TencentGateway, tc3_authorization
from portal.dev.fakesms import Credentials, State, serve

BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"
CREDS = Credentials("ak-id", "ak-secret", "AKID-test", "tc-secret")


def test_aliyun_signature_matches_the_documented_example():
    # Aliyun's SMS signing example (AccessKeySecret testSecret, GET).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert rpc_signature(params, "testSecret", method="GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert percent_encode("a b*~/") == "a%20b%2A~%2F"


@given(st.lists(st.dictionaries(st.sampled_from(["name", "n", "policy", "link"]), st.text(), max_size=4), max_size=5))
def test_the_batch_parameters_are_encoded_exactly_as_their_json_would_be(items):
    # Built from encoded pieces for speed, the parameter must be the very bytes Aliyun decodes and signs:
    # quotes, backslashes, control characters, Chinese and emoji included.
    whole = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    assert encoded_json_objects(items) == percent_encode(whole)
    assert json.loads(unquote(encoded_json_objects(items))) == items
    texts = [v for item in items for v in item.values()]
    assert encoded_json_strings(texts) == percent_encode(json.dumps(texts, ensure_ascii=False, separators=(",", ":")))


def test_tencent_signature_matches_the_documented_example():
    # Tencent Cloud's TC3-HMAC-SHA256 example (CVM DescribeInstances, keys as printed in the docs).
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    header = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
        service="cvm",
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


@pytest.fixture
def platform():
    """The fake platform on a free port, in this process; templates registered under their codes."""
    state = State(credentials=CREDS, templates={"SMS_1": BODY, "1001": BODY}.get)
    server, stop = serve(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    stop.set()
    server.shutdown()
    server.server_close()


def sms(n: int, mobile: str | None = None) -> OutgoingSms:
    params = {"name": f"测试{n}公司", "n": "2", "policy": "技改补助", "link": f"https://hq.example/b/tok{n}"}
    return OutgoingSms(f"C1-{n}", mobile or f"1380000{n:04d}", params, "")


def aliyun(url: str, secret: str = "ak-secret") -> AliyunGateway:
    return AliyunGateway(endpoint=f"{url}/aliyun", key_id="ak-id", secret=secret)


def tencent(url: str) -> TencentGateway:
    return TencentGateway(endpoint=f"{url}/tencent", secret_id="AKID-test", secret_key="tc-secret", app_id="1400000001")


def test_aliyun_batch_is_accepted_and_the_phone_shows_the_rendered_text(platform):
    state, url = platform
    results = aliyun(url).send([sms(1), sms(2)], signature="无锡政务服务", template_code="SMS_1", call_id="c1-0")
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    received = state.by_mobile["13800000001"][0]
    expected = "测试1公司：您有2条惠企政策可申报，含“技改补助”等，详见 https://hq.example/b/tok1 拒收请回复R"
    assert received.text == "【无锡政务服务】" + expected
    assert received.call_id == "c1-0" and results[0].gateway_id == received.gateway_id


def test_a_wrong_secret_is_refused_and_nothing_is_sent(platform):
    state, url = platform
    results = aliyun(url, secret="guess").send([sms(1)], signature="无锡政务服务", template_code="SMS_1", call_id="c")
    assert results[0].outcome == Outcome.PERMANENT and "SignatureDoesNotMatch" in results[0].error
    assert state.counts["rejected_signatures"] == 1 and not state.by_mobile


def test_one_bad_number_does_not_sink_the_batch(platform):
    state, url = platform
    batch = [sms(1), sms(2, mobile="12345678901"), sms(3)]
    results = aliyun(url).send(batch, signature="无锡政务服务", template_code="SMS_1", call_id="c2-0")
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.PERMANENT, Outcome.ACCEPTED]
    assert "MOBILE_NUMBER_ILLEGAL" in results[1].error
    assert sorted(state.by_mobile) == ["13800000001", "13800000003"]


def test_a_5xx_is_temporary_and_a_timeout_is_unknown_until_the_platform_is_asked(platform, settings):
    state, url = platform
    gateway = aliyun(url)
    state.faults.error_rate = 1.0
    assert (
        gateway.send([sms(1)], signature="无锡政务服务", template_code="SMS_1", call_id="c3-0")[0].outcome
        == Outcome.TEMPORARY
    )
    assert not state.by_mobile  # refused: a resend cannot duplicate
    state.faults.error_rate, state.faults.timeout_rate, state.faults.timeout_seconds = 0.0, 1.0, 1.5
    settings.SMS_HTTP_TIMEOUT = 0.5
    result = gateway.send([sms(1), sms(2)], signature="无锡政务服务", template_code="SMS_1", call_id="c3-1")
    assert {r.outcome for r in result} == {Outcome.UNKNOWN}
    sent_at = timezone.now()
    stuck = [StuckSms("C1-1", "13800000001", "c3-1", sent_at), StuckSms("C1-9", "13800000009", "c3-1", sent_at)]
    assert gateway.accepted(stuck) == {"C1-1": True, "C1-9": False}  # taken despite the timeout; 9 never was


def test_tencent_sends_per_firm_parameters_one_number_a_request(platform):
    state, url = platform
    gateway = tencent(url)
    results = gateway.send([sms(1), sms(2)], signature="无锡政务服务", template_code="1001", call_id="t1-0")
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert state.counts["accepted"] == 2
    assert "tok2" in state.by_mobile["13800000002"][0].text
    assert {a.call_id for m in state.by_mobile.values() for a in m} == {"t1-0.0", "t1-0.1"}
    stuck = [StuckSms("C1-1", "13800000001", "t1-0", timezone.now() - datetime.timedelta(minutes=5))]
    assert gateway.accepted(stuck) == {"C1-1": True}


def test_tencent_refuses_a_forged_request(platform):
    state, url = platform
    forged = TencentGateway(endpoint=f"{url}/tencent", secret_id="AKID-test", secret_key="stolen?", app_id="1")
    result = forged.send([sms(1)], signature="无锡政务服务", template_code="1001", call_id="t2-0")[0]
    assert result.outcome == Outcome.PERMANENT and "AuthFailure.SignatureFailure" in result.error
    assert state.counts["rejected_signatures"] == 1


def test_the_fake_platform_answers_unknown_templates_as_the_vendor_would(platform):
    _, url = platform
    result = aliyun(url).send([sms(1)], signature="无锡政务服务", template_code="SMS_404", call_id="c")[0]
    assert result.outcome == Outcome.PERMANENT and "SMS_TEMPLATE_ILLEGAL" in result.error
    assert requests.get(f"{url}/_fake/stats", timeout=5).json()["accepted"] == 0


def test_throttle_holds_callers_to_the_configured_rate(monkeypatch):
    naps = []
    monkeypatch.setattr(throttle.time, "sleep", lambda s: (naps.append(s), throttle.limiter().storage.reset()))
    key = f"test-{timezone.now().timestamp()}"
    for _ in range(3):
        throttle.wait_for_slot(key, 3)
    assert naps == []  # three calls fit in one second
    throttle.wait_for_slot(key, 3)
    assert len(naps) == 1 and 0 < naps[0] <= 1.0  # the fourth waited for the window
