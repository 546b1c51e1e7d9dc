"""Payout rounds: amounts by the policy's standard, a list frozen on a day, review with audited exclusions,
and the two-person approval."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from enterprises.models import Enterprise
from matching.index import reset_index
from policies.models import Policy
from portal.payouts import selectors, services
from portal.payouts.models import PayoutAudit, PayoutEntry, PayoutRound, PayoutStandard
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
Entry = PayoutEntry.Status


def entries(round_) -> dict[str, PayoutEntry]:
    return {e.enterprise.name: e for e in PayoutEntry.objects.filter(round=round_).select_related("enterprise")}


def test_a_share_of_revenue_is_capped_and_rounded_down_to_the_unit(free_policy, firms, officer):
    listed = entries(services.round_open(policy=free_policy, user=officer))
    # 123.4567 万元 × 10 % = 123,456.70 元, down to the 100: 123,400
    assert listed["无锡小微科技有限公司"].amount == Decimal("123400.00")
    assert listed["无锡中坚材料有限公司"].amount == Decimal("400000.00")
    assert listed["无锡大成制造有限公司"].amount == Decimal("500000.00")  # 9,000,000 capped at 500,000
    assert "无锡三人小店" not in listed  # not in the audience (fewer than 10 staff)


def test_half_up_rounding_and_a_fixed_sum(free_policy, firms, officer):
    PayoutStandard.objects.filter(policy=free_policy).update(rounding=PayoutStandard.Rounding.HALF_UP)
    listed = entries(services.round_open(policy=free_policy, user=officer))
    assert listed["无锡小微科技有限公司"].amount == Decimal("123500.00")  # 123,456.70 → 123,500
    PayoutStandard.objects.filter(policy=free_policy).update(kind=PayoutStandard.Kind.FIXED, fixed_amount=20000)
    fixed = entries(services.round_open(policy=free_policy, user=officer))
    assert {e.amount for e in fixed.values()} == {Decimal("20000.00")}
    assert all(e.status == Entry.LISTED for e in fixed.values())  # a fixed sum needs no figure


def test_a_firm_without_the_figure_is_not_listed_and_says_why_instead_of_zero(free_policy, firms, officer):
    round_ = services.round_open(policy=free_policy, user=officer)
    unknown = entries(round_)["无锡无数据贸易有限公司"]
    assert unknown.status == Entry.EXCLUDED and unknown.amount is None
    assert unknown.reason == "缺少营业收入数据，无法核定金额"
    assert round_.listed_count == 3 and round_.excluded_count == 1
    assert round_.total_amount == Decimal("1023400.00")  # the sum of the listed amounts only


def test_the_frozen_list_does_not_move_when_the_register_or_the_rule_changes(free_policy, firms, officer):
    round_ = services.round_open(policy=free_policy, user=officer)
    small = entries(round_)["无锡小微科技有限公司"]
    before = selectors.entry_explanation(entry=small)
    assert [(line.state, line.actual) for line in before] == [("满足", "新吴区"), ("满足", "12 人")]

    Enterprise.objects.filter(pk=firms["small"].pk).update(employees=5, annual_revenue=Decimal("99999"))
    free_policy.audience_rule = {"all": [{"field": "employees", "op": "gte", "value": 1000}]}
    free_policy.save()
    PayoutStandard.objects.filter(policy=free_policy).update(rate_percent=Decimal("50"))
    EnterpriseFactory(name="无锡后来者有限公司", employees=50, annual_revenue=Decimal("10"))
    reset_index()

    round_.refresh_from_db()
    again = entries(round_)
    assert set(again) == {
        "无锡小微科技有限公司",
        "无锡大成制造有限公司",
        "无锡中坚材料有限公司",
        "无锡无数据贸易有限公司",
    }
    assert again["无锡小微科技有限公司"].amount == Decimal("123400.00")
    assert selectors.entry_explanation(entry=again["无锡小微科技有限公司"]) == before
    assert round_.standard["rate_percent"] == "10.0000" and round_.rule["all"][1]["value"] == 10
    assert round_.rule_version == free_policy.history.order_by("history_id")[0].history_id  # the version frozen


def test_the_standard_is_validated(free_policy, officer):
    with pytest.raises(ValidationError) as refused:
        services.standard_set(policy=free_policy, user=officer, kind=PayoutStandard.Kind.FIXED, fixed_amount=None)
    assert "固定金额方式须填写大于 0 的金额。" in refused.value.messages
    with pytest.raises(ValidationError) as refused:
        services.standard_set(
            policy=free_policy, user=officer, kind=PayoutStandard.Kind.SHARE, basis="", rate_percent=Decimal("120")
        )
    assert {"按比例方式须选择计算依据（企业指标）。", "比例须大于 0 且不超过 100（%）。"} <= set(refused.value.messages)


def test_only_published_no_application_policies_with_a_standard_get_rounds(free_policy, officer):
    regular = PolicyFactory(status=Policy.Status.PUBLISHED, delivery=Policy.Delivery.REGULAR)
    with pytest.raises(ValidationError, match="免申即享"):
        services.round_open(policy=regular, user=officer)
    bare = PolicyFactory(status=Policy.Status.PUBLISHED, delivery=Policy.Delivery.NO_APPLICATION)
    with pytest.raises(ValidationError, match="尚未设置兑现标准"):
        services.round_open(policy=bare, user=officer)
    with pytest.raises(PermissionDenied):
        services.round_open(policy=free_policy, user=UserFactory())


def test_an_exclusion_needs_a_reason_is_audited_and_changes_the_total(free_policy, firms, officer):
    round_ = services.round_open(policy=free_policy, user=officer)
    big = entries(round_)["无锡大成制造有限公司"]
    with pytest.raises(ValidationError, match="请填写原因"):
        services.entry_exclude(entry=big, user=officer, reason=" ")
    services.entry_exclude(entry=big, user=officer, reason="存在失信记录（信用中国核查）")
    round_.refresh_from_db()
    assert round_.total_amount == Decimal("523400.00") and round_.excluded_count == 2
    audit = PayoutAudit.objects.get(round=round_, action="排除企业")
    assert (audit.entry_id, audit.user, audit.reason) == (big.pk, officer, "存在失信记录（信用中国核查）")


def test_the_person_who_submitted_a_list_cannot_approve_it(free_policy, firms, officer, approver):
    both = UserFactory(username="both")
    both.user_permissions.add(*officer.groups.get().permissions.all(), *approver.groups.get().permissions.all())
    round_ = services.round_open(policy=free_policy, user=both)
    services.round_submit(round_=round_, user=both)
    with pytest.raises(PermissionDenied, match="不能复核自己的名单"):
        services.round_approve(round_=round_, user=both)
    with pytest.raises(PermissionDenied, match="复核兑现名单"):
        services.round_approve(round_=round_, user=officer)  # no approval permission
    with pytest.raises(ValidationError, match="请填写原因"):
        services.round_send_back(round_=round_, user=approver, reason="")
    services.round_send_back(round_=round_, user=approver, reason="请核对失信企业")
    round_.refresh_from_db()
    assert round_.status == PayoutRound.Status.DRAFT and round_.review_note == "请核对失信企业"
    services.round_submit(round_=round_, user=both)
    services.round_approve(round_=round_, user=approver)
    round_.refresh_from_db()
    assert round_.status == PayoutRound.Status.CONFIRMING and round_.approved_by == approver
    assert round_.confirm_deadline > round_.frozen_on
    with pytest.raises(ValidationError, match="意愿确认中"):
        services.round_approve(round_=round_, user=approver)


def test_the_tags_a_firm_held_are_frozen_with_the_list(free_policy, firms, officer):
    from enterprises.models import EnterpriseTag, PortraitTag

    qual = PortraitTag.objects.get(code="QUAL02")
    EnterpriseTag.objects.create(enterprise=firms["small"], tag=qual, source=EnterpriseTag.Source.IMPORT)
    free_policy.audience_rule = {"all": [{"any": [{"tag": "QUAL01"}, {"tag": "QUAL02"}]}]}
    free_policy.save()
    reset_index()
    round_ = services.round_open(policy=free_policy, user=officer)
    [entry] = PayoutEntry.objects.filter(round=round_)
    assert entry.enterprise == firms["small"] and entry.facts["tags"] == ["QUAL02"]
    EnterpriseTag.objects.filter(enterprise=firms["small"]).delete()
    lines = selectors.entry_explanation(entry=PayoutEntry.objects.get(pk=entry.pk))
    assert [(line.description, line.state, line.actual) for line in lines] == [
        ("满足以下任一项", "满足", ""),
        (f"需为{qual.name}", "满足", "持有"),
    ]
