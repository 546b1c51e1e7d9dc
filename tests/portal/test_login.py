"""Signing in with the USCC and an SMS code: hashed, short-lived, rate-limited, locked after guessing,
and never telling whether a firm is registered."""

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from enterprises.identity import SESSION_KEY
from portal.models import LoginCode
from portal.services import human_check
from tests.factories import EnterpriseFactory, make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(db):
    return EnterpriseFactory(name="无锡登录测试有限公司", contact_mobile="13700000001")


def send(client, uscc):
    return client.post("/login/", {"uscc": uscc, "action": "send"}).content.decode()


def verify(client, uscc, code, **extra):
    return client.post("/login/", {"uscc": uscc, "code": code, "action": "verify", **extra})


def solve(client) -> str:
    """The digits of a fresh human-check picture, read as a person would read them off the picture."""
    assert client.get("/login/check.png")["Content-Type"] == "image/png"
    return client.session[human_check.SESSION_KEY]["answer"]


def code_in(outbox) -> str:
    return re.search(r"验证码为(\d{6})", outbox()[-1]["text"]).group(1)


def test_a_code_goes_to_the_registered_mobile_and_signs_the_firm_in(client, firm, outbox):
    page = send(client, firm.uscc)
    assert "验证码已发送到登记的手机" in page and 'name="code"' in page
    [sms] = outbox()
    assert sms["mobile"] == "13700000001" and sms["text"].startswith("【无锡政务服务】您的惠企直达登录验证码为")
    code = code_in(outbox)
    stored = LoginCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64  # only a keyed hash is kept
    before = client.session.session_key
    response = verify(client, firm.uscc, code)
    assert response.status_code == 302 and response["Location"] == "/my/"
    assert client.session.session_key != before  # a new session on sign-in
    assert firm.name in client.get("/my/").content.decode()


def test_an_enterprise_signed_in_through_the_form_reads_its_own_package_api_and_no_other(client, firm, outbox):
    """The sign-in page and the API agree on who the session is (they once used two different session keys)."""
    other = EnterpriseFactory(name="无锡另一家有限公司")
    send(client, firm.uscc)
    assert verify(client, firm.uscc, code_in(outbox)).status_code == 302
    own = client.get(f"/api/matching/enterprises/{firm.uscc}/package/")
    assert own.status_code == 200 and own.json()["enterprise"]["uscc"] == firm.uscc
    assert client.get(f"/api/matching/enterprises/{other.uscc}/package/").status_code == 403
    client.post("/logout/")
    assert client.get(f"/api/matching/enterprises/{firm.uscc}/package/").status_code == 403


def test_an_unregistered_code_gets_the_same_answer_and_no_sms(client, firm, outbox):
    known, unknown = send(client, firm.uscc), send(Client(), make_uscc(424242))
    sentence = "如该统一社会信用代码已在平台登记手机号，验证码已发送到登记的手机"
    assert sentence in known and sentence in unknown
    assert len(outbox()) == 1
    response = verify(client, make_uscc(424242), "123456")
    assert "验证码错误或已过期" in response.content.decode()


def test_a_malformed_uscc_is_refused_with_the_reason(client, outbox):
    assert "统一社会信用代码" in send(client, "91320214ABC") and outbox() == []


def test_a_code_expires_after_five_minutes(client, firm, outbox):
    send(client, firm.uscc)
    code = code_in(outbox)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5, seconds=1)):
        assert "验证码错误或已过期" in verify(client, firm.uscc, code).content.decode()
    assert SESSION_KEY not in client.session


def test_a_code_is_void_after_five_wrong_tries(client, firm, outbox):
    send(client, firm.uscc)
    code = code_in(outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        verify(client, firm.uscc, wrong, check=solve(client))
    assert "验证码错误或已过期" in verify(client, firm.uscc, code, check=solve(client)).content.decode()


def test_the_firm_is_locked_after_ten_wrong_codes_in_an_hour(client, firm, outbox):
    for round_ in range(2):
        with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2 * round_)):
            send(client, firm.uscc)
            for _ in range(5):
                verify(client, firm.uscc, "999999" if code_in(outbox) != "999999" else "888888", check=solve(client))
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        send(client, firm.uscc)
        page = verify(client, firm.uscc, code_in(outbox), check=solve(client)).content.decode()
    assert "已暂时锁定" in page and SESSION_KEY not in client.session


def test_codes_cannot_be_requested_again_within_a_minute(client, firm, outbox):
    send(client, firm.uscc)
    assert "过于频繁" in send(client, firm.uscc) and len(outbox()) == 1


def test_one_address_sends_a_limited_number_of_codes(client, outbox):
    for n in range(20):
        send(client, make_uscc(500_000 + n))
    assert "请求过于频繁" in send(client, make_uscc(600_000))


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, firm, outbox):
    send(client, firm.uscc)
    code = code_in(outbox)
    assert verify(client, firm.uscc, code, next="https://evil.example/")["Location"] == "/my/"


def test_the_fixed_sms_link_leads_to_sign_in_then_the_package(client):
    response = client.get("/m")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/my/"


def test_sign_in_and_out_forms_need_their_csrf_token(firm):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"uscc": firm.uscc, "action": "send"}).status_code == 403
    assert strict.post("/logout/").status_code == 403
