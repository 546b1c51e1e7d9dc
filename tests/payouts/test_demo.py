"""``make demo`` shows 兑现: a 免申即享 round in 公示 and applications with tracked states."""

import io

import pytest
from django.core.management import call_command

from policies.scope import CITY
from portal.analytics.selectors.supervision import open_items
from portal.analytics.tables import supervision_tables
from portal.payouts.models import Application, ApplicationEvent, PayoutEntry, PayoutRound

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_round_in_publicity_and_tracked_applications(fresh_matching, client):
    call_command("seed_demo", enterprises=3000, policies=80, seed=7, stdout=io.StringIO())
    round_ = PayoutRound.objects.get()
    assert round_.status == PayoutRound.Status.PUBLICITY and round_.listed_count > 0
    assert PayoutEntry.objects.filter(round=round_, status="confirmed").exists()
    page = client.get(f"/gongshi/{round_.pk}/").content.decode()
    assert "拟兑现企业名单" in page and "提出异议" in page
    assert Application.objects.count() >= 250 and ApplicationEvent.objects.filter(status="paid").exists()
    assert set(Application.objects.values_list("status", flat=True)) >= {"received", "reviewing", "paid", "rejected"}
    # The dashboard's 督办 has something of 兑现 to show: objections to answer and applications running late.
    lights = {(item.kind, str(light)) for item, light in open_items(scope=CITY)}
    assert ("objection", "green") in lights and ("application", "red") in lights
    kinds = {row[0]: row for row in supervision_tables(CITY)["supervision-kinds"].rows}
    assert kinds["公示异议"][4] == 2 and kinds["申报办理"][4] == "—"  # 正常: applications are listed from yellow on
