import datetime

import pytest
from django.utils import timezone

from core.models import Region
from policies.models import Department, Policy, PolicyLabel
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def catalogue():
    today = timezone.localdate()
    talent = PolicyLabel.objects.get(code="RCPY01")
    digital = PolicyLabel.objects.get(code="SZZX01")
    return {
        "city_open": PolicyFactory(
            status="published", level="city", labels=[digital], title="无锡市智能化改造数字化转型奖励"
        ),
        "national_closed": PolicyFactory(
            status="published",
            level="national",
            labels=[talent],
            departments=[Department.objects.get(code="MIIT")],
            apply_start=today - datetime.timedelta(days=60),
            apply_end=today - datetime.timedelta(days=1),
            doc_number="工信部企业〔2026〕9号",
        ),
        "draft": PolicyFactory(status="draft", level="city", labels=[digital]),
    }


def test_public_sees_only_published_policies(client, catalogue):
    assert ids(client.get("/api/policies/")) == {catalogue["city_open"].pk, catalogue["national_closed"].pk}
    assert client.get(f"/api/policies/{catalogue['draft'].pk}/").status_code == 404


def test_public_cannot_reach_drafts_through_the_status_filter(client, catalogue):
    assert ids(client.get("/api/policies/", {"status": "draft"})) == set()


def test_staff_see_drafts_when_filtering_by_status(client, editor, catalogue):
    client.force_login(editor)
    assert ids(client.get("/api/policies/", {"status": "draft"})) == {catalogue["draft"].pk}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "city"}, {"city_open"}),
        ({"level": ["city", "national"]}, {"city_open", "national_closed"}),
        ({"label": "RCPY01"}, {"national_closed"}),
        ({"label_category": "SZZX"}, {"city_open"}),
        ({"department": "MIIT"}, {"national_closed"}),
        ({"window_open": "true"}, {"city_open"}),
        ({"window_open": "false"}, {"national_closed"}),
        ({"q": "数字化 奖励"}, {"city_open"}),
        ({"q": "工信部企业〔2026〕9号"}, {"national_closed"}),
    ],
)
def test_filters(client, catalogue, params, expected):
    assert ids(client.get("/api/policies/", params)) == {catalogue[k].pk for k in expected}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"label": "高层次人才引进"}, {"national_closed"}),
        ({"label_category": "数字化转型"}, {"city_open"}),
        ({"department": "工业和信息化部"}, {"national_closed"}),
        ({"region": "新吴区"}, {"xinwu"}),
        ({"window": "open"}, {"city_open", "xinwu"}),
        ({"window": "closed"}, {"national_closed"}),
        ({"q": "高企"}, {"xinwu"}),
    ],
)
def test_filters_take_names_as_well_as_codes(client, catalogue, params, expected):
    catalogue["xinwu"] = PolicyFactory(
        status="published", level="district", region=Region.objects.get(code="320214"), title="新吴区高新技术企业培育"
    )
    assert ids(client.get("/api/policies/", params)) == {catalogue[k].pk for k in expected}


def test_sorting_puts_open_policies_before_closed_ones(client, catalogue):
    rows = client.get("/api/policies/", {"sort": "deadline"}).json()["results"]
    assert [row["id"] for row in rows] == [catalogue["city_open"].pk, catalogue["national_closed"].pk]


def test_detail_has_the_application_guide(client, catalogue):
    policy = catalogue["city_open"]
    Policy.objects.filter(pk=policy.pk).update(materials=["营业执照"], steps=["在线填报", "初审"])
    body = client.get(f"/api/policies/{policy.pk}/").json()
    assert body["materials"] == ["营业执照"]
    assert body["steps"] == ["在线填报", "初审"]
    assert body["level_display"] == "市级"
    assert body["window_open"] is True


def test_api_is_read_only(client, editor, catalogue):
    client.force_login(editor)
    assert client.post("/api/policies/", {"title": "x"}).status_code == 405


def test_labels_and_tags_are_listed_with_their_categories(client):
    labels = client.get("/api/policy-labels/", {"category__code": "KJCX"}).json()
    assert labels["count"] == PolicyLabel.objects.filter(category__code="KJCX").count() > 0
    assert labels["results"][0]["category_name"] == "科技创新"
    tag = client.get("/api/portrait-tags/QUAL01/").json()
    assert tag == {
        "code": "QUAL01",
        "name": "高新技术企业",
        "kind": "qualification",
        "category_code": "QUAL",
        "category_name": "资质认定",
    }


def test_openapi_schema_and_docs_page(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["info"]["title"] == "惠企直达 API"
    assert {"/api/policies/", "/api/policy-labels/", "/api/portrait-tags/"} <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/api/policies/"]["get"]["parameters"]}
    assert {"level", "label", "window_open", "q", "department", "region"} <= params
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()  # assets are served locally
