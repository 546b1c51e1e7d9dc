"""The demo's history: pushes over past weeks with receipts, openings and reactions, ratings with some overdue,
so the dashboard tells a story on first open."""

import datetime

import pytest
from django.utils import timezone

from core.workdays import Light
from notifications.models import Campaign, Message
from policies.scope import CITY
from portal.analytics.selectors.funnel import FunnelFilter, funnel_for
from portal.analytics.selectors.supervision import open_items
from portal.dev.demo.enterprises import generate_enterprises
from portal.dev.demo.history import generate_history
from portal.dev.demo.policies import generate_policies
from portal.models import PolicyReaction

pytestmark = pytest.mark.django_db


def test_the_demo_history_gives_the_dashboard_pushes_outcomes_and_overdue_items(fresh_matching):
    generate_policies(count=80, seed=5)
    generate_enterprises(count=1500, seed=5)
    made = generate_history(seed=5)
    assert made["pushes"] >= 3 and made["messages"] > 0
    days = sorted(timezone.localdate(c.launched_at) for c in Campaign.objects.all())
    assert days[0] <= timezone.localdate() - datetime.timedelta(days=28) and len(set(days)) == len(days)
    assert not Message.objects.filter(created_at__date__gte=timezone.localdate()).exists()  # all dated back
    stages = {s["key"]: s["count"] for s in funnel_for(scope=CITY, filters=FunnelFilter())["stages"]}
    assert stages["sent"] > stages["opened"] > stages["interested"] > stages["applied"] > 0
    assert PolicyReaction.objects.exists()
    lights = {light for _, light in open_items(scope=CITY)}
    assert Light.RED in lights  # some ratings or corrections wait past their working-day deadline
