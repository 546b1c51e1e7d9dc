"""Browsing all published policies: filters, Chinese search, sorting, pages, and a policy's own page."""

import datetime

import pytest
from django.utils import timezone

from policies.models import Policy, PolicyLabel
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    today = timezone.localdate()
    rd = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="关于研发费用加计扣除的实施细则",
        level=Policy.Level.NATIONAL,
        max_amount=50,
        apply_end=today + datetime.timedelta(days=5),
    )
    zjtx = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="专精特新中小企业奖励办法",
        level=Policy.Level.CITY,
        max_amount=300,
        apply_end=today + datetime.timedelta(days=60),
        labels=[PolicyLabel.objects.get(code="KJCX01")],
    )
    draft = PolicyFactory(status=Policy.Status.DRAFT, title="尚未发布的研发政策")
    return rd, zjtx, draft


def titles(client, query: str) -> list[str]:
    page = client.get(f"/policies/?{query}").content.decode()
    return [t for t in ("研发费用加计扣除", "专精特新中小企业奖励", "尚未发布的研发政策") if t in page]


def test_chinese_keywords_match_inside_titles_and_drafts_never_show(client, catalogue):
    assert titles(client, "q=研发") == ["研发费用加计扣除"]
    assert titles(client, "q=专精特新 奖励") == ["专精特新中小企业奖励"]
    assert titles(client, "q=不存在的词") == []


def test_filters_by_level_deadline_and_label_category(client, catalogue):
    assert titles(client, "level=national") == ["研发费用加计扣除"]
    assert titles(client, "deadline_within=7") == ["研发费用加计扣除"]
    category = PolicyLabel.objects.get(code="KJCX01").category.code
    assert "专精特新中小企业奖励" in titles(client, f"label_category={category}")


def test_sorting_by_amount_and_by_deadline(client, catalogue):
    by_amount = client.get("/policies/?sort=amount").content.decode()
    assert by_amount.index("专精特新中小企业奖励") < by_amount.index("研发费用加计扣除")
    by_deadline = client.get("/policies/?sort=deadline").content.decode()
    assert by_deadline.index("研发费用加计扣除") < by_deadline.index("专精特新中小企业奖励")


def test_results_come_in_pages(client, catalogue):
    for n in range(25):
        PolicyFactory(status=Policy.Status.PUBLISHED, title=f"分页测试政策{n:02d}")
    first = client.get("/policies/?q=分页测试").content.decode()
    second = client.get("/policies/?q=分页测试&page=2").content.decode()
    assert "共 25 条" in first and "第 1 / 2 页" in first and first.count("分页测试政策") == 20
    assert second.count("分页测试政策") == 5


def test_a_policy_page_has_its_qr_code_related_policies_and_print_styles(client, catalogue):
    rd, zjtx, _ = catalogue
    related = PolicyFactory(status=Policy.Status.PUBLISHED, title="相关的科技政策", labels=list(zjtx.labels.all()))
    page = client.get(f"/policies/{zjtx.pk}/").content.decode()
    assert "<svg" in page and "扫码查看本政策" in page
    assert related.title in page
    assert client.get(f"/policies/{catalogue[2].pk}/").status_code == 404  # a draft is not public
