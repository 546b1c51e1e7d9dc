"""What the sign-in page says after a code is sent: where it went, without saying whether the firm is
registered or which number it has, and what to do when the registered mobile is wrong."""

import re

import pytest

from tests.factories import EnterpriseFactory, make_uscc

pytestmark = pytest.mark.django_db


def page_after_sending(client, uscc: str) -> str:
    page = client.post("/login/", {"uscc": uscc, "action": "send"}).content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page).replace(uscc, "USCC")


def test_after_a_code_is_sent_the_page_says_where_it_went_the_same_for_any_uscc(client, outbox):
    firm = EnterpriseFactory(name="无锡登录页测试有限公司", contact_mobile="13912345678")
    registered = page_after_sending(client, firm.uscc)
    unregistered = page_after_sending(client, make_uscc(77_777_777))
    assert len(outbox()) == 1  # only the registered firm got an SMS
    assert "验证码发往贵企业在平台登记的手机" in registered
    assert registered == unregistered  # nothing tells a registered firm from an unregistered one
    assert "5678" not in registered and "139" not in registered  # nor shows any part of its number


def test_the_sign_in_page_says_what_to_do_when_the_registered_mobile_is_wrong(client):
    page = client.get("/login/").content.decode()
    assert "登记的手机号有误、已停用，或收不到验证码？" in page and "申请更正" in page and "12345" in page
