"""Browsing all published policies: filters, Chinese search, sorting, pages, and a policy's own page."""

import datetime
import html
import re

import pytest
from django.utils import timezone

from core.models import Region
from policies.models import Policy, PolicyLabel, SearchSynonym
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


def results(page: str) -> str:
    """The results part of the browse page (its pickers list every label name, some of them in titles)."""
    return page[page.index('<section class="results"') :]


def titles(client, query: str) -> list[str]:
    page = results(client.get(f"/policies/?{query}").content.decode())
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
    by_amount = results(client.get("/policies/?sort=amount").content.decode())
    assert by_amount.index("专精特新中小企业奖励") < by_amount.index("研发费用加计扣除")
    by_deadline = results(client.get("/policies/?sort=deadline").content.decode())
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


@pytest.fixture
def open_and_closed(db):
    """A policy open until next spring, and one published later that closed two months ago (in September)."""
    today = timezone.localdate()
    open_one = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="仍在申报的技术改造补助",
        apply_end=today + datetime.timedelta(days=100),
        published_at=timezone.now() - datetime.timedelta(days=30),
    )
    closed = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="九月已截止的首台套奖励",
        apply_start=today - datetime.timedelta(days=120),
        apply_end=today - datetime.timedelta(days=60),
        published_at=timezone.now() - datetime.timedelta(days=1),
    )
    return open_one, closed


def row(page: str, title: str) -> str:
    """The list item of the policy titled ``title``."""
    start = page.rindex("<li", 0, page.index(title))
    return page[start : page.index("</li>", start)]


def test_closed_policies_are_marked_and_come_after_open_ones_on_the_home_page(client, open_and_closed):
    open_one, closed = open_and_closed
    page = client.get("/").content.decode()
    assert page.index(open_one.title) < page.index(closed.title)  # although the closed one is newer
    assert "已截止" in row(page, closed.title) and "已截止" not in row(page, open_one.title)


def test_sorting_by_nearest_deadline_never_puts_a_closed_policy_first(client, open_and_closed):
    open_one, closed = open_and_closed
    page = results(client.get("/policies/?window=all&sort=deadline").content.decode())
    assert page.index(open_one.title) < page.index(closed.title)
    assert "已截止" in row(page, closed.title)


def test_browsing_shows_only_open_policies_until_the_visitor_removes_that_filter(client, open_and_closed):
    open_one, closed = open_and_closed
    page = client.get("/policies/").content.decode()
    listed = results(page)
    assert open_one.title in listed and closed.title not in listed
    chip = re.search(r'<a href="\?([^"]*)" aria-label="去掉条件：只看可申报">只看可申报', listed)
    assert chip, "the default filter is shown, with a way to remove it"
    everything = results(client.get("/policies/?" + html.unescape(chip.group(1))).content.decode())
    assert open_one.title in everything and closed.title in everything
    assert "只看可申报" not in everything


def test_filters_are_picked_by_name_and_typed_names_work(client):
    xinwu = PolicyFactory(
        status=Policy.Status.PUBLISHED, title="新吴区专项政策", region=Region.objects.get(code="320214")
    )
    page = client.get("/policies/").content.decode()
    assert '<optgroup label="科技创新">' in page and ">研发费用补助</option>" in page  # labels by category
    assert '<option value="320214">新吴区</option>' in page and ">工业和信息化部</option>" in page
    assert "编码" not in page and "区域代码" not in page
    assert "未知" not in page  # the window is a clear 全部 / 可申报 / 未开始 / 已截止 choice
    assert [label for label in ("全部", "可申报", "未开始", "已截止") if f"> {label}</label>" in page] == [
        "全部", "可申报", "未开始", "已截止"
    ]  # fmt: skip
    by_name = client.get("/policies/", {"region": "新吴区"}).content.decode()
    assert xinwu.title in results(by_name) and "共 1 条政策" in by_name
    assert '<option value="320214" selected>新吴区</option>' in by_name  # the picker shows the typed name


def test_the_count_sits_right_above_the_results_with_the_filter_panel_folded(client, catalogue):
    page = client.get("/policies/", {"level": "city"}).content.decode()
    count = page.index("共 1 条政策")
    assert page.index("</form>") < count < page.index("专精特新中小企业奖励")
    assert re.search(r'<details class="more-filters">\s*<summary>更多筛选（已选 1 项）', page)  # folded, says 1 chosen


def test_search_understands_abbreviations_and_every_word_of_a_query(client):
    hnte = PolicyFactory(status=Policy.Status.PUBLISHED, title="高新技术企业认定奖励实施办法")
    giant = PolicyFactory(
        status=Policy.Status.PUBLISHED, title="专精特新“小巨人”企业培育办法", support_standard="给予一次性奖补50万元。"
    )
    training = PolicyFactory(
        status=Policy.Status.PUBLISHED, title="专精特新企业经营管理培训", short_title="管理培训", summary="免费培训。"
    )
    assert hnte.title in results(client.get("/policies/", {"q": "高企"}).content.decode())
    both = results(client.get("/policies/", {"q": "专精特新 奖励"}).content.decode())
    assert giant.title in both and training.title not in both  # each word, or one of its synonyms, must match


def test_staff_synonyms_take_effect_at_once(client):
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, title="智能化改造数字化转型项目")
    assert policy.title not in results(client.get("/policies/", {"q": "智转"}).content.decode())
    SearchSynonym.objects.create(term="智转", expansions="智能化改造")
    assert policy.title in results(client.get("/policies/", {"q": "智转"}).content.decode())


def test_editors_keep_the_synonym_list_in_the_admin(client, editor):
    client.force_login(editor)
    listing = client.get("/admin/policies/searchsynonym/").content.decode()
    assert "高企" in listing and "高新技术企业" in listing
    added = {"term": "瞪羚", "expansions": "瞪羚企业、潜在独角兽", "is_active": "on"}
    client.post("/admin/policies/searchsynonym/add/", added)
    assert SearchSynonym.objects.get(term="瞪羚").expansion_list() == ["瞪羚企业", "潜在独角兽"]


def test_amounts_read_with_separators_and_units(client):
    policy = PolicyFactory(status=Policy.Status.PUBLISHED, title="产业基金投资", max_amount="765076.11")
    assert "76.51 亿元" in row(results(client.get("/policies/").content.decode()), policy.title)
    assert "<strong>76.51</strong> 亿元" in client.get(f"/policies/{policy.pk}/").content.decode()
