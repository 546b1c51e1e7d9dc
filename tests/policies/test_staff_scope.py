"""Staff scope in the admin lists: a district account sees its district's firms, policies, messages and queues,
and hand-made URLs to another district's rows find nothing; a department account sees its own policies."""

import pytest
from django.test import Client

from core.models import Region
from enterprises.models import PortraitTag
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Department, Policy, StaffScope
from policies.scope import scope_for
from portal.models import PolicyRating, TagCorrection
from portal.roles import ADMINISTRATOR
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


def scoped_client(*, region: str | None = None, department: str | None = None) -> Client:
    user = UserFactory(role=ADMINISTRATOR)  # every permission of the project's apps, but not a superuser
    StaffScope.objects.create(
        user=user,
        region=Region.objects.get(code=region) if region else None,
        department=Department.objects.get(code=department) if department else None,
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def city():
    xinwu, liangxi = Region.objects.get(code="320214"), Region.objects.get(code="320213")
    mine = EnterpriseFactory(name="无锡新吴本区科技有限公司", region=xinwu)
    theirs = EnterpriseFactory(name="无锡梁溪他区贸易有限公司", region=liangxi)
    city_policy = PolicyFactory(title="无锡市全市普惠政策", status=Policy.Status.PUBLISHED)
    their_policy = PolicyFactory(
        title="梁溪区专属扶持政策", level=Policy.Level.DISTRICT, region=liangxi, status=Policy.Status.PUBLISHED,
        departments=[Department.objects.get(code="LX-GOV")],
    )  # fmt: skip
    tag = PortraitTag.objects.get(code="QUAL01")
    ratings = [
        PolicyRating.objects.create(enterprise=firm, policy=city_policy, rating="bad", comment=f"{firm.name}的意见")
        for firm in (mine, theirs)
    ]
    corrections = [
        TagCorrection.objects.create(enterprise=firm, tag=tag, action="add", reason=f"{firm.name}的理由")
        for firm in (mine, theirs)
    ]
    return mine, theirs, city_policy, their_policy, ratings, corrections


def test_a_district_account_sees_only_its_district_in_the_admin_lists(city):
    mine, theirs, city_policy, their_policy, ratings, corrections = city
    district = scoped_client(region="320214")
    firms = district.get("/admin/enterprises/enterprise/").content.decode()
    assert mine.name in firms and theirs.name not in firms
    policies = district.get(
        "/admin/policies/policy/", {"status__exact": "all"}
    ).content.decode()  # not the review queue
    assert city_policy.title in policies and their_policy.title not in policies
    rating_list = district.get("/admin/portal/policyrating/").content.decode()
    assert mine.name in rating_list and theirs.name not in rating_list
    correction_list = district.get("/admin/portal/tagcorrection/").content.decode()
    assert mine.name in correction_list and theirs.name not in correction_list


def test_hand_made_urls_to_another_districts_rows_find_nothing(city):
    mine, theirs, _, their_policy, ratings, corrections = city
    district = scoped_client(region="320214")
    assert district.get(f"/admin/enterprises/enterprise/{mine.pk}/change/").status_code == 200
    for url in (
        f"/admin/enterprises/enterprise/{theirs.pk}/change/",
        f"/admin/policies/policy/{their_policy.pk}/change/",
        f"/admin/portal/policyrating/{ratings[1].pk}/change/",
        f"/admin/portal/tagcorrection/{corrections[1].pk}/change/",
    ):
        response = district.get(url)
        assert response.status_code == 302 and response.url == "/admin/", url  # "不存在", back to the home page
    assert district.get(f"/admin/policies/policy/{their_policy.pk}/history/").status_code == 404
    assert district.get(f"/admin/policies/policy/{their_policy.pk}/preview/").status_code == 404
    # Nor can the other district's rating be answered by a hand-made POST.
    district.post(f"/admin/portal/policyrating/{ratings[1].pk}/change/", {"status": "replied", "reply": "越权答复"})
    assert PolicyRating.objects.get(pk=ratings[1].pk).reply == ""


def test_a_department_account_sees_its_policies_and_the_pushes_naming_them(city):
    mine, theirs, city_policy, their_policy, _, _ = city
    template = SmsTemplate.objects.create(name="政策包", code="SMS_S", body="{link}")
    ours = Campaign.objects.create(name="梁溪专项推送", template=template, status=Campaign.Status.COMPLETED)
    ours.policies.set([their_policy])
    other = Campaign.objects.create(name="全市普惠推送", template=template, status=Campaign.Status.COMPLETED)
    other.policies.set([city_policy])
    Message.objects.create(campaign=other, enterprise=mine, mobile="13812345678", policy_ids=[city_policy.pk],
                           length=60, segments=1)  # fmt: skip
    Message.objects.create(campaign=ours, enterprise=theirs, mobile="13812345679", policy_ids=[their_policy.pk],
                           length=60, segments=1)  # fmt: skip
    department = scoped_client(department="LX-GOV")  # a district's department: also limited to 梁溪区
    policies = department.get("/admin/policies/policy/", {"status__exact": "all"}).content.decode()
    assert their_policy.title in policies and city_policy.title not in policies
    pushes = department.get("/admin/notifications/campaign/").content.decode()
    assert "梁溪专项推送" in pushes and "全市普惠推送" not in pushes
    assert department.get(f"/admin/notifications/campaign/{other.pk}/progress/").status_code == 404
    messages = department.get("/admin/notifications/message/").content.decode()
    assert theirs.name in messages and mine.name not in messages
    ratings = department.get("/admin/portal/policyrating/").content.decode()
    assert "的意见" not in ratings  # the ratings are of the city policy, not this department's


def test_a_districts_department_is_limited_to_its_district_and_city_staff_see_all(city):
    user = UserFactory()
    StaffScope.objects.create(user=user, department=Department.objects.get(code="XW-ST"))
    scope = scope_for(user)
    assert scope.region_id == Region.objects.get(code="320214").pk and scope.department_id is not None
    city_staff = Client()
    city_staff.force_login(UserFactory(role=ADMINISTRATOR))
    firms = city_staff.get("/admin/enterprises/enterprise/").content.decode()
    assert city[0].name in firms and city[1].name in firms
