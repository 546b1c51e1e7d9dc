"""Payout fixtures: a 免申即享 policy with an amount standard, firms with figures, the two staff roles."""

from decimal import Decimal

import pytest

from policies.models import Policy
from portal.payouts.models import PayoutStandard
from portal.roles import PAYOUT_APPROVER, PAYOUT_OFFICER
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

IN_XINWU = {
    "all": [{"field": "region", "op": "in", "value": ["320214"]}, {"field": "employees", "op": "gte", "value": 10}]
}


@pytest.fixture
def officer(db):
    return UserFactory(username="officer", role=PAYOUT_OFFICER)


@pytest.fixture
def approver(db):
    return UserFactory(username="checker", role=PAYOUT_APPROVER)


@pytest.fixture
def free_policy(db):
    """A published 免申即享 policy for firms in 新吴区 with at least 10 staff: 10 % of revenue, capped."""
    policy = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="新吴区规上企业营收奖励（免申即享）",
        short_title="营收奖励",
        delivery=Policy.Delivery.NO_APPLICATION,
        audience_rule=IN_XINWU,
    )
    PayoutStandard.objects.create(
        policy=policy,
        kind=PayoutStandard.Kind.SHARE,
        basis=PayoutStandard.Basis.ANNUAL_REVENUE,
        rate_percent=Decimal("10"),
        cap=Decimal("500000"),
        rounding_unit=Decimal("100"),
    )
    return policy


@pytest.fixture
def firms(db, fresh_matching):
    """Four firms in 新吴区 (one without revenue figures) and one elsewhere."""
    return {
        "small": EnterpriseFactory(
            name="无锡小微科技有限公司", employees=12, annual_revenue=Decimal("123.4567"), contact_mobile="13900000011"
        ),
        "big": EnterpriseFactory(
            name="无锡大成制造有限公司", employees=800, annual_revenue=Decimal("90000"), contact_mobile="13900000012"
        ),
        "mid": EnterpriseFactory(
            name="无锡中坚材料有限公司", employees=60, annual_revenue=Decimal("400"), contact_mobile="13900000013"
        ),
        "unknown": EnterpriseFactory(
            name="无锡无数据贸易有限公司", employees=30, annual_revenue=None, contact_mobile="13900000014"
        ),
        "tiny": EnterpriseFactory(
            name="无锡三人小店", employees=3, annual_revenue=Decimal("50"), contact_mobile="13900000015"
        ),
    }
