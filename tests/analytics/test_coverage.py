"""Coverage and data gaps: audiences per open policy and district, firms a rule cannot decide for (数据缺失) with
the field behind it, firms no open policy reaches with their drill-down list, within the staff scope."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from core.models import Region
from policies.models import Policy
from portal.analytics.services.coverage import coverage_refresh
from portal.analytics.services.register import register_refresh
from tests.analytics.conftest import LIANGXI, XINWU, staff_client
from tests.factories import EnterpriseFactory, PolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(fresh_matching):
    xinwu, liangxi = Region.objects.get(code=XINWU), Region.objects.get(code=LIANGXI)
    firms = {
        "rich": EnterpriseFactory(name="无锡营收已知有限公司", region=xinwu, annual_revenue=Decimal(1000)),
        "unknown": EnterpriseFactory(name="无锡营收未知有限公司", region=xinwu, annual_revenue=None),
        "small": EnterpriseFactory(name="无锡梁溪小微有限公司", region=liangxi, annual_revenue=Decimal(10)),
        "nowhere": EnterpriseFactory(name="无锡区县未知有限公司", region=None, annual_revenue=None),
    }
    published = Policy.Status.PUBLISHED
    revenue = PolicyFactory(
        title="营收达标奖励",
        status=published,
        audience_rule={"all": [{"field": "annual_revenue", "op": "gte", "value": 500}]},
    )
    in_liangxi = PolicyFactory(
        title="梁溪企业专项",
        status=published,
        audience_rule={"all": [{"field": "region", "op": "in", "value": [LIANGXI]}]},
    )
    PolicyFactory(
        title="已截止的政策", status=Policy.Status.PUBLISHED, audience_rule={"all": [{"tag": "QUAL01"}]},
        apply_start=timezone.localdate() - datetime.timedelta(days=30),
        apply_end=timezone.localdate() - datetime.timedelta(days=1),
    )  # fmt: skip
    coverage_refresh(force=True)
    register_refresh()
    return firms, revenue, in_liangxi


def test_the_coverage_api_gives_audiences_unknowns_and_the_missing_field(city):
    _, revenue, in_liangxi = city
    body = staff_client().get("/api/analytics/coverage/").json()
    policies = {p["title"]: p for p in body["policies"]}
    assert set(policies) == {"营收达标奖励", "梁溪企业专项"}  # the closed one is not open
    assert (policies["营收达标奖励"]["audience"], policies["营收达标奖励"]["unknown"]) == (1, 2)
    assert policies["营收达标奖励"]["missing"] == {"annual_revenue": 2}  # "2 firms might qualify if revenue were known"
    assert (policies["梁溪企业专项"]["audience"], policies["梁溪企业专项"]["unknown"]) == (1, 1)
    assert policies["梁溪企业专项"]["missing"] == {"region": 1}
    assert body["no_open_policy"] == 2 and body["no_open_policy_by_region"] == {XINWU: 1, "": 1}


def test_a_district_account_sees_its_district_only(city):
    district = staff_client(region=XINWU)
    body = district.get("/api/analytics/coverage/").json()
    policies = {p["title"]: p for p in body["policies"]}
    assert (policies["营收达标奖励"]["audience"], policies["营收达标奖励"]["unknown"]) == (1, 1)
    assert body["no_open_policy"] == 1 and body["no_open_policy_by_region"] == {XINWU: 1}


def test_the_drill_down_lists_the_uncovered_firms_and_refuses_another_district(city):
    firms, _, _ = city
    page = staff_client().get("/admin/dashboard/uncovered/").content.decode()
    assert firms["unknown"].name in page and firms["nowhere"].name in page and firms["rich"].name not in page
    district = staff_client(region=XINWU)
    mine = district.get("/admin/dashboard/uncovered/").content.decode()
    assert firms["unknown"].name in mine and firms["nowhere"].name not in mine
    assert district.get(f"/admin/dashboard/uncovered/?region={LIANGXI}").status_code == 403
    download = district.get("/admin/dashboard/uncovered/?format=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == [firms["unknown"].name]


def test_the_dashboard_shows_coverage_and_gaps_with_their_downloads(city):
    html = staff_client().get("/admin/").content.decode()
    assert 'id="kpi-uncovered">2<' in html
    assert "若补齐“营业收入（万元）”，最多 2 家企业可能符合条件" in html
    download = staff_client().get("/admin/dashboard/export/gaps-fields.xlsx")
    rows = {
        r[0]: r[1:] for r in openpyxl.load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True)
    }
    assert rows["营业收入"] == (2, 0.5)  # two of the four firms lack it
    tags = staff_client().get("/admin/dashboard/export/coverage-tags.xlsx")
    codes = {r[1] for r in openpyxl.load_workbook(io.BytesIO(tags.content)).active.iter_rows(values_only=True)}
    assert "QUAL01" not in codes and "QUAL02" in codes  # QUAL01 is used by a published policy's rule
