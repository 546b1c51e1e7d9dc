"""The push funnel: rollups give the same distinct-firm counts as a naive count over the raw rows, every stage is
a subset of the one before, and the funnel API answers within the staff scope."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enterprises.models import Enterprise
from matching.index import reset_index
from notifications.models import Message
from policies.models import Department, Policy
from policies.scope import CITY
from portal.analytics.models import FunnelCell
from portal.analytics.selectors.funnel import FunnelFilter, funnel_for
from portal.analytics.services.funnel import funnel_campaign_refresh, funnel_refresh_due
from portal.analytics.stages import stage_keys
from portal.models import PolicyReaction
from tests.analytics.conftest import LIANGXI, XINWU, build, staff_client

pytestmark = pytest.mark.django_db
S = Message.Status
STATUSES = [S.CREATED, S.SENDING, S.SENT, S.DELIVERED, S.PERMANENT_FAILURE, S.CANCELLED]
BASE = {S.SENT: 1, S.DELIVERED: 2}


# --- the naive count: straight from the rows, firm by firm ---------------------------------------------------


def naive_funnel(*, campaigns, policies=None, region=None) -> dict[str, int]:
    """Distinct firms per stage over ``campaigns`` (messages read row by row), for ``policies`` (None: the whole
    push) and ``region`` (a Region id or None for all)."""
    keys = stage_keys()
    rank_of = {"interested": keys.index("interested"), "applied": keys.index("applied")}
    reached: dict[int, int] = {}
    qualified: set[int] = set()
    firms = {e.pk: e for e in Enterprise.objects.select_related("region")}
    for campaign in campaigns:
        messages = list(Message.objects.filter(campaign=campaign))
        named = {p for m in messages for p in m.policy_ids} | set(campaign.policies.values_list("pk", flat=True))
        chosen = named if policies is None else named & set(policies)
        for policy in Policy.objects.filter(pk__in=chosen):
            qualified |= {pk for pk, firm in firms.items() if _qualifies(policy.audience_rule, firm)}
        for m in messages:
            mine = [p for p in m.policy_ids if p in chosen]
            if not mine:
                continue
            qualified.add(m.enterprise_id)
            delivered = m.delivered_at or m.status == S.DELIVERED
            base = 3 if m.first_opened_at else 2 if delivered else BASE.get(m.status, 0)
            rank = base
            if base:
                for r in PolicyReaction.objects.filter(enterprise_id=m.enterprise_id, policy_id__in=mine):
                    if r.kind in rank_of and r.updated_at >= m.created_at:
                        rank = max(rank, rank_of[r.kind])
            reached[m.enterprise_id] = max(reached.get(m.enterprise_id, 0), rank)
    for pk in qualified:
        reached.setdefault(pk, 0)
    if region is not None:
        reached = {pk: r for pk, r in reached.items() if firms[pk].region_id == region}
    return {key: sum(1 for r in reached.values() if r >= k) for k, key in enumerate(keys)}


def _qualifies(rule: dict, firm: Enterprise) -> bool:
    if not rule["all"]:
        return True
    return firm.region is not None and firm.region.code in rule["all"][0]["value"]


def counts(funnel: dict) -> dict[str, int]:
    return {s["key"]: s["count"] for s in funnel["stages"]}


# --- random pushes, openings and reactions ---------------------------------------------------------------------

firm = st.fixed_dictionaries({"region": st.sampled_from([XINWU, LIANGXI, None]),
                              "size": st.sampled_from(["small", "micro", ""])})  # fmt: skip
message = st.fixed_dictionaries({
    "status": st.sampled_from(STATUSES),
    "delivered": st.booleans(),
    "opened": st.booleans(),
    "policies": st.sets(st.integers(0, 2), min_size=1),
})  # fmt: skip
reaction = st.tuples(st.integers(0, 7), st.integers(0, 2), st.sampled_from(PolicyReaction.Kind.values),
                     st.sampled_from([-2, 1, 30]))  # fmt: skip
campaign = st.tuples(st.sets(st.integers(0, 2), min_size=1), st.dictionaries(st.integers(0, 7), message))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    firms=st.lists(firm, min_size=1, max_size=8),
    rules=st.lists(st.integers(0, 2), min_size=3, max_size=3),
    campaigns=st.lists(campaign, min_size=1, max_size=3),
    reactions=st.lists(reaction, max_size=16),
)
def test_funnel_counts_equal_a_naive_count_and_each_stage_is_within_the_one_before(firms, rules, campaigns, reactions):
    with transaction.atomic():
        reset_index()
        made, policies, pushes, regions = build(firms, rules, campaigns, reactions)
        for push in pushes:
            assert funnel_campaign_refresh(campaign_id=push.pk)
        cases = [({}, {"campaigns": pushes})]
        cases += [({"campaign_id": p.pk}, {"campaigns": [p]}) for p in pushes]
        cases += [({"policy_id": p.pk}, {"campaigns": pushes, "policies": [p.pk]}) for p in policies]
        cases += [({"region_id": r.pk}, {"campaigns": pushes, "region": r.pk}) for r in regions.values()]
        cases.append(
            (
                {"campaign_id": pushes[0].pk, "policy_id": policies[0].pk, "region_id": regions[XINWU].pk},
                {"campaigns": [pushes[0]], "policies": [policies[0].pk], "region": regions[XINWU].pk},
            )
        )
        for filters, naive in cases:
            got = counts(funnel_for(scope=CITY, filters=FunnelFilter(**filters)))
            assert got == naive_funnel(**naive), filters
            values = list(got.values())
            assert all(a >= b for a, b in zip(values, values[1:], strict=False)), got  # nested stages
        transaction.set_rollback(True)
    reset_index()


def test_a_firm_in_two_pushes_counts_once_and_stage_sets_are_nested(fresh_matching):
    made, policies, pushes, _ = build(
        [{"region": XINWU, "size": "small"}, {"region": LIANGXI, "size": "micro"}],
        [0, 0, 0],
        [({0}, {0: {"status": S.DELIVERED, "delivered": True, "opened": True, "policies": {0}}}),
         ({1}, {0: {"status": S.DELIVERED, "delivered": True, "opened": False, "policies": {1}},
                1: {"status": S.SENT, "delivered": False, "opened": False, "policies": {1}}})],
        [(0, 1, PolicyReaction.Kind.APPLIED, 30)],
    )  # fmt: skip
    for push in pushes:
        funnel_campaign_refresh(campaign_id=push.pk)
    got = counts(funnel_for(scope=CITY, filters=FunnelFilter()))
    # Both firms qualify for everything; firm 0 was pushed twice and applied after the second push.
    assert got == {"qualified": 2, "sent": 2, "delivered": 1, "opened": 1, "interested": 1, "applied": 1, "paid": 0}
    from pyroaring import BitMap

    cells = FunnelCell.objects.filter(campaign_id=pushes[1].pk, policy_id__isnull=True)
    sets = {cell.stage: BitMap.deserialize(bytes(cell.ids)) for cell in cells}
    keys = [k for k in stage_keys() if k in sets]
    assert all(sets[b] <= sets[a] for a, b in zip(keys, keys[1:], strict=False))


def test_department_reports_and_payments_carry_the_funnel_on_to_paid(fresh_matching):
    """兑现 feeds the funnel: a department's application counts as applied, its 已拨付 as paid."""
    import datetime

    from portal.payouts.models import Application, ApplicationStatus
    from tests.analytics.conftest import NOW

    made, policies, pushes, _ = build(
        [{"region": XINWU, "size": "small"}, {"region": LIANGXI, "size": "micro"}],
        [0],
        [({0}, {0: {"status": S.DELIVERED, "delivered": True, "opened": True, "policies": {0}},
                1: {"status": S.DELIVERED, "delivered": True, "opened": True, "policies": {0}}})],
        [],
    )  # fmt: skip
    department = Department.objects.order_by("pk").first()
    later = NOW + datetime.timedelta(days=3)
    for firm, status in ((made[0], ApplicationStatus.PAID), (made[1], ApplicationStatus.RECEIVED)):
        Application.objects.create(
            department=department, external_id=f"A-{firm.pk}", enterprise=firm, policy=policies[0], status=status,
            status_at=later, created_at=later,
        )  # fmt: skip
    funnel_campaign_refresh(campaign_id=pushes[0].pk)
    got = counts(funnel_for(scope=CITY, filters=FunnelFilter()))
    assert (got["opened"], got["applied"], got["paid"]) == (2, 2, 1)


def test_a_reaction_before_the_push_is_not_counted_as_its_outcome(fresh_matching):
    _, _, pushes, _ = build(
        [{"region": XINWU, "size": "small"}], [0, 0, 0],
        [({0}, {0: {"status": S.DELIVERED, "delivered": True, "opened": False, "policies": {0}}})],
        [(0, 0, PolicyReaction.Kind.INTERESTED, -2)],
    )  # fmt: skip
    funnel_campaign_refresh(campaign_id=pushes[0].pk)
    got = counts(funnel_for(scope=CITY, filters=FunnelFilter(campaign_id=pushes[0].pk)))
    assert got["delivered"] == 1 and got["opened"] == 0 and got["interested"] == 0


def test_the_due_round_rolls_up_new_pushes_and_then_leaves_them_until_stale(fresh_matching):
    _, _, pushes, _ = build(
        [{"region": XINWU, "size": "small"}], [0, 0, 0],
        [({0}, {0: {"status": S.SENT, "delivered": False, "opened": False, "policies": {0}}})], [],
    )  # fmt: skip
    assert funnel_refresh_due() == [pushes[0].pk]
    assert funnel_refresh_due() == []  # just rolled up, completed: not due again yet
    funnel = funnel_for(scope=CITY, filters=FunnelFilter())
    assert counts(funnel)["sent"] == 1 and funnel["pushes"] == 1


# --- the API and the staff scope --------------------------------------------------------------------------------


def test_the_funnel_api_gives_distinct_firms_per_stage(two_districts):
    _, _, push, _ = two_districts
    body = staff_client().get(f"/api/analytics/funnel/?campaign={push.pk}").json()
    assert [(s["key"], s["count"]) for s in body["stages"]] == [
        ("qualified", 3), ("sent", 3), ("delivered", 2), ("opened", 1), ("interested", 0), ("applied", 0), ("paid", 0),
    ]  # fmt: skip
    assert body["stages"][2]["rate"] == round(2 / 3, 4)
    assert {r["region"]: r["counts"]["sent"] for r in body["by_region"]} == {XINWU: 1, LIANGXI: 2}


def test_a_district_account_sees_its_district_and_is_refused_another_by_hand_made_urls(two_districts):
    _, _, push, _ = two_districts
    district = staff_client(region=XINWU)
    mine = district.get(f"/api/analytics/funnel/?campaign={push.pk}").json()
    assert [s["count"] for s in mine["stages"]][:3] == [1, 1, 1]  # only 新吴区's firm
    assert [r["region"] for r in mine["by_region"]] == [XINWU]
    assert district.get(f"/api/analytics/funnel/?region={XINWU}").status_code == 200
    refused = district.get(f"/api/analytics/funnel/?region={LIANGXI}")
    assert refused.status_code == 403 and "超出您的数据范围" in refused.json()["detail"]


def test_a_department_account_sees_its_policies_only(two_districts):
    _, policies, push, _ = two_districts
    policies[1].departments.set([Department.objects.get(code="WX-ST")])
    science = staff_client(department="WX-ST")
    body = science.get(f"/api/analytics/funnel/?campaign={push.pk}").json()
    assert body["stages"][1]["count"] == 2  # the two firms told about policy 1
    assert science.get(f"/api/analytics/funnel/?policy={policies[0].pk}").status_code == 403
    assert science.get("/api/analytics/funnel/?department=WX-IIT").status_code == 403


def test_the_funnel_api_refuses_anonymous_callers_and_bad_filters(two_districts):
    assert Client().get("/api/analytics/funnel/").status_code in (401, 403)
    city = staff_client()
    assert city.get("/api/analytics/funnel/?region=999999").status_code == 400
    assert city.get("/api/analytics/funnel/?since=2026-02-01&until=2026-01-01").status_code == 400
    assert city.get("/api/analytics/funnel/?level=planet").status_code == 400
    assert city.get("/api/analytics/funnel/?campaign=abc").status_code == 400


def test_the_funnel_api_is_in_the_openapi_schema():
    schema = staff_client().get("/api/schema/").content.decode()
    assert "/api/analytics/funnel/" in schema
