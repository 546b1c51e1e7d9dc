"""The project's own error pages: plain Chinese and a way back, never Django's technical pages in production.

With ``DEBUG`` on (development), Django shows its technical 404 and 500 pages instead: that is what a
developer wants, and why these tests turn it off."""

import pytest
from django.test import Client

from portal import selectors

pytestmark = pytest.mark.django_db


def test_an_unknown_policy_gets_the_project_404_page_with_the_way_back(client, settings):
    settings.DEBUG = False
    response = client.get("/policies/99999/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "没有找到这个页面" in page and "政策不存在或尚未发布" in page
    assert 'href="/">回到首页</a>' in page and 'href="/policies/">浏览全部惠企政策</a>' in page
    assert "Page not found" not in page and "Resolver404" not in page


def test_an_unknown_address_gets_the_same_page_without_internals(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404 and "没有找到这个页面" in page and "no-such-page" not in page


def test_a_server_error_gets_the_project_500_page(settings, monkeypatch):
    settings.DEBUG = False

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "browse_choices", broken)
    response = Client(raise_request_exception=False).get("/policies/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "系统暂时出了点问题" in page and 'href="/">回到首页</a>' in page and "boom" not in page
