"""Pushes, messages and reactions made row by row for the analytics tests, and staff clients in a scope."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Region
from notifications.models import Campaign, Message, SmsTemplate
from policies.models import Department, Policy, StaffScope
from portal.analytics.services.funnel import funnel_campaign_refresh
from portal.models import PolicyReaction
from tests.factories import EnterpriseFactory, PolicyFactory, UserFactory

NOW = timezone.now()
XINWU, LIANGXI = "320214", "320213"
S = Message.Status
RULES = [
    {"all": []},
    {"all": [{"field": "region", "op": "in", "value": [XINWU]}]},
    {"all": [{"field": "region", "op": "in", "value": [LIANGXI, XINWU]}]},
]


def build(firms, rules, campaigns, reactions):
    regions = {code: Region.objects.get(code=code) for code in (XINWU, LIANGXI)}
    made = [EnterpriseFactory(region=regions.get(f["region"]), size_class=f["size"]) for f in firms]
    policies = [PolicyFactory(status=Policy.Status.PUBLISHED, audience_rule=RULES[r]) for r in rules]
    template = SmsTemplate.objects.create(name="政策包", code="SMS_F", body="{link}")
    pushes = []
    for n, (chosen, messages) in enumerate(campaigns):
        push = Campaign.objects.create(name=f"第{n}批", template=template, status=Campaign.Status.COMPLETED,
                                       launched_at=NOW, planned_at=NOW)  # fmt: skip
        push.policies.set([policies[i] for i in chosen])
        for i, m in messages.items():
            if i >= len(made):
                continue
            opened = m["opened"] and m["status"] in (S.SENT, S.DELIVERED)
            Message.objects.create(
                campaign=push, enterprise=made[i], mobile="13812345678", length=60, segments=1,
                policy_ids=[policies[p].pk for p in m["policies"]], status=m["status"], created_at=NOW,
                sent_at=NOW if m["status"] != S.CREATED else None,
                delivered_at=NOW if m["delivered"] and m["status"] == S.DELIVERED else None,
                first_opened_at=NOW + datetime.timedelta(hours=3) if opened else None,
            )  # fmt: skip
        pushes.append(push)
    for i, p, kind, minutes in reactions:
        if i < len(made):
            PolicyReaction.objects.update_or_create(
                enterprise=made[i], policy=policies[p],
                defaults={"kind": kind, "updated_at": NOW + datetime.timedelta(minutes=minutes)},
            )  # fmt: skip
    return made, policies, pushes, regions


@pytest.fixture
def two_districts(fresh_matching):
    made, policies, pushes, regions = build(
        [{"region": XINWU, "size": "small"}, {"region": LIANGXI, "size": "small"}, {"region": LIANGXI, "size": ""}],
        [0, 0, 0],
        [({0, 1}, {0: {"status": S.DELIVERED, "delivered": True, "opened": True, "policies": {0}},
                   1: {"status": S.DELIVERED, "delivered": True, "opened": False, "policies": {0, 1}},
                   2: {"status": S.SENT, "delivered": False, "opened": False, "policies": {1}}})],
        [],
    )  # fmt: skip
    funnel_campaign_refresh(campaign_id=pushes[0].pk)
    return made, policies, pushes[0], regions


def staff_client(*, region: str | None = None, department: str | None = None, role: str | None = None) -> Client:
    user = UserFactory(role=role)
    if region or department:
        StaffScope.objects.create(
            user=user,
            region=Region.objects.get(code=region) if region else None,
            department=Department.objects.get(code=department) if department else None,
        )
    client = Client()
    client.force_login(user)
    return client
