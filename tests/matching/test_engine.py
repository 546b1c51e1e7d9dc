"""The implementations of an audience rule agree: bitmap index, plain Python, compiled closures, plain SQL."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Region
from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from matching.facts import facts_for
from matching.index import MatchingIndex
from matching.rules import compile_rule, evaluate, to_sql
from tests.factories import make_uscc

TAGS = ["QUAL01", "QUAL02", "QUAL03", "OWN04", "PYKU01"]
REGIONS = ["320213", "320214", "320211"]
TODAY = timezone.localdate()

leaf = st.one_of(
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda v: {"field": "region", "op": "in", "value": v}, st.lists(st.sampled_from(REGIONS), max_size=2)),
    st.builds(lambda v: {"field": "industry", "op": "prefix", "value": v}, st.sampled_from(["C", "C39", "I", "I65"])),
    st.builds(
        lambda v: {"field": "size_class", "op": "eq", "value": v},
        st.sampled_from(["large", "medium", "small", "micro"]),
    ),  # fmt: skip
    st.builds(
        lambda op, v: {"field": "employees", "op": op, "value": v},
        st.sampled_from(["gte", "lte", "eq"]),
        st.sampled_from([0, 10, 20, 99, 300]),
    ),  # fmt: skip
    st.builds(
        lambda a, b: {"field": "annual_revenue", "op": "between", "value": [min(a, b), max(a, b)]},
        st.sampled_from([0, 50, 300.5, 2000]),
        st.sampled_from([100, 2000, 40000]),
    ),  # fmt: skip
    st.builds(
        lambda op, v: {"field": "age_years", "op": op, "value": v},
        st.sampled_from(["gte", "lte", "eq"]),
        st.integers(0, 6),
    ),  # fmt: skip
)
rules = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(children, max_size=3)),  # includes the empty "any"
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=6,
)
firm = st.fixed_dictionaries(
    {
        "region": st.sampled_from([*REGIONS, None]),
        "industry": st.sampled_from(["C39", "C3973", "I65", "F51", ""]),
        "size_class": st.sampled_from(["large", "medium", "small", "micro", ""]),
        # founding dates around whole-year boundaries, leap days included
        "founded_on": st.one_of(st.none(), st.dates(TODAY - datetime.timedelta(days=7 * 366), TODAY)),
        "employees": st.one_of(st.none(), st.sampled_from([0, 9, 10, 20, 99, 300, 1000])),
        "annual_revenue": st.one_of(
            st.none(),
            st.sampled_from([Decimal("0"), Decimal("50"), Decimal("300.5"), Decimal("2000"), Decimal("40000")]),
        ),  # fmt: skip
        "links": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        "derived": st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        "expired": st.booleans(),  # the firm's first certificate expired yesterday: it no longer counts
    }
)


def _insert(firms: list[dict]) -> list[int]:
    regions = dict(Region.objects.values_list("code", "id"))
    tags = dict(PortraitTag.objects.filter(code__in=TAGS).values_list("code", "id"))
    created = Enterprise.objects.bulk_create(
        Enterprise(
            uscc=make_uscc(700_000 + i), name=f"性质测试{i}", region_id=regions.get(f["region"]),
            industry=f["industry"], size_class=f["size_class"], founded_on=f["founded_on"], employees=f["employees"],
            annual_revenue=f["annual_revenue"], derived_tags=[tags[c] for c in f["derived"]],
        )
        for i, f in enumerate(firms)
    )  # fmt: skip
    links = []
    for firm_row, f in zip(created, firms, strict=True):
        for n, code in enumerate(f["links"]):
            expired = f["expired"] and n == 0
            valid = TODAY - datetime.timedelta(days=1) if expired else TODAY + datetime.timedelta(days=9000)
            links.append(EnterpriseTag(enterprise=firm_row, tag_id=tags[code], source="import", valid_until=valid))
    EnterpriseTag.objects.bulk_create(links)
    return [e.pk for e in created]


def _sql_audience(rule: dict, on: datetime.date) -> set[int]:
    params: list = []
    where = to_sql(rule, on, params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id FROM enterprises_enterprise e LEFT JOIN core_region r ON r.id = e.region_id "
            f"WHERE ({where}) IS TRUE",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=rules, firms=st.lists(firm, min_size=1, max_size=12), days_ahead=st.integers(0, 800))
def test_index_python_and_sql_agree(rule, firms, days_ahead):
    on = TODAY + datetime.timedelta(days=days_ahead)
    with transaction.atomic():
        ids = _insert(firms)
        facts = facts_for(ids, on)
        expected = {pk for pk in ids if evaluate(rule, facts[pk], on) is True}
        compiled = compile_rule(rule)  # what packages use: must give the same three-valued answer
        assert all(compiled(facts[pk], on) == evaluate(rule, facts[pk], on) for pk in ids)
        index = MatchingIndex.build()
        assert set(index.audience(rule, on)) == expected
        assert _sql_audience(rule, on) == expected
        # Unknown is neither true nor false: the pair never overlaps, and missing data stays out of both.
        true, false = index.evaluate(rule, on)
        assert not (true & false)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_empty_rules_and_missing_data_follow_kleene_logic():
    [pk] = _insert([dict(region=None, industry="", size_class="", founded_on=None, employees=None,
                         annual_revenue=None, links=[], derived=[], expired=False)])  # fmt: skip
    facts = facts_for([pk])[pk]
    assert evaluate({"all": []}, facts, TODAY) is True  # every firm
    assert evaluate({"any": []}, facts, TODAY) is False
    unknown = {"field": "employees", "op": "gte", "value": 10}
    assert evaluate(unknown, facts, TODAY) is None
    assert evaluate({"not": unknown}, facts, TODAY) is None
    assert evaluate({"all": [unknown, {"tag": "QUAL01"}]}, facts, TODAY) is False  # false beats unknown
    assert evaluate({"any": [unknown, {"not": {"tag": "QUAL01"}}]}, facts, TODAY) is True


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 40_000),  # past 8,192 values the column is cut into bins
    rnd=st.randoms(use_true_random=False),
    low=st.one_of(st.none(), st.integers(-5, 505)),
    high=st.one_of(st.none(), st.integers(-5, 505)),
)
def test_binned_numeric_ranges_match_brute_force(size, rnd, low, high):
    import array

    from matching.index import SortedColumn

    values = [rnd.randint(0, 500) for _ in range(size)]
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    column = SortedColumn(array.array("d", [values[i] for i in order]), array.array("I", order))
    expected = {i for i, v in enumerate(values) if (low is None or v >= low) and (high is None or v <= high)}
    assert set(column.between(low, high)) == expected


@pytest.mark.django_db
def test_sql_and_index_agree_on_every_demo_policy():
    import io

    from django.core.management import call_command

    from matching.index import reset_index
    from policies.models import Policy

    call_command("seed_demo", enterprises=3000, policies=80, seed=5, stdout=io.StringIO())
    reset_index()
    index = MatchingIndex.build()
    checked = 0
    for rule in Policy.objects.values_list("audience_rule", flat=True):
        assert set(index.audience(rule, TODAY)) == _sql_audience(rule, TODAY), rule
        checked += 1
    assert checked == 80
