"""The register as staff and other systems use it: provenance, expiry, masking, API permissions."""

import datetime
import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from enterprises import selectors, services
from enterprises.importing.jobs import import_job_run
from enterprises.importing.pipeline import enterprise_import
from enterprises.models import Enterprise, EnterpriseTag, EnterpriseTagChange, ImportJob, PortraitTag
from enterprises.tasks import expire_qualifications
from tests.factories import EnterpriseFactory, UserFactory, make_uscc, token_header

pytestmark = pytest.mark.django_db


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="enterprises", codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # fresh instance: permissions are cached per object


@pytest.fixture
def clerk():
    return grant(UserFactory(username="clerk"), "view_enterprise", "change_enterprise")


# --- qualifications and provenance ---------------------------------------------------------------


def test_an_expired_qualification_stops_counting_and_leaves_a_record():
    firm = EnterpriseFactory()
    today = timezone.localdate()
    high_tech, sme = PortraitTag.objects.get(code="QUAL01"), PortraitTag.objects.get(code="QUAL02")
    EnterpriseTag.objects.create(enterprise=firm, tag=high_tech, source="import", certificate_no="GR202332001234",
                                 issued_by="江苏省科技厅", valid_until=today - datetime.timedelta(days=1))  # fmt: skip
    EnterpriseTag.objects.create(enterprise=firm, tag=sme, source="import", valid_until=today)
    assert expire_qualifications.apply().get() == 1
    assert list(firm.tag_links.values_list("tag__code", flat=True)) == ["QUAL02"]  # valid through today
    change = EnterpriseTagChange.objects.get(enterprise=firm)
    assert (change.action, change.tag) == ("expired", high_tech)
    assert "GR202332001234" in change.detail


def test_every_tag_says_where_it_came_from(clerk):
    firm = EnterpriseFactory(region_id=None)
    enterprise_import(
        source=_csv(
            [
                ["统一社会信用代码", "企业名称", "所属区域", "行业代码", "企业标签"],
                [firm.uscc, firm.name, "新吴区", "I65", "民营企业"],
            ]
        )  # fmt: skip
    )
    services.enterprise_tags_set(enterprise=firm, tag_codes=["PYKU01"], user=clerk, detail="区级重点企业名单")
    firm.refresh_from_db()
    provenance = {t.code: t for t in selectors.enterprise_tags(enterprise=firm)}
    assert provenance["OWN04"].source_display == "文件导入" and "导入批次" not in provenance["OWN04"].detail
    assert provenance["PYKU01"].source_display == "工作人员编辑"
    assert provenance["DIST05"].source_display == "规则推导"
    assert "所属区域 320214" in provenance["DIST05"].detail
    change = EnterpriseTagChange.objects.get(enterprise=firm, tag__code="PYKU01")
    assert (change.action, change.user, change.detail) == ("added", clerk, "区级重点企业名单")


def test_staff_tag_editing_needs_permission():
    firm = EnterpriseFactory()
    viewer = grant(UserFactory(username="viewer"), "view_enterprise")
    with pytest.raises(services.PermissionDenied):
        services.enterprise_tags_set(enterprise=firm, tag_codes=["PYKU01"], user=viewer)


# --- masking ---------------------------------------------------------------------------------------------


def test_admin_lists_show_masked_phones_and_full_numbers_need_a_permission(client):
    EnterpriseFactory(contact_mobile="13912345678", name="无锡掩码测试有限公司")
    staff = grant(UserFactory(username="staff1"), "view_enterprise")
    client.force_login(staff)
    listing = client.get(reverse("admin:enterprises_enterprise_changelist")).content.decode()
    assert "139****5678" in listing and "13912345678" not in listing
    firm = Enterprise.objects.get(name="无锡掩码测试有限公司")
    page = client.get(reverse("admin:enterprises_enterprise_change", args=[firm.pk])).content.decode()
    assert "13912345678" not in page
    boss = grant(UserFactory(username="boss"), "view_enterprise", "change_enterprise", "view_full_mobile")
    client.force_login(boss)
    assert "13912345678" in client.get(reverse("admin:enterprises_enterprise_change", args=[firm.pk])).content.decode()


def test_searching_by_full_mobile_needs_the_permission_to_see_it(client):
    """A search that finds a firm by its full number would unmask that number: only for those who may see it."""
    EnterpriseFactory(contact_mobile="13912345678", name="无锡搜索掩码有限公司")
    changelist = reverse("admin:enterprises_enterprise_changelist")
    client.force_login(grant(UserFactory(username="masked"), "view_enterprise"))
    assert "无锡搜索掩码有限公司" not in client.get(changelist, {"q": "13912345678"}).content.decode()
    client.force_login(grant(UserFactory(username="full"), "view_enterprise", "view_full_mobile"))
    assert "无锡搜索掩码有限公司" in client.get(changelist, {"q": "13912345678"}).content.decode()


def test_api_masks_phones_unless_permitted(client, clerk):
    EnterpriseFactory(contact_mobile="13912345678")
    client.force_login(clerk)
    assert client.get("/api/enterprises/").json()["results"][0]["contact_mobile"] == "139****5678"


# --- API permissions ------------------------------------------------------------------------------------


def test_api_refuses_anonymous_callers_and_firms(client):
    EnterpriseFactory()
    assert client.get("/api/enterprises/").status_code == 403
    plain = UserFactory(username="someone", is_staff=False)
    client.force_login(plain)
    assert client.get("/api/enterprises/").status_code == 403


def test_integration_token_reads_filters_and_bulk_upserts(client, django_capture_on_commit_callbacks, eager_tasks):
    EnterpriseFactory(industry="C39")
    EnterpriseFactory(industry="I65")
    system = grant(UserFactory(username="tax-bureau", is_staff=False), "view_enterprise", "add_importjob")
    auth = token_header(system, "register:read", "register:write", "register:write-contacts")
    listed = client.get("/api/enterprises/", {"industry": "I"}, **auth).json()
    assert [row["industry"] for row in listed["results"]] == ["I65"]
    lines = "\n".join(
        [
            json.dumps({"uscc": make_uscc(501), "name": "无锡接口推送有限公司", "region": "梁溪区", "industry": "F51"}),
            json.dumps({"统一社会信用代码": make_uscc(502), "企业名称": "无锡手机号错误有限公司", "联系电话": "12"}),
            "{not json",
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):  # the import job runs after the request commits
        response = client.post("/api/enterprises/bulk/", lines, content_type="application/x-ndjson", **auth)
    assert response.status_code == 202, response.json()
    body = client.get(response.json()["url"], **auth).json()
    assert body["status"] == "succeeded", body
    assert (body["added"], body["refused"]) == (1, 2)
    reasons = {(e["row"], e["column"]) for e in body["errors"]}
    assert reasons == {(2, "联系电话"), (3, "（整行）")}
    assert Enterprise.objects.filter(name="无锡接口推送有限公司", region__name="梁溪区").exists()


def test_tag_update_endpoint_needs_change_permission(client, clerk):
    firm = EnterpriseFactory()
    viewer = grant(UserFactory(username="viewer2"), "view_enterprise")
    client.force_login(viewer)
    url = f"/api/enterprises/{firm.uscc}/tags/"
    assert client.put(url, {"tags": ["PYKU01"]}, content_type="application/json").status_code == 403
    client.force_login(clerk)
    response = client.put(url, {"tags": ["PYKU01", "NOPE"]}, content_type="application/json")
    assert response.status_code == 400 and "NOPE" in response.json()["detail"]
    response = client.put(url, {"tags": ["PYKU01"], "reason": "名单更新"}, content_type="application/json")
    assert response.json() == {"added": ["PYKU01"], "removed": []}
    detail = client.get(f"/api/enterprises/{firm.uscc}/").json()
    assert {"code": "PYKU01", "source_display": "工作人员编辑"}.items() <= next(
        t for t in detail["tags"] if t["code"] == "PYKU01"
    ).items()


# --- the admin upload, as staff click it -------------------------------------------------------------------


def test_admin_upload_runs_the_job_and_shows_the_result(client, settings, django_capture_on_commit_callbacks):
    admin_user = UserFactory(username="importer", is_superuser=True)
    client.force_login(admin_user)
    data = _csv([["统一社会信用代码", "企业名称", "联系电话"], [make_uscc(900), "无锡上传测试有限公司", "13800001111"],
                 [make_uscc(901), "无锡错误号码有限公司", "000"]]).getvalue()  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("名录.csv", data, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("admin:enterprises_importjob_add"), {"file": upload, "encoding": ""})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "queued" and len(callbacks) == 1
    import_job_run(job_id=job.pk)  # what the Celery task does
    job.refresh_from_db()
    assert (job.status, job.added, job.refused) == ("succeeded", 1, 1)
    progress = client.get(reverse("admin:enterprises_importjob_progress", args=[job.pk])).json()
    assert progress["finished"] and progress["fraction"] == 1.0
    report = client.get(reverse("admin:enterprises_importjob_errors", args=[job.pk]))
    assert "联系电话" in b"".join(report.streaming_content).decode("utf-8-sig")
    client.force_login(UserFactory(username="nobody"))
    assert (
        client.get(reverse("admin:enterprises_importjob_errors", args=[job.pk])).status_code == 403
    )  # staff, no view permission


def _csv(rows):
    import csv
    import io

    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return io.BytesIO(text.getvalue().encode("utf-8-sig"))
