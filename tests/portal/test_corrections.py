"""纠错 from 我的政策包: every tag can be disputed (one derived from the register through the register fact behind
it), region, size, industry and founding date can be disputed in words, a missing qualification claimed; staff's
queue shows each kind and decides it; the confirmation lands beside the form."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from enterprises.models import EnterpriseTag, PortraitTag
from portal.models import TagCorrection
from portal.roles import SERVICE_DESK
from tests.factories import EnterpriseFactory, UserFactory
from tests.portal.test_my_package_page import section
from tests.portal.test_my_pages import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(db, fresh_matching):
    """A firm with one imported tag and two derived from its register facts (district, size)."""
    firm = EnterpriseFactory(name="无锡纠错测试有限公司")
    EnterpriseTag.objects.create(
        enterprise=firm, tag=PortraitTag.objects.get(code="OWN05"), source=EnterpriseTag.Source.IMPORT
    )
    firm.derived_tags = list(PortraitTag.objects.filter(code__in=["DIST05", "SIZE03"]).values_list("pk", flat=True))
    firm.save(update_fields=["derived_tags"])
    return firm


@pytest.fixture
def desk():
    user = UserFactory(username="desk-corrections")
    user.groups.add(Group.objects.get(name=SERVICE_DESK))
    client = Client()
    client.force_login(user)
    return client


def options(page: str, select_id: str) -> str:
    start = page.index(f'<select id="{select_id}"')
    return page[start : page.index("</select>", start)]


def test_every_tag_the_firm_holds_can_be_disputed(firm):
    page = signed_in(firm).get("/my/").content.decode()
    offered = options(page, "tag-remove")
    for tag in PortraitTag.objects.filter(pk__in=[*firm.derived_tags, PortraitTag.objects.get(code="OWN05").pk]):
        assert f'<option value="{tag.pk}">' in offered, tag.name


def test_disputing_a_derived_tag_queues_a_correction_of_the_register_fact_behind_it(firm, desk):
    district = PortraitTag.objects.get(code="DIST05")
    response = signed_in(firm).post(
        "/my/corrections", {"action": "remove", "tag": district.pk, "reason": "已迁至滨湖区"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/my/#corrections"
    assert "已作为登记信息纠错提交" in section(response.content.decode(), "profile")
    correction = TagCorrection.objects.get()
    assert (correction.action, correction.field, correction.tag, correction.current_value) == (
        "field", "region", district, "新吴区"
    )  # fmt: skip
    queue = desk.get(f"/admin/portal/tagcorrection/{correction.pk}/change/").content.decode()
    assert "所属区域" in queue and "新吴区" in queue and "已迁至滨湖区" in queue and firm.name in queue
    desk.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "approve", "review_note": "已更正"})
    assert TagCorrection.objects.get().status == "approved"
    assert "已采纳" in signed_in(firm).get("/my/").content.decode()


def test_region_size_industry_and_founding_date_can_be_disputed_in_words(firm, desk):
    client = signed_in(firm)
    page = client.get("/my/").content.decode()
    fields = options(page, "field")
    for words in ("所属区域（现登记为：新吴区）", "企业规模（现登记为：小型）", "所属行业（现登记为：C39 ", "成立日期"):
        assert words in fields
    response = client.post(
        "/my/corrections",
        {"action": "field", "field": "size_class", "requested_value": "中型", "reason": "2025 年营收已超 2 亿元"},
        follow=True,
    )
    assert "纠错申请已提交" in section(response.content.decode(), "profile")
    correction = TagCorrection.objects.get()
    assert (correction.field, correction.current_value, correction.requested_value) == ("size_class", "小型", "中型")
    assert "企业规模 · 登记信息有误，应更正（应为：中型）" in response.content.decode()
    listing = desk.get("/admin/portal/tagcorrection/").content.decode()
    assert "企业规模" in listing and "中型" in listing
    desk.post(
        f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "reject", "review_note": "以年报为准"}
    )
    assert "以年报为准" in signed_in(firm).get("/my/").content.decode()


def test_a_missing_qualification_can_be_claimed_and_staff_approval_adds_it(firm, desk):
    hnte = PortraitTag.objects.get(code="QUAL01")
    page = signed_in(firm).get("/my/").content.decode()
    assert f'<option value="{hnte.pk}">高新技术企业</option>' in options(page, "tag-add")
    signed_in(firm).post("/my/corrections", {"action": "add", "tag": hnte.pk, "reason": "证书 GR202532000123"})
    correction = TagCorrection.objects.get()
    assert correction.action == "add" and correction.tag == hnte
    desk.post(f"/admin/portal/tagcorrection/{correction.pk}/change/", {"decision": "approve", "review_note": "已核"})
    assert EnterpriseTag.objects.get(enterprise=firm, tag=hnte).source == EnterpriseTag.Source.CORRECTION


def test_only_qualifications_can_be_claimed(firm):
    district = PortraitTag.objects.get(code="DIST01")
    page = signed_in(firm).post("/my/corrections", {"action": "add", "tag": district.pk, "reason": "x"}, follow=True)
    assert "只能申请添加资质类标签" in section(page.content.decode(), "profile")
    assert not TagCorrection.objects.exists()


@pytest.mark.parametrize("tag", ["abc", "²"])
def test_a_hand_made_tag_gets_a_reason_not_a_server_error(firm, tag):
    response = signed_in(firm).post("/my/corrections", {"action": "remove", "tag": tag, "reason": "x"}, follow=True)
    assert response.status_code == 200 and "未知的标签" in response.content.decode()


def test_hand_made_subscription_labels_are_ignored(firm):
    assert signed_in(firm).post("/my/subscriptions", {"labels": ["²", "abc"]}).status_code == 302
