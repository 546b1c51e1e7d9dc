"""The staff queues enterprises fill from the portal (好差评, 纠错), worked by the 服务专员 role."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from enterprises.models import EnterpriseTag, PortraitTag
from portal.models import PolicyRating, TagCorrection
from portal.roles import SERVICE_DESK
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    user = UserFactory(username="desk", is_staff=True)
    user.groups.add(Group.objects.get(name=SERVICE_DESK))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def queue_items():
    enterprise = EnterpriseFactory(name="无锡队列测试有限公司")
    tag = PortraitTag.objects.get(code="QUAL01")
    EnterpriseTag.objects.create(enterprise=enterprise, tag=tag, source=EnterpriseTag.Source.IMPORT)
    rating = PolicyRating.objects.create(
        enterprise=enterprise, policy=PolicyFactory(), rating="bad", comment="材料要求不清楚"
    )
    correction = TagCorrection.objects.create(enterprise=enterprise, tag=tag, action="remove", reason="证书已过期")
    return enterprise, tag, rating, correction


def test_the_service_desk_role_sees_both_queues_and_works_them(desk, queue_items):
    enterprise, tag, rating, correction = queue_items
    assert "材料要求不清楚"[:10] in desk.get("/admin/portal/policyrating/").content.decode()
    assert enterprise.name in desk.get("/admin/portal/tagcorrection/").content.decode()
    desk.post(f"/admin/portal/policyrating/{rating.pk}/change/", {"status": "replied", "reply": "已补充材料清单。"})
    rating.refresh_from_db()
    assert rating.status == "replied" and rating.handled_by.username == "desk"
    desk.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "approve", "review_note": "核实"})
    assert TagCorrection.objects.get().status == "approved"
    assert not EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).exists()


def test_a_correction_saved_without_a_decision_changes_nothing_and_says_what_is_missing(desk, queue_items):
    enterprise, tag, _, correction = queue_items
    page = desk.get(f"/admin/portal/tagcorrection/{correction.pk}/change/").content.decode()
    assert '<option value="" selected>请选择审核结论</option>' in page
    response = desk.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"review_note": ""})
    assert "请选择审核结论：采纳或不采纳。" in response.content.decode()
    assert TagCorrection.objects.get().status == "pending"
    assert EnterpriseTag.objects.filter(enterprise=enterprise, tag=tag).exists()


def test_a_rating_is_never_deleted_not_even_by_a_superuser(queue_items):
    _, _, rating, _ = queue_items
    admin = Client()
    admin.force_login(UserFactory(username="root", is_superuser=True))
    assert admin.post(f"/admin/portal/policyrating/{rating.pk}/delete/", {"post": "yes"}).status_code == 403
    admin.post(
        "/admin/portal/policyrating/", {"action": "delete_selected", "_selected_action": [rating.pk], "post": "yes"}
    )
    assert PolicyRating.objects.filter(pk=rating.pk).exists()


def test_queue_messages_name_the_tag_not_its_id(desk, queue_items):
    _, tag, _, correction = queue_items
    page = desk.post(
        f"/admin/portal/tagcorrection/{correction.pk}/change/",
        {"decision": "reject", "review_note": "名单仍有"},
        follow=True,
    ).content.decode()
    assert f"该标签有误，应去除：{tag.name}" in page and f"应去除：{tag.pk}" not in page
