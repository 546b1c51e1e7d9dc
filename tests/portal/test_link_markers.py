"""Policy text cannot reach into the link page's per-visitor slots: the private-use characters that mark
them, when found in content, are just text; and a page whose slots cannot be filled is rendered in full."""

import pytest
from django.test import Client

from notifications.models import Campaign, Message, SmsTemplate
from notifications.services import campaign_plan
from policies.models import Policy
from portal.views import link
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db

FORGED = "申报须知：\ue000name\ue001、\ue000csrf\ue001、\ue000token\ue001、\ue000nosuch\ue001、\ue0000\ue001。"


@pytest.fixture
def forged(pushed):
    """A policy whose text holds the marker characters around slot names, pushed to firm a."""
    firms, _ = pushed
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, title="含特殊字符的政策", summary=FORGED,
                           audience_rule={"all": [{"field": "region", "op": "in", "value": ["320214"]}]})  # fmt: skip
    campaign = Campaign.objects.create(name="特殊字符", template=SmsTemplate.objects.get(), daily_cap=5)
    campaign.policies.set([policy])
    campaign_plan(campaign=campaign)
    firm = firms["a"][0]
    return firm, Message.objects.get(campaign=campaign, enterprise=firm)


def test_marker_characters_in_policy_text_print_neither_the_visitors_name_nor_its_csrf_token(forged):
    firm, message = forged
    for visitor in (Client(), Client()):  # the first opening builds the page's shape, the second reuses it
        response = visitor.get(f"/b/{message.token}")
        page = response.content.decode()
        assert response.status_code == 200
        assert FORGED in page  # shown as the text it is
        assert f"申报须知：{firm.name}" not in page and message.token not in page.split("申报须知：")[1][:80]
        assert response.cookies["csrftoken"].value not in page.split("申报须知：")[1][:200]


def test_a_page_whose_slots_cannot_be_filled_is_rendered_in_full(forged, monkeypatch):
    firm, message = forged

    def broken(parts, values):
        raise KeyError("slot")

    monkeypatch.setattr(link, "_fill", broken)
    response = Client().get(f"/b/{message.token}")
    page = response.content.decode()
    assert response.status_code == 200 and firm.name in page and "含特殊字符的政策" in page
    assert 'name="csrfmiddlewaretoken"' in page
