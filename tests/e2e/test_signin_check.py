"""Signing in after wrong codes, in a real browser: the portal's own picture appears and has to be read."""

import re

import pytest
import requests
from playwright.sync_api import expect

from enterprises.models import Enterprise
from tests.e2e.conftest import wait_for_js

pytestmark = pytest.mark.slow


def test_after_three_wrong_codes_the_form_shows_a_picture_to_read(live_server, browser, demo_city, shots):
    firm = Enterprise.objects.exclude(contact_mobile="").order_by("id").first()
    page = browser.new_page(viewport={"width": 360, "height": 780})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("统一社会信用代码（18 位）").fill(firm.uscc)
    page.get_by_role("button", name="获取验证码").click()
    received = requests.get(f"{demo_city.url}/_fake/messages", timeout=10).json()
    code = re.search(r"验证码为(\d{6})", received[-1]["text"]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        page.get_by_label("短信验证码（6 位）").fill(wrong)
        page.get_by_role("button", name="登录").click()
        expect(page.locator(".messages")).to_contain_text("验证码错误或已过期")
    picture = page.get_by_role("img", name=re.compile("图形验证码"))
    expect(picture).to_be_visible()
    wait_for_js(page, "img => img.complete", arg=picture.element_handle())
    assert page.evaluate("img => img.naturalWidth", picture.element_handle()) == 150  # the PNG loaded
    shots(page, "login-human-check")
    page.get_by_label("短信验证码（6 位）").fill(code)
    page.get_by_label(re.compile("请输入下图中的 4 位数字")).fill("0000")  # misread
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".messages")).to_contain_text("请先正确输入图片中的数字")
    assert "/login/" in page.url
