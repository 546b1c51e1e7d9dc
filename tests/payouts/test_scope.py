"""兑现 within a staff scope: a district or department 兑现专员 sees its own firms' entries, objections and
applications, and acts only on rounds of its own policies (a city-wide list, with its bank accounts, is the
city's)."""

import datetime

import pytest
from django.utils import timezone

from core.models import Region
from portal.payouts.models import Objection, PayoutEntry
from portal.roles import PAYOUT_OFFICER
from tests.analytics.conftest import LIANGXI, XINWU, staff_client
from tests.factories import EnterpriseFactory
from tests.payouts.reports import line, post

pytestmark = pytest.mark.django_db


def test_a_district_officer_sees_its_own_firms_and_cannot_act_on_a_city_wide_round(approved, firms, client):
    round_, _ = approved
    big = PayoutEntry.objects.get(round=round_, enterprise=firms["big"])
    Objection.objects.create(
        round=round_, entry=big, reason="该企业已停产", contact="0510-1234567", due_on=timezone.localdate()
    )
    xinwu, liangxi = staff_client(region=XINWU, role=PAYOUT_OFFICER), staff_client(region=LIANGXI, role=PAYOUT_OFFICER)
    round_page = f"/admin/payouts/payoutround/{round_.pk}/change/"
    assert "无锡大成制造有限公司" in xinwu.get(round_page).content.decode()
    assert "无锡大成制造有限公司" not in liangxi.get(round_page).content.decode()  # the list, but not its firms
    assert "无锡大成制造有限公司" in xinwu.get("/admin/payouts/payoutentry/").content.decode()
    assert "无锡大成制造有限公司" not in liangxi.get("/admin/payouts/payoutentry/").content.decode()
    assert "该企业已停产" in xinwu.get("/admin/payouts/objection/").content.decode()
    assert "该企业已停产" not in liangxi.get("/admin/payouts/objection/").content.decode()
    # The round is city-wide: neither district may publish it or download its accounts.
    for officer in (xinwu, liangxi):
        assert officer.post(f"/admin/payouts/payoutround/{round_.pk}/publish/").status_code == 404
        assert officer.get(f"/admin/payouts/payoutround/{round_.pk}/export.csv").status_code == 404
    round_.refresh_from_db()
    assert round_.status == "confirming"


def test_applications_are_listed_within_the_scope_with_a_late_filter(setting):
    client, firm, ours, _ = setting
    elsewhere = EnterpriseFactory(name="无锡梁溪申报企业有限公司", region=Region.objects.get(code=LIANGXI))
    long_ago = (timezone.localdate() - datetime.timedelta(days=200)).isoformat()
    post(client, line(firm, ours, "KJ-S1", "已受理", at=long_ago), line(elsewhere, ours, "KJ-S2", "已受理"))
    liangxi = staff_client(region=LIANGXI, role=PAYOUT_OFFICER).get("/admin/payouts/application/").content.decode()
    assert "KJ-S2" in liangxi and "KJ-S1" not in liangxi
    other = staff_client(department="WX-COM", role=PAYOUT_OFFICER).get("/admin/payouts/application/")
    assert "KJ-S" not in other.content.decode()  # another department's reports
    late = staff_client(role=PAYOUT_OFFICER).get("/admin/payouts/application/?light=red").content.decode()
    assert "KJ-S1" in late and "KJ-S2" not in late  # two hundred days in 已受理: past the 60 working days
