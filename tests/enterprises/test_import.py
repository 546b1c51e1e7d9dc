"""Importing register files as a city clerk would: messy rows, odd encodings, repeated files."""

import csv
import datetime
import io
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import Workbook

from enterprises.importing.pipeline import ImportRefused, enterprise_import
from enterprises.models import Enterprise, EnterpriseTag, EnterpriseTagChange
from tests.conftest import BASE_DIR, _worker_env
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db

HEADER = ["统一社会信用代码", "企业名称", "联系电话", "所属区域", "行业代码", "成立日期", "注册资本(万元)", "从业人数",
          "营业收入(万元)", "企业标签"]  # fmt: skip


def good_row(n: int, **overrides) -> list[str]:
    row = {
        "统一社会信用代码": make_uscc(n),
        "企业名称": f"无锡测试{n}科技有限公司",
        "联系电话": "13812345678",
        "所属区域": "新吴区",
        "行业代码": "I65",
        "成立日期": "2018-06-30",
        "注册资本(万元)": "500",
        "从业人数": "40",
        "营业收入(万元)": "1200",
        "企业标签": "高新技术企业",
    }
    row.update(overrides)
    return [row[h] for h in HEADER]


def csv_bytes(rows, *, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def run_import(data: bytes, **kwargs):
    return enterprise_import(source=io.BytesIO(data), **kwargs)


BAD_CASES = [
    (
        {"统一社会信用代码": make_uscc(1)[:17] + ("0" if make_uscc(1)[17] != "0" else "1")},
        "统一社会信用代码",
        "校验位错误",
    ),
    ({"统一社会信用代码": "91320214MA1MXX"}, "统一社会信用代码", "应为 18 位"),
    ({"统一社会信用代码": ""}, "统一社会信用代码", "不能为空"),
    ({"企业名称": ""}, "企业名称", "企业名称不能为空"),
    ({"联系电话": "0510-8555"}, "联系电话", "不是有效的大陆手机号码"),
    ({"所属区域": "火星区"}, "所属区域", "未知的区域“火星区”"),
    ({"行业代码": "C99"}, "行业代码", "不属于门类 C"),
    ({"企业标签": "QUAL01;不存在的标签"}, "企业标签", "未知的企业标签：不存在的标签"),
    ({"成立日期": "2023-02-30"}, "成立日期", "不是有效日期"),
    ({"成立日期": "2999-01-01"}, "成立日期", "晚于今天"),
    ({"注册资本(万元)": "-100"}, "注册资本(万元)", "不能为负数"),
    ({"营业收入(万元)": "一百万"}, "营业收入(万元)", "不是数字"),
    ({"从业人数": "12.5"}, "从业人数", "不是整数"),
]


@pytest.mark.parametrize(("override", "column", "reason"), BAD_CASES)
def test_each_bad_row_is_refused_with_its_reason_and_the_rest_imported(override, column, reason):
    result = run_import(csv_bytes([good_row(1, **override), good_row(2)]))
    assert (result.added, result.refused) == (1, 1)
    [error] = result.errors
    assert (error.row, error.column) == (2, column)
    assert reason in error.reason
    assert Enterprise.objects.filter(uscc=make_uscc(2)).exists()


def test_duplicate_uscc_names_the_first_row_and_keeps_it():
    result = run_import(csv_bytes([good_row(1), good_row(2), good_row(1, 企业名称="重复的企业")]))
    assert (result.added, result.refused) == (2, 1)
    [error] = result.errors
    assert error.row == 4 and "与第 2 行的统一社会信用代码重复" in error.reason
    assert Enterprise.objects.get(uscc=make_uscc(1)).name == "无锡测试1科技有限公司"


def test_the_error_report_lists_every_refused_cell(tmp_path):
    report = tmp_path / "errors.csv"
    rows = [good_row(1, 联系电话="123", 行业代码="Z1"), good_row(2)]
    enterprise_import(source=io.BytesIO(csv_bytes(rows)), report=report)
    lines = list(csv.reader(report.open(encoding="utf-8-sig")))
    assert lines[0] == ["行号", "列", "值", "原因"]
    assert {(line[0], line[1]) for line in lines[1:]} == {("2", "联系电话"), ("2", "行业代码")}


def test_extra_columns_are_ignored_with_a_warning_and_extra_cells_refuse_the_row():
    header = [*HEADER, "备注"]
    rows = [[*good_row(1), "老客户"], [*good_row(2), "", "错位的内容"]]
    result = run_import(csv_bytes(rows, header=header))
    assert result.warnings == ["以下列不认识，已忽略：备注。"]
    assert (result.added, result.refused) == (1, 1)
    assert "多于表头" in result.errors[0].reason


def test_a_missing_required_column_refuses_the_file():
    with pytest.raises(ImportRefused, match="缺少必需的列：统一社会信用代码"):
        run_import(csv_bytes([["无锡某公司"]], header=["企业名称"]))
    assert Enterprise.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件为空"),
        ("\ufeff统一社会信用代码,企业名称\n".encode(), "没有数据行"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "不是表格"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Excel"),
        (b"PK\x03\x04 not really a workbook", "无法读取 Excel 文件"),
    ],
)
def test_files_that_are_not_a_usable_table_are_refused_with_a_reason(data, message):
    with pytest.raises(ImportRefused, match=message):
        run_import(data)


def test_reimporting_the_same_file_changes_nothing_and_says_so():
    data = csv_bytes([good_row(n) for n in range(1, 6)])
    first = run_import(data)
    stamp = Enterprise.objects.get(uscc=make_uscc(1)).updated_at
    again = run_import(data)
    assert (first.added, again.added, again.updated, again.unchanged) == (5, 0, 0, 5)
    assert "没有任何改动" in again.summary()
    assert Enterprise.objects.get(uscc=make_uscc(1)).updated_at == stamp


def test_a_second_file_updates_only_the_firms_that_changed_and_their_tags():
    run_import(csv_bytes([good_row(n) for n in range(1, 6)]))
    untouched = Enterprise.objects.get(uscc=make_uscc(2)).updated_at
    result = run_import(
        csv_bytes([good_row(1, 企业名称="无锡改名科技有限公司"), good_row(2), good_row(3, 企业标签="科技型中小企业")])
    )
    assert (result.added, result.updated, result.unchanged) == (0, 2, 1)
    assert Enterprise.objects.get(uscc=make_uscc(1)).name == "无锡改名科技有限公司"
    assert Enterprise.objects.get(uscc=make_uscc(2)).updated_at == untouched
    tags = set(EnterpriseTag.objects.filter(enterprise__uscc=make_uscc(3)).values_list("tag__name", flat=True))
    assert tags == {"科技型中小企业"}
    removed = EnterpriseTagChange.objects.get(enterprise__uscc=make_uscc(3), action="removed")
    assert removed.tag.name == "高新技术企业" and removed.source == "import"


def test_a_file_without_a_column_never_wipes_that_column():
    run_import(csv_bytes([good_row(1)]))
    run_import(csv_bytes([[make_uscc(1), "无锡测试1科技有限公司"]], header=["统一社会信用代码", "企业名称"]))
    firm = Enterprise.objects.get(uscc=make_uscc(1))
    assert firm.contact_mobile == "13812345678" and firm.employees == 40


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_chinese_files_in_every_common_encoding(encoding):
    result = run_import(csv_bytes([good_row(1, 企业名称="无锡市惠山区锡澄食品有限公司")], encoding=encoding))
    assert result.added == 1
    assert Enterprise.objects.get().name == "无锡市惠山区锡澄食品有限公司"


def test_a_wrong_encoding_flag_is_reported_not_crashed():
    with pytest.raises(ImportRefused, match="无法按 utf-8 编码读取"):
        run_import(csv_bytes([good_row(1)], encoding="gbk"), encoding="utf-8")


def test_xlsx_with_real_dates_and_numbers(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["uscc", "name", "mobile", "region", "industry", "founded_on", "employees", "revenue"])
    sheet.append(
        [make_uscc(7), "无锡表格科技有限公司", 13912345678, "320211", "C39", datetime.date(2015, 3, 1), 120, 3000.5]
    )
    path = tmp_path / "register.xlsx"
    book.save(path)
    result = enterprise_import(source=path)
    assert result.added == 1
    firm = Enterprise.objects.get()
    assert (firm.contact_mobile, firm.founded_on, firm.employees) == ("13912345678", datetime.date(2015, 3, 1), 120)
    assert firm.region.name == "滨湖区"


def test_dry_run_counts_exactly_and_writes_nothing():
    result = run_import(csv_bytes([good_row(1), good_row(2, 联系电话="1")]), dry_run=True)
    assert (result.added, result.refused, result.dry_run) == (1, 1, True)
    assert "试运行" in result.summary()
    assert Enterprise.objects.count() == 0


def test_management_command_prints_the_one_line_summary(tmp_path):
    path = tmp_path / "firms.csv"
    path.write_bytes(csv_bytes([good_row(1), good_row(2, 所属区域="不存在区")]))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_enterprises", str(path), stdout=out, stderr=err)
    assert "共 2 行：新增 1，更新 0，未变化 0，拒绝 1" in out.getvalue()
    assert "第 3 行 [所属区域]" in err.getvalue()


# --- derived tags and size class at the standard's thresholds ---------------------------------------


@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "expected"),
    [
        ("C39", "1000", "40000", "large"),  # industry: large needs ≥1000 staff and ≥40,000万
        ("C39", "999", "40000", "medium"),
        ("C39", "300", "2000", "medium"),
        ("C39", "300", "1999.99", "small"),
        ("C39", "20", "300", "small"),
        ("C39", "19", "50000", "micro"),  # micro as soon as one small-class bound is missed
        ("I65", "10", "50", "small"),  # software: small from 10 staff and 50万
        ("I65", "9", "50", "micro"),
        ("F52", "50", "500", "medium"),  # retail
        ("Q84", "100", "", "medium"),  # other industries: staff only
        ("C39", "500", "", ""),  # revenue missing: cannot tell medium from small, left unknown
    ],
)
def test_size_class_follows_the_2011_standard_at_its_thresholds(industry, employees, revenue, expected):
    run_import(csv_bytes([good_row(1, 行业代码=industry, 从业人数=employees, **{"营业收入(万元)": revenue})]))
    assert Enterprise.objects.get().size_class == expected


def test_derived_tags_district_industry_age_and_size():
    today = timezone.localdate()
    founded = today.replace(year=today.year - 2).isoformat()
    run_import(csv_bytes([good_row(1, 行业代码="I6520", 成立日期=founded, 所属区域="滨湖区")]))
    firm = Enterprise.objects.get()
    from enterprises.models import PortraitTag

    names = set(PortraitTag.objects.filter(pk__in=firm.derived_tags).values_list("name", flat=True))
    assert {"滨湖区企业", "信息传输软件和信息技术服务业", "软件和信息技术服务企业", "集成电路企业", "成立1–3年",
            "小型企业", "中小微企业"} <= names  # fmt: skip


def test_updating_figures_of_an_existing_firm_refreshes_its_derived_tags():
    run_import(csv_bytes([good_row(1, 从业人数="40")]))
    run_import(csv_bytes([good_row(1, 从业人数="150")]))
    firm = Enterprise.objects.get()
    assert firm.size_class == "medium"
    from enterprises.models import PortraitTag

    assert PortraitTag.objects.get(code="SIZE02").pk in firm.derived_tags
    assert PortraitTag.objects.get(code="SIZE03").pk not in firm.derived_tags


# --- a killed import ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_import_leaves_the_register_as_before_and_a_rerun_completes_it(committed_db, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([good_row(n) for n in range(1, 100_001)]))
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "import_enterprises", str(path)],
        cwd=BASE_DIR, env=_worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(3)  # well into the import, which takes several seconds for 100,000 rows
    assert proc.poll() is None, "the import finished before it could be killed; use a bigger file"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert Enterprise.objects.count() == 0  # nothing half-written
    result = enterprise_import(source=path)
    assert result.added == 100_000 and Enterprise.objects.count() == 100_000


def test_a_qualification_list_adds_certificates_and_refuses_what_it_cannot_place(tmp_path):
    run_import(csv_bytes([good_row(1, 企业标签=""), good_row(2, 企业标签="")]))
    next_year = (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
    path = tmp_path / "高企名单.csv"
    path.write_bytes(
        csv_bytes(
            [
                [make_uscc(1), "高新技术企业", "GR202532000001", "江苏省科学技术厅", next_year],
                [make_uscc(2), "QUAL03", "ZJTX-2025-0002", "江苏省工业和信息化厅", next_year],
                [make_uscc(3), "高新技术企业", "GR202532000003", "江苏省科学技术厅", next_year],  # not registered
                [make_uscc(2), "民营企业", "", "", next_year],  # not a qualification
                [make_uscc(1), "科技型中小企业", "", "", "2020-01-01"],  # expired
            ],
            header=["统一社会信用代码", "资质", "证书编号", "认定机构", "有效期至"],
        )
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_enterprises", str(path), "--qualifications", stdout=out, stderr=err)
    assert "新增或更新 2 条，拒绝 3 行" in out.getvalue()
    assert "企业不在名录中" in err.getvalue() and "不是资质类标签" in err.getvalue() and "已过有效期" in err.getvalue()
    cert = EnterpriseTag.objects.get(enterprise__uscc=make_uscc(1), tag__code="QUAL01")
    assert (cert.certificate_no, cert.issued_by, cert.valid_until.isoformat()) == (
        "GR202532000001", "江苏省科学技术厅", next_year,
    )  # fmt: skip
