"""The dashboard as the admin home page: headline and funnel within the staff scope, XLSX downloads of its tables."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from django.test import Client

from enterprises.models import Enterprise
from portal.analytics.exports import Table, xlsx_response
from portal.roles import ADMINISTRATOR
from tests.analytics.conftest import LIANGXI, XINWU, staff_client

pytestmark = pytest.mark.django_db


def figure(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', html).group(1)


def test_the_admin_home_page_is_the_dashboard_with_a_link_to_every_model(two_districts):
    city = staff_client(role=ADMINISTRATOR)
    html = city.get("/admin/").content.decode()
    assert "数据看板" in html and 'href="/admin/models/"' in html
    assert figure(html, "kpi-firms") == f"{Enterprise.objects.count():,}"
    assert figure(html, "dash-scope") == "全市"
    assert 'id="chart-funnel"' in html and "/static/vendor/echarts/echarts.min.js" in html
    models = city.get("/admin/models/").content.decode()
    assert "/admin/policies/policy/" in models  # Django's list of models stays one click away


def test_a_district_account_sees_its_district_on_the_page_and_is_refused_another(two_districts):
    district = staff_client(region=XINWU)
    html = district.get("/admin/").content.decode()
    assert figure(html, "kpi-firms") == f"{Enterprise.objects.filter(region__code=XINWU).count():,}"
    assert figure(html, "dash-scope") == "新吴区"
    assert district.get(f"/admin/?region={LIANGXI}").status_code == 403
    assert district.get(f"/admin/dashboard/export/funnel-regions.xlsx?region={LIANGXI}").status_code == 403


def test_the_page_needs_a_staff_sign_in():
    response = Client().get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_each_table_downloads_as_the_xlsx_the_page_shows(two_districts):
    _, _, push, _ = two_districts
    city = staff_client()
    html = city.get(f"/admin/?campaign={push.pk}").content.decode()
    assert f"/admin/dashboard/export/funnel-stages.xlsx?campaign={push.pk}" in html
    response = city.get(f"/admin/dashboard/export/funnel-stages.xlsx?campaign={push.pk}")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("环节", "企业数", "较上一环节", "占符合条件企业")
    assert [r[:2] for r in rows[1:4]] == [("符合条件", 3), ("短信已发送", 3), ("已送达", 2)]
    assert city.get("/admin/dashboard/export/nothing-here.xlsx").status_code == 404


def test_text_that_looks_like_a_formula_stays_text_in_the_download():
    response = xlsx_response(filename="x.xlsx", tables=[Table("表", ["名称"], [['=HYPERLINK("http://x")'], ["+1"]])])
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet["A"]][1:] == ['\'=HYPERLINK("http://x")', "'+1"]
    assert all(c.data_type == "s" for c in sheet["A"])
