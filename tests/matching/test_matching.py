"""Matching as staff and firms see it: validation, explanations, near-misses, ranking, freshness, access."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import Region
from enterprises import services as enterprise_services
from enterprises.identity import SESSION_KEY
from enterprises.models import EnterpriseTag, PortraitTag
from matching import selectors
from matching.index import get_index
from policies.audience_rules import validate_rule
from policies.models import Policy
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_matching")]
TODAY = timezone.localdate()
HIGH_TECH = {"tag": "QUAL01"}
IN_XINWU = {"field": "region", "op": "in", "value": ["320214"]}


def tag(firm, code, **kwargs):
    EnterpriseTag.objects.create(enterprise=firm, tag=PortraitTag.objects.get(code=code), source="import", **kwargs)


def published(rule, **kwargs):
    return PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule=rule, **kwargs)


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"all": [HIGH_TECH, {"tag": "QUAL99"}]}, "根节点 › all[1]有误：未知的标签编码“QUAL99”"),
        ({"any": [{"field": "turnover", "op": "gte", "value": 1}]}, "any[0]有误：未知的字段“turnover”"),
        ({"field": "region", "op": "gte", "value": 1}, "不支持运算“gte”"),
        ({"field": "employees", "op": "between", "value": [50, 10]}, "下限大于上限"),
        ({"field": "employees", "op": "gte", "value": "十"}, "应为数字"),
        ({"field": "region", "op": "in", "value": ["999999"]}, "未知的区域代码“999999”"),
        ({"all": {"tag": "QUAL01"}}, "“all”的值应为列表"),
        ({"and": []}, "不认识的节点"),
    ],
)
def test_bad_rules_are_refused_naming_the_node(rule, message):
    with pytest.raises(ValidationError) as err:
        validate_rule(rule)
    assert message in err.value.messages[0]


def test_a_policy_with_a_bad_rule_cannot_be_saved_through_the_admin(client, editor):
    from django.urls import reverse

    from policies.models import Department, PolicyLabel

    client.force_login(editor)
    response = client.post(
        reverse("admin:policies_policy_add"),
        {
            "title": "测试政策", "level": "city", "departments": [Department.objects.get(code="WX-IIT").pk],
            "labels": [PolicyLabel.objects.get(code="KJCX01").pk], "summary": "摘要", "delivery": "regular",
            "rule_advanced": "on", "audience_rule": '{"all": [{"tag": "NOPE"}]}', "attachments-TOTAL_FORMS": "0",
            "attachments-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert "未知的标签编码“NOPE”" in response.content.decode()
    assert not Policy.objects.filter(title="测试政策").exists()


# --- explanations and near-misses -------------------------------------------------------------------------


def test_explanation_says_met_not_met_and_missing_with_values():
    firm = EnterpriseFactory(employees=None, annual_revenue=Decimal("800"))
    tag(firm, "QUAL01")
    policy = published(
        {
            "all": [
                HIGH_TECH,
                {"field": "annual_revenue", "op": "gte", "value": 1000},
                {"field": "employees", "op": "gte", "value": 20},
            ]
        }  # fmt: skip
    )
    explanation = selectors.explain_match(enterprise_id=firm.pk, policy=policy)
    assert explanation.qualifies is False and explanation.state == "不符合条件"
    states = [(leaf.description, leaf.state, leaf.actual, leaf.required) for leaf in explanation.leaves]
    assert states == [
        ("需为高新技术企业", "满足", "持有", "高新技术企业"),
        ("营业收入不少于1,000 万元", "不满足", "800 万元", "1,000 万元"),
        ("从业人数不少于20 人", "数据缺失", "无数据", "20 人"),
    ]


def test_explanations_name_industries_regions_and_sizes_in_words_not_codes():
    wholesale = EnterpriseFactory(industry="F51", region=Region.objects.get(code="320214"), size_class="small")
    rule = {"all": [{"field": "industry", "op": "prefix", "value": "F"}, IN_XINWU,
                    {"field": "size_class", "op": "in", "value": ["small", "micro"]}]}  # fmt: skip
    explanation = selectors.explain_match(enterprise_id=wholesale.pk, policy=published(rule))
    lines = [(leaf.description, leaf.actual) for leaf in explanation.leaves]
    assert lines == [
        ("行业属于 批发和零售业", "F51 批发业"),
        ("所属区域属于 新吴区", "新吴区"),
        ("企业规模属于 小型、微型", "小型"),
    ]


def test_a_qualifying_enterprise_sees_the_branch_that_made_an_any_group_true_and_no_failed_condition():
    enterprise = EnterpriseFactory(employees=40, region=Region.objects.get(code="320214"))
    tag(enterprise, "QUAL01")
    rule = {"all": [IN_XINWU, {"any": [HIGH_TECH, {"field": "employees", "op": "gte", "value": 10_000}]}]}
    explanation = selectors.explain_match(enterprise_id=enterprise.pk, policy=published(rule))
    assert explanation.qualifies is True
    lines = [(leaf.description, leaf.state, leaf.depth, leaf.is_group) for leaf in explanation.leaves]
    assert lines == [
        ("所属区域属于 新吴区", "满足", 0, False),
        ("满足以下任一项", "满足", 0, True),
        ("需为高新技术企业", "满足", 1, False),
    ]
    assert all(leaf.state == "满足" for leaf in explanation.leaves)


def test_an_enterprise_that_does_not_qualify_sees_every_branch_of_an_any_group_with_its_state():
    enterprise = EnterpriseFactory(employees=40)
    rule = {"any": [HIGH_TECH, {"field": "employees", "op": "gte", "value": 10_000}]}
    explanation = selectors.explain_match(enterprise_id=enterprise.pk, policy=published(rule))
    lines = [(leaf.description, leaf.state, leaf.actual) for leaf in explanation.leaves]
    assert lines == [
        ("满足以下任一项", "不满足", ""),
        ("需为高新技术企业", "不满足", "未持有"),
        ("从业人数不少于10,000 人", "不满足", "40 人"),
    ]


def test_near_misses_name_the_single_missing_condition_or_its_alternatives():
    firm = EnterpriseFactory(region=Region.objects.get(code="320214"))
    one_short = published({"all": [IN_XINWU, HIGH_TECH]}, title="差一项的政策")
    alternatives = published({"all": [IN_XINWU, {"any": [HIGH_TECH, {"tag": "QUAL02"}]}]}, title="两种补法")
    published({"all": [HIGH_TECH, {"tag": "QUAL03"}]}, title="差两项")
    published({"all": [IN_XINWU]}, title="已符合")
    published({"all": [HIGH_TECH, {"field": "region", "op": "in", "value": ["320213"]}]}, title="别的区")
    misses = {m.policy.title: m for m in selectors.near_misses_for_enterprise(enterprise_id=firm.pk)}
    assert set(misses) == {"差一项的政策", "两种补法"}  # never "move to another district"
    assert misses["差一项的政策"].message == "还差一项：需为高新技术企业"
    assert misses["两种补法"].missing == ["需为高新技术企业", "需为科技型中小企业"]
    assert (misses["差一项的政策"].policy.id, misses["两种补法"].policy.id) == (one_short.pk, alternatives.pk)


def test_package_ranks_open_windows_then_deadlines_then_support():
    firm = EnterpriseFactory()
    day = datetime.timedelta(days=1)
    later = published({"all": []}, title="晚截止", apply_end=TODAY + 60 * day, max_amount=10)
    soon = published({"all": []}, title="早截止", apply_end=TODAY + 5 * day, max_amount=10)
    richer = published({"all": []}, title="同截止金额大", apply_end=TODAY + 5 * day, max_amount=500)
    upcoming = published({"all": []}, title="未开始", apply_start=TODAY + 3 * day, apply_end=TODAY + 30 * day)
    published({"all": []}, title="已截止", apply_start=TODAY - 30 * day, apply_end=TODAY - day)
    PolicyFactory(status=Policy.Status.DRAFT, audience_rule={"all": []}, title="草稿")
    package = selectors.package_for_enterprise(enterprise_id=firm.pk)
    assert [item.policy.title for item in package] == ["同截止金额大", "早截止", "晚截止", "未开始"]
    assert package[1].days_left == 5 and package[3].window_open is False
    assert {p.pk for p in (later, soon, richer, upcoming)} == {item.policy.id for item in package}


# --- freshness ---------------------------------------------------------------------------------------------


def test_a_tag_change_shows_in_audiences_and_packages_at_once(django_capture_on_commit_callbacks):
    firm = EnterpriseFactory()
    policy = published({"all": [HIGH_TECH]})
    assert selectors.audience_for_policy(policy=policy).count == 0  # the index is built now
    staff = UserFactory(username="tagger", is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        enterprise_services.enterprise_tags_set(enterprise=firm, tag_codes=["QUAL01"], user=staff)
    assert selectors.audience_for_policy(policy=policy).count == 1
    assert [item.policy.id for item in selectors.package_for_enterprise(enterprise_id=firm.pk)] == [policy.pk]
    index = get_index()
    assert firm.pk in index.tags["QUAL01"]


def test_withdrawing_a_policy_removes_it_from_packages(reviewer, django_capture_on_commit_callbacks):
    from policies.services import policy_withdraw

    firm = EnterpriseFactory()
    policy = published({"all": []})
    assert len(selectors.package_for_enterprise(enterprise_id=firm.pk)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        policy_withdraw(policy=policy, user=reviewer, reason="政策调整")
    assert selectors.package_for_enterprise(enterprise_id=firm.pk) == []


def test_an_expired_certificate_stops_counting(django_capture_on_commit_callbacks):
    firm = EnterpriseFactory()
    tag(firm, "QUAL01", valid_until=TODAY - datetime.timedelta(days=1))
    policy = published({"all": [HIGH_TECH]})
    assert selectors.package_for_enterprise(enterprise_id=firm.pk) == []  # expired yesterday
    assert selectors.audience_for_policy(policy=policy).count == 0


# --- API and access ----------------------------------------------------------------------------------------


def test_dry_run_counts_a_rule_before_it_is_saved(client, editor):
    EnterpriseFactory(employees=50)
    EnterpriseFactory(employees=5)
    client.force_login(editor)
    rule = {"field": "employees", "op": "gte", "value": 20}
    body = client.post("/api/matching/dry-run/", {"rule": rule}, content_type="application/json").json()
    assert body["count"] == 1 and body["by_region"] == {"320214": 1} and len(body["sample"]) == 1
    bad = client.post("/api/matching/dry-run/", {"rule": {"tag": "X"}}, content_type="application/json")
    assert bad.status_code == 400 and "未知的标签编码“X”" in bad.json()["rule"][0]
    dated = client.post(
        "/api/matching/dry-run/", {"rule": {"all": []}, "on": "2030-01-01"}, content_type="application/json"
    )
    assert dated.json()["count"] == 2


def test_a_firm_sees_its_own_package_but_never_another_firms(client):
    mine, theirs = EnterpriseFactory(), EnterpriseFactory()
    policy = published({"all": []})
    session = client.session
    session[SESSION_KEY] = mine.pk
    session.save()
    own = client.get(f"/api/matching/enterprises/{mine.uscc}/package/")
    assert own.status_code == 200 and own.json()["package"][0]["policy_id"] == policy.pk
    assert client.get(f"/api/matching/enterprises/{theirs.uscc}/package/").status_code == 403
    assert client.get(f"/api/matching/enterprises/{theirs.uscc}/explain/{policy.pk}/").status_code == 403
    assert client.get("/api/matching/enterprises/91000000000000000X/package/").status_code == 403  # no hint


def test_audiences_are_for_staff_only(client, editor):
    policy = published({"all": []})
    assert client.get(f"/api/matching/policies/{policy.pk}/audience/").status_code == 403
    client.force_login(editor)
    assert client.get(f"/api/matching/policies/{policy.pk}/audience/").status_code == 200


def test_matching_endpoints_are_in_the_openapi_schema(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"/api/matching/dry-run/", "/api/matching/policies/{id}/audience/",
            "/api/matching/enterprises/{uscc}/package/",
            "/api/matching/enterprises/{uscc}/explain/{policy_id}/"} <= set(paths)  # fmt: skip


def test_live_preview_counts_the_builder_rule_and_suggests_tags_for_the_labels(client, editor):
    from django.urls import reverse

    from policies.models import PolicyLabel

    EnterpriseFactory(employees=50)
    EnterpriseFactory(employees=5)
    client.force_login(editor)
    response = client.post(
        reverse("matching-rule-preview"),
        {"rule_employees_min": "20", "labels": [PolicyLabel.objects.get(code="KJCX01").pk]},
    )
    body = response.json()
    assert body["count"] == 1
    assert body["rule"] == {"all": [{"field": "employees", "op": "gte", "value": 20}]}
    assert {"code": "QUAL01", "name": "高新技术企业"} in body["suggested_tags"]
