import json

import pytest

from notifications import services as push_services
from notifications.gateways.local import FileGateway
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Policy
from portal.services import signin
from tests.factories import EnterpriseFactory, PolicyFactory

BODY = "{企业简称}：您有{n}条惠企政策可申报，详见 {link} 拒收请回复R"


@pytest.fixture
def outbox(tmp_path, monkeypatch):
    """Sign-in SMS go to a file outbox the test can read, as the phone would."""
    gateway = FileGateway(tmp_path / "outbox.jsonl")
    monkeypatch.setattr(signin, "get_gateway", lambda: gateway)

    def sent() -> list[dict]:
        return [json.loads(x) for x in gateway.path.read_text().splitlines()] if gateway.path.exists() else []

    return sent


@pytest.fixture
def pushed(db, fresh_matching):
    """Two firms, each pushed its own bundle of two policies; returns {name: (firm, message)} and the policies."""
    template = SmsTemplate.objects.create(name="政策包", code="SMS_1", body=BODY)
    in_xinwu = {"all": [{"field": "region", "op": "in", "value": ["320214"]}]}
    grant = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="无锡市研发费用补助",
        audience_rule=in_xinwu,
        materials=["营业执照复印件", "研发费用明细表"],
        steps=["网上申报", "区科技局审核"],
        contact_phone="0510-85000000",
        max_amount=200,
    )
    free = PolicyFactory(
        status=Policy.Status.PUBLISHED,
        title="稳岗返还",
        delivery=Policy.Delivery.NO_APPLICATION,
        audience_rule={"all": []},
    )
    firms = {
        "a": EnterpriseFactory(name="无锡甲芯科技有限公司", contact_mobile="13900000001"),
        "b": EnterpriseFactory(name="无锡乙材新材料有限公司", contact_mobile="13900000002"),
    }
    campaign = Campaign.objects.create(name="推送", template=template)
    campaign.policies.set([grant, free])
    push_services.campaign_plan(campaign=campaign)
    messages = {k: Message.objects.get(enterprise=f) for k, f in firms.items()}
    return {k: (firms[k], messages[k]) for k in firms}, (grant, free)
