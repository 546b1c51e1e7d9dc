"""The page behind the SMS link: no sign-in, one firm's bundle and why, actions, and nothing of anyone else."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from enterprises.models import Enterprise
from notifications.models import Message
from portal import services
from portal.models import PolicyRating, PolicyReaction
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_link_shows_the_firms_policies_and_why_it_qualifies(client, pushed):
    firms, (grant, free) = pushed
    firm, message = firms["a"]
    page = client.get(f"/b/{message.token}").content.decode()
    assert firm.name in page
    assert grant.title in page and free.title in page
    assert re.search(r'<li class="met"><span class="state">满足</span> [^<]*新吴区', page)  # why it qualifies
    assert "本政策面向全部企业" in page  # the policy without conditions says so
    assert "营业执照复印件" in page and "区科技局审核" in page
    assert 'href="tel:0510-85000000"' in page and "最高 <strong>200</strong> 万元" in page
    assert "免申即享" in page and "还剩" in page


def test_opening_the_link_is_counted_and_the_first_time_kept(client, pushed):
    firm, message = pushed[0]["a"]
    client.get(f"/b/{message.token}")
    client.get(f"/b/{message.token}")  # served from the page cache, still counted
    assert services.link_opens_flush() == 1
    message.refresh_from_db()
    assert message.open_count == 2 and message.first_opened_at is not None
    client.get(f"/b/{message.token}")
    services.link_opens_flush()
    message.refresh_from_db()
    assert message.open_count == 3


def test_a_cached_page_still_takes_the_visitors_own_csrf_token(pushed):
    firms, (grant, _) = pushed
    token = firms["a"][1].token
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.get(f"/b/{token}")
    page = second.get(f"/b/{token}").content.decode()  # from the cache
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = second.post(f"/b/{token}/policies/{grant.pk}/react", {"kind": "interested", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302 and PolicyReaction.objects.get().kind == "interested"


def test_staff_revoke_a_link_and_even_a_cached_page_stops_at_once(client, pushed):
    firm, message = pushed[0]["a"]
    assert client.get(f"/b/{message.token}").status_code == 200  # now cached
    staff = Client()
    staff.force_login(UserFactory(username="ops", is_superuser=True))
    staff.post("/admin/notifications/message/", {"action": "revoke_links", "_selected_action": [message.pk]})
    response = client.get(f"/b/{message.token}")
    assert response.status_code == 410 and firm.name not in response.content.decode()


def test_a_link_shows_nothing_of_another_firm(client, pushed):
    firms, _ = pushed
    page = client.get(f"/b/{firms['a'][1].token}").content.decode()
    assert firms["b"][0].name not in page and firms["b"][0].uscc not in page


def test_a_token_cannot_act_on_a_policy_outside_its_push(client, pushed):
    firms, (grant, _) = pushed
    other_policy = grant.pk + 1000
    response = client.post(f"/b/{firms['a'][1].token}/policies/{other_policy}/react", {"kind": "interested"})
    assert response.status_code == 404 and not PolicyReaction.objects.exists()


def test_reactions_and_ratings_are_the_link_owners_and_only_theirs(client, pushed):
    firms, (grant, _) = pushed
    firm, message = firms["a"]
    client.post(f"/b/{message.token}/policies/{grant.pk}/react", {"kind": "applied"})
    client.post(f"/b/{message.token}/policies/{grant.pk}/rate", {"rating": "bad", "comment": "材料清单不清楚"})
    assert PolicyReaction.objects.get().enterprise == firm
    assert PolicyRating.objects.get().enterprise == firm
    page = client.get(f"/b/{message.token}").content.decode()
    assert 'aria-pressed="true">已申报' in page and "材料清单不清楚" in page
    assert "材料清单不清楚" not in client.get(f"/b/{firms['b'][1].token}").content.decode()


def test_a_staff_reply_to_a_rating_is_shown_to_the_firm(client, pushed):
    firms, (grant, _) = pushed
    message = firms["a"][1]
    client.post(f"/b/{message.token}/policies/{grant.pk}/rate", {"rating": "bad", "comment": "电话打不通"})
    rating = PolicyRating.objects.get()
    staff = Client()
    staff.force_login(UserFactory(username="service", is_superuser=True))
    staff.post(
        f"/admin/portal/policyrating/{rating.pk}/change/", {"status": "replied", "reply": "已更换为 0510-85000001"}
    )
    rating.refresh_from_db()
    assert rating.status == "replied" and rating.handled_by.username == "service"
    page = client.get(f"/b/{message.token}").content.decode()
    assert "已更换为 0510-85000001" in page and "已回复" in page


def test_unsubscribe_from_the_link_stops_sms_to_the_firm(client, pushed):
    firm, message = pushed[0]["a"]
    Message.objects.filter(pk=message.pk).update(status="created")
    response = client.post(f"/b/{message.token}/unsubscribe", follow=True)
    assert "已退订" in response.content.decode()
    assert Enterprise.objects.get(pk=firm.pk).sms_opt_out
    assert Message.objects.get(pk=message.pk).status == "cancelled"


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_an_expired_or_revoked_link_is_a_friendly_page_with_the_way_in(client, pushed, how):
    firm, message = pushed[0]["a"]
    if how == "expired":
        message.campaign.links_expire_at = timezone.now() - datetime.timedelta(minutes=1)
        message.campaign.save()
    else:
        Message.objects.filter(pk=message.pk).update(revoked_at=timezone.now())
    response = client.get(f"/b/{message.token}")
    page = response.content.decode()
    assert response.status_code == 410
    assert "已过期或已停用" in page and 'href="/login/"' in page and firm.name not in page
    assert client.post(f"/b/{message.token}/unsubscribe").status_code == 404  # and it acts on nothing


def test_an_unknown_token_reveals_nothing(client, pushed):
    response = client.get("/b/AAAAAAAAAAAAAAAA")
    assert response.status_code == 404 and "没有找到这个链接" in response.content.decode()


def test_every_link_form_needs_its_csrf_token(pushed):
    firms, (grant, _) = pushed
    token = firms["a"][1].token
    strict = Client(enforce_csrf_checks=True)
    for url, data in [
        (f"/b/{token}/policies/{grant.pk}/react", {"kind": "interested"}),
        (f"/b/{token}/policies/{grant.pk}/rate", {"rating": "good"}),
        (f"/b/{token}/unsubscribe", {}),
    ]:
        assert strict.post(url, data).status_code == 403
    assert not PolicyReaction.objects.exists() and not Enterprise.objects.filter(sms_opt_out=True).exists()
