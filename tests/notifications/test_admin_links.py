"""Staff never see a firm's full link token: the link is the firm's key to its page, where it reacts,
rates and unsubscribes, so an operator who could open it could act as the firm."""

import pytest

from notifications import services
from notifications.models import Message
from portal.roles import PUSH_OPERATOR
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]


@pytest.mark.parametrize("role", [PUSH_OPERATOR, None])
def test_the_admin_message_list_and_page_never_show_a_full_token(push_setup, client, role):
    campaign, _, _ = push_setup
    services.campaign_plan(campaign=campaign)
    message = Message.objects.get(campaign=campaign)
    staff = UserFactory(username="staff", role=role, is_superuser=role is None)
    client.force_login(staff)
    pages = [
        client.get("/admin/notifications/message/"),
        client.get(f"/admin/notifications/message/?campaign__id__exact={campaign.pk}"),
        client.get(f"/admin/notifications/message/{message.pk}/change/"),
        client.get(f"/admin/notifications/campaign/{campaign.pk}/change/"),
    ]
    assert all(page.status_code == 200 for page in pages)
    assert all(message.token not in page.content.decode() for page in pages)
    detail = pages[2].content.decode()
    assert f"/b/{message.token[:4]}…" in detail  # enough to tell links apart
