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


NOTICE = "{企业简称}：您可免申享受“{政策简称}”，请点击 {link} 确认领取并核对收款账户。"


@pytest.fixture(autouse=True)
def notice_template(db, settings):
    """The registered 通知 template of 意愿确认, and pushes at any hour."""
    from notifications.models import SmsTemplate

    settings.SMS_QUIET_HOURS = ()
    return SmsTemplate.objects.create(
        name="意愿确认", code=settings.SMS_PAYOUT_TEMPLATE, body=NOTICE, kind=SmsTemplate.Kind.NOTICE
    )


@pytest.fixture
def setting(db):
    """Two departments, a policy of each, a firm, and an API client of the first department's system."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    from core.tokens import integration_token_create
    from policies.models import Department
    from portal.payouts.models import ApplicationReporter

    tech, commerce = Department.objects.get(code="WX-IIT"), Department.objects.exclude(code="WX-IIT").first()
    ours = PolicyFactory(
        status=Policy.Status.PUBLISHED, departments=[tech], title="研发费用补助", short_title="研发补助"
    )
    theirs = PolicyFactory(status=Policy.Status.PUBLISHED, departments=[commerce], title="外贸稳增长奖励")
    firm = EnterpriseFactory(name="无锡甲芯科技有限公司")
    account = UserFactory(username="tech-system", is_staff=False)
    account.user_permissions.add(Permission.objects.get(codename="report_application"))
    ApplicationReporter.objects.create(user=account, department=tech)
    client = APIClient()
    _, key = integration_token_create(name="部门系统", user=account, scopes=["applications:write"])
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, firm, ours, theirs


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


@pytest.fixture
def approved(free_policy, firms, officer, approver):
    """A round frozen, submitted and approved; its 意愿确认 push planned. Returns the round and the messages
    by firm key."""
    from notifications.models import Message
    from notifications.services import campaign_plan
    from portal.payouts import services

    round_ = services.round_open(policy=free_policy, user=officer)
    services.round_submit(round_=round_, user=officer)
    services.round_approve(round_=round_, user=approver)
    round_.refresh_from_db()
    campaign = round_.campaigns.get()
    campaign_plan(campaign=campaign)  # what the planning worker does after the commit
    by_firm = {m.enterprise_id: m for m in Message.objects.filter(campaign=campaign)}
    return round_, {key: by_firm.get(firm.pk) for key, firm in firms.items()}
