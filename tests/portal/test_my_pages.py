"""A signed-in firm's own pages: its package, subscriptions, profile with provenance, and corrections."""

import re

import pytest
from django.test import Client

from enterprises.identity import SESSION_KEY
from enterprises.models import EnterpriseTag, EnterpriseTagChange, PortraitTag
from policies.models import PolicyLabel
from portal.models import LabelSubscription, PolicyRating, TagCorrection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(firm) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = firm.pk
    session.save()
    return client


def test_my_pages_need_sign_in(client):
    response = client.get("/my/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/my/"


def test_the_package_lists_what_the_firm_qualifies_for_and_the_pushes_it_got(pushed):
    firms, (grant, free) = pushed
    page = signed_in(firms["a"][0]).get("/my/").content.decode()
    assert grant.title in page and free.title in page
    assert re.search(r'<li class="met"><span class="state">满足</span> [^<]*新吴区', page)
    assert "收到的推送短信" in page and "推送 · 2 条政策" in page


def test_a_session_shows_and_changes_only_its_own_firm(pushed):
    firms, (grant, _) = pushed
    a, b = firms["a"][0], firms["b"][0]
    client_b = signed_in(b)
    client_b.post(f"/my/policies/{grant.pk}/rate", {"rating": "bad", "comment": "乙公司的意见"})
    page_a = signed_in(a).get("/my/").content.decode()
    assert b.name not in page_a and "乙公司的意见" not in page_a
    assert PolicyRating.objects.get().enterprise == b
    # A session carries the firm; no parameter can point it at another one.
    signed_in(a).post(f"/my/policies/{grant.pk}/rate", {"rating": "good", "enterprise": b.pk})
    assert PolicyRating.objects.filter(enterprise=a).count() == 1


def test_subscriptions_are_saved_and_shown(pushed):
    firm = pushed[0]["a"][0]
    client = signed_in(firm)
    label_ids = list(PolicyLabel.objects.values_list("pk", flat=True)[:2])
    client.post("/my/subscriptions", {"labels": label_ids})
    assert set(LabelSubscription.objects.filter(enterprise=firm).values_list("label_id", flat=True)) == set(label_ids)
    page = client.get("/my/").content.decode()
    assert re.findall(r'name="labels" value="(\d+)" checked', page) == [str(pk) for pk in label_ids]


def test_a_disputed_tag_goes_to_staff_and_approval_removes_it_with_provenance(pushed):
    firm = pushed[0]["a"][0]
    tag = PortraitTag.objects.get(code="QUAL01")
    EnterpriseTag.objects.create(enterprise=firm, tag=tag, source=EnterpriseTag.Source.IMPORT)
    client = signed_in(firm)
    assert "高新技术企业" in client.get("/my/").content.decode()
    client.post("/my/corrections", {"tag": tag.pk, "action": "remove", "reason": "证书已于去年到期，未再认定"})
    correction = TagCorrection.objects.get()
    assert correction.status == "pending" and correction.enterprise == firm
    staff = Client()
    staff.force_login(UserFactory(username="reviewer2", is_superuser=True))
    staff.post(
        f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "approve", "review_note": "核实无误"}
    )
    correction.refresh_from_db()
    assert correction.status == "approved" and correction.reviewed_by.username == "reviewer2"
    assert not EnterpriseTag.objects.filter(enterprise=firm, tag=tag).exists()
    change = EnterpriseTagChange.objects.get(enterprise=firm, tag=tag)
    assert change.source == "correction" and change.user.username == "reviewer2" and "纠错申请" in change.detail
    assert "已采纳" in client.get("/my/").content.decode()


def test_rejecting_a_correction_needs_a_note_the_firm_then_sees(pushed):
    firm = pushed[0]["a"][0]
    tag = PortraitTag.objects.get(code="QUAL01")
    EnterpriseTag.objects.create(enterprise=firm, tag=tag, source=EnterpriseTag.Source.IMPORT)
    signed_in(firm).post("/my/corrections", {"tag": tag.pk, "action": "remove", "reason": "不是高新企业"})
    correction = TagCorrection.objects.get()
    staff = Client()
    staff.force_login(UserFactory(username="reviewer3", is_superuser=True))
    staff.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "reject", "review_note": ""})
    assert TagCorrection.objects.get().status == "pending"  # refused: a rejection must say why
    staff.post(
        f"/admin/portal/tagcorrection/{correction.pk}/change/",
        {"decision": "reject", "review_note": "认定名单中仍有贵企业"},
    )
    assert EnterpriseTag.objects.filter(enterprise=firm, tag=tag).exists()
    assert "认定名单中仍有贵企业" in signed_in(firm).get("/my/").content.decode()


def test_a_correction_without_a_reason_is_refused_with_a_message(pushed):
    firm = pushed[0]["a"][0]
    page = signed_in(firm).post("/my/corrections", {"tag": 1, "action": "remove", "reason": " "}, follow=True)
    assert "请说明理由" in page.content.decode() and not TagCorrection.objects.exists()


def test_every_signed_in_form_needs_its_csrf_token(pushed):
    firms, (grant, _) = pushed
    strict = Client(enforce_csrf_checks=True)
    session = strict.session
    session[SESSION_KEY] = firms["a"][0].pk
    session.save()
    for url, data in [
        (f"/my/policies/{grant.pk}/react", {"kind": "interested"}),
        (f"/my/policies/{grant.pk}/rate", {"rating": "good"}),
        ("/my/subscriptions", {"labels": [1]}),
        ("/my/corrections", {"tag": 1, "action": "remove", "reason": "x"}),
    ]:
        assert strict.post(url, data).status_code == 403
