"""The page behind the SMS link: no sign-in, one firm's bundle and why, actions, and nothing of anyone else."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from matching.index import reset_index
from notifications import links
from notifications.models import Campaign, Message, SmsTemplate
from notifications.services import campaign_plan
from policies.models import Policy
from portal.models import PolicyRating, PolicyReaction
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

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
    client.get(f"/b/{message.token}")  # counted again
    assert links.link_opens_flush() == 1
    message.refresh_from_db()
    assert message.open_count == 2 and message.first_opened_at is not None
    client.get(f"/b/{message.token}")
    links.link_opens_flush()
    message.refresh_from_db()
    assert message.open_count == 3


def test_firms_whose_pages_share_a_shape_each_see_their_own_name_and_values(client, pushed):
    firms, (grant, _) = pushed
    rule = {"all": [{"field": "employees", "op": "gte", "value": 10}]}
    staff = PolicyFactory(status=Policy.Status.PUBLISHED, title="稳岗扩岗补助", audience_rule=rule)
    small = EnterpriseFactory(name="无锡<b>丙</b>&丁有限公司", employees=37, contact_mobile="13900000003")
    large = EnterpriseFactory(name="无锡戊己制造有限公司", employees=512, contact_mobile="13900000004")
    reset_index()  # the test's new firms never announce themselves: writes in a test never commit
    campaign = Campaign.objects.create(name="稳岗", template=SmsTemplate.objects.get())
    campaign.policies.set([staff])
    campaign_plan(campaign=campaign)
    pages = {
        firm.pk: client.get(f"/b/{Message.objects.get(campaign=campaign, enterprise=firm).token}").content.decode()
        for firm in (small, large)
    }
    assert "无锡&lt;b&gt;丙&lt;/b&gt;&amp;丁有限公司" in pages[small.pk] and "<b>丙</b>" not in pages[small.pk]
    assert "从业人数不少于10 人（贵企业：37 人）" in pages[small.pk] and "贵企业：512" not in pages[small.pk]
    assert "从业人数不少于10 人（贵企业：512 人）" in pages[large.pk] and "贵企业：37" not in pages[large.pk]
    assert small.name not in pages[large.pk] and "丙" not in pages[large.pk]


def test_a_condition_on_a_portrait_tag_shows_whether_the_firm_holds_it(client, pushed):
    rule = {"any": [{"tag": "QUAL01"}, {"field": "employees", "op": "gte", "value": 10_000}]}
    grant = PolicyFactory(status=Policy.Status.PUBLISHED, title="高企认定奖励", audience_rule=rule)
    firm = EnterpriseFactory(name="无锡庚辛科技有限公司", employees=40, contact_mobile="13900000005")
    EnterpriseTag.objects.create(enterprise=firm, tag=PortraitTag.objects.get(code="QUAL01"), source="staff")
    reset_index()
    campaign = Campaign.objects.create(name="高企", template=SmsTemplate.objects.get())
    campaign.policies.set([grant])
    campaign_plan(campaign=campaign)
    page = client.get(f"/b/{Message.objects.get(campaign=campaign).token}").content.decode()
    tag = PortraitTag.objects.get(code="QUAL01").name
    assert re.search(r'class="met group"><span class="state">满足</span> 满足以下任一项：', page)
    assert re.search(rf'class="met depth-1"><span class="state">满足</span> [^<]*{tag}[^<]*（贵企业：持有）', page)
    # The branch it does not meet is no reason it qualifies, so the page does not list it.
    assert "不满足" not in page and "贵企业：40" not in page


def test_each_visitor_gets_its_own_csrf_token_on_a_shared_page(pushed):
    firms, (grant, _) = pushed
    token = firms["a"][1].token
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.get(f"/b/{token}")
    page = second.get(f"/b/{token}").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = second.post(f"/b/{token}/policies/{grant.pk}/react", {"kind": "interested", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302 and PolicyReaction.objects.get().kind == "interested"


def test_staff_revoke_a_link_and_an_opened_page_stops_at_once(client, pushed):
    firm, message = pushed[0]["a"]
    assert client.get(f"/b/{message.token}").status_code == 200
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
