"""我的政策包 on a phone: folded summaries in one order, confirmations beside the form that was sent,
grouped and searchable subscriptions, SMS refusal that asks first and can be undone; and the
qualify-or-not box on a policy's page for a signed-in enterprise."""

import datetime
import re

import pytest
from django.utils import timezone

from core.models import Region
from enterprises.models import Enterprise
from policies.models import Policy, PolicyLabel
from portal.models import LabelSubscription
from tests.factories import EnterpriseFactory, PolicyFactory
from tests.portal.test_my_pages import signed_in

pytestmark = pytest.mark.django_db


def section(page: str, section_id: str) -> str:
    """One section of the page, from its opening tag to the next section's."""
    start = page.index(f'id="{section_id}"')
    end = page.find("<section", start)
    return page[start : end if end > 0 else len(page)]


@pytest.fixture
def firm(db, fresh_matching):
    return EnterpriseFactory(name="无锡折叠测试科技有限公司", annual_revenue="765076.11")


@pytest.fixture
def package(firm):
    """Open policies closing in 20 and 125 days and one without a deadline, and one not yet open that closes
    in 66 days: the order that broke ("125 days left, then 66")."""
    today = timezone.localdate()

    def policy(title, end, start=-5, amount=None):
        return PolicyFactory(
            status=Policy.Status.PUBLISHED,
            title=title,
            apply_start=today + datetime.timedelta(days=start),
            apply_end=end and today + datetime.timedelta(days=end),
            max_amount=amount,
            materials=["营业执照复印件"],
        )

    return {
        "soon": policy("二十天后截止的研发补助", 20, amount="765076.11"),
        "later": policy("一百二十五天后截止的人才奖励", 125),
        "open_ended": policy("长期受理的稳岗返还", None),
        "upcoming": policy("下月开始申报的技改项目", 66, start=10),
    }


def test_the_package_is_in_one_order_open_first_by_deadline_then_upcoming(firm, package):
    page = section(signed_in(firm).get("/my/").content.decode(), "package")
    order = ["soon", "later", "open_ended", "upcoming"]
    positions = [page.index(package[key].title) for key in order]
    assert positions == sorted(positions)
    assert page.index("可以申报（3）") < positions[0] and positions[2] < page.index("即将开始申报（1）") < positions[3]


def test_each_policy_is_a_summary_with_its_details_behind_a_tap(firm, package):
    page = signed_in(firm).get("/my/").content.decode()
    card = page[page.index(f'id="p{package["soon"].pk}"') :]
    card = card[: card.index("</article>")]
    summary, details = card.split('<details class="card-more">', 1)
    assert package["soon"].title in summary and "76.51" in summary and "亿元" in summary
    assert "申报截止" in summary and "还剩 20 天" in summary
    assert "符合" in summary and "面向全部企业" in summary
    assert '<ul class="checklist">' not in summary and "营业执照复印件" not in summary
    assert '<ul class="checklist">' in details and "营业执照复印件" in details


def test_figures_on_the_page_have_separators_and_units(firm, package):
    page = section(signed_in(firm).get("/my/").content.decode(), "profile")
    assert "76.51 亿元" in page and "765076.11" not in page


def test_saving_subscriptions_lands_on_the_section_with_its_confirmation(firm):
    response = signed_in(firm).post("/my/subscriptions", {"labels": [PolicyLabel.objects.first().pk]}, follow=True)
    assert response.redirect_chain[-1][0] == "/my/#subscriptions"
    page = response.content.decode()
    assert "订阅已保存" in section(page, "subscriptions")
    assert "订阅已保存" not in page[: page.index("<h1")]  # not at the top, out of view


def test_subscriptions_are_grouped_by_category_and_searchable_without_javascript(firm):
    kept = PolicyLabel.objects.get(code="RCPY01")  # 高层次人才引进, no 研发 in it
    LabelSubscription.objects.create(enterprise=firm, label=kept)
    page = section(signed_in(firm).get("/my/", {"labels_q": "研发"}).content.decode(), "subscriptions")
    groups = re.findall(r'<details class="label-group"([^>]*)>\s*<summary>(\S+)', page)
    assert len(groups) == 16
    assert (" open", "科技创新") in groups and (" hidden", "市场开拓") in groups
    shown = re.findall(r'<label>\s*<input type="checkbox" name="labels" value="\d+" ?(?:checked)?> (\S+)</label>', page)
    assert "研发费用补助" in shown and "高层次人才引进" not in shown
    # A label the search hides stays subscribed when the form is saved.
    assert f'name="labels" value="{kept.pk}" checked' in page
    assert "人才培养 <span" in page and "已订阅 1" in page


def test_refusing_sms_asks_for_confirmation_and_can_be_undone(firm):
    client = signed_in(firm)
    refused = client.post("/my/sms", {"action": "stop"}, follow=True)
    assert not Enterprise.objects.get(pk=firm.pk).sms_opt_out
    assert "请先勾选" in section(refused.content.decode(), "pushes")
    stopped = client.post("/my/sms", {"action": "stop", "confirm": "yes"}, follow=True)
    assert stopped.redirect_chain[-1][0] == "/my/#sms"
    assert Enterprise.objects.get(pk=firm.pk).sms_opt_out
    page = section(stopped.content.decode(), "pushes")
    assert "已退订" in page and "恢复接收政策推送短信" in page
    resumed = client.post("/my/sms", {"action": "resume"}, follow=True)
    assert not Enterprise.objects.get(pk=firm.pk).sms_opt_out
    assert "已恢复接收" in section(resumed.content.decode(), "pushes")


def test_a_policy_page_tells_a_signed_in_enterprise_whether_it_qualifies_and_why_not(firm, client):
    elsewhere = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="滨湖区企业专项",
        audience_rule={"all": [{"field": "region", "op": "in", "value": ["320211"]}]},
    )
    everyone = PolicyFactory(status=Policy.Status.PUBLISHED, title="全市普惠政策")
    no = signed_in(firm).get(f"/policies/{elsewhere.pk}/").content.decode()
    box = no[no.index('aria-labelledby="h-fit"') : no.index("</section>", no.index('aria-labelledby="h-fit"'))]
    assert "暂不符合本政策的条件" in box
    assert re.search(r'<li class="unmet"><span class="state">不满足</span> 所属区域属于 滨湖区（贵企业：新吴区）', box)
    yes = signed_in(firm).get(f"/policies/{everyone.pk}/").content.decode()
    assert "贵企业符合本政策的条件" in yes and "面向全部企业" in yes
    assert 'aria-labelledby="h-fit"' not in client.get(f"/policies/{elsewhere.pk}/").content.decode()
    assert Region.objects.get(code="320214") == firm.region
