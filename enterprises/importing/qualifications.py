"""Qualification lists (高新技术企业、专精特新 …名单) with a certificate per firm.

Columns: 统一社会信用代码, 资质 (tag code or name), 证书编号, 认定机构, 有效期至. A row names a firm
already in the register; its certificate is added or updated in place (a renewed certificate
replaces the old number and date). Expired certificates and unknown firms are refused with reasons.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core import changes
from enterprises.importing.pipeline import ImportRefused
from enterprises.importing.readers import NotATable, open_table
from enterprises.importing.rows import RowError, _parse_date
from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from enterprises.validators import normalize_uscc

HEADERS = {
    "uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "tag": ("资质", "资质名称", "资质标签", "qualification", "tag"),
    "certificate_no": ("证书编号", "certificate_no"),
    "issued_by": ("认定机构", "发证机关", "issued_by"),
    "valid_until": ("有效期至", "有效期", "valid_until"),
}
REQUIRED = ("uscc", "tag", "valid_until")


def _position(headers: list[str]) -> dict[str, int]:
    keys = {re.sub(r"\s+", "", h).lower(): i for i, h in enumerate(headers)}
    return {field: keys[a.lower()] for field, aliases in HEADERS.items() for a in aliases if a.lower() in keys}


def qualification_import(*, source, job_id: int | None = None) -> tuple[int, int, list[RowError]]:
    """Import a qualification list; returns (certificates added or renewed, rows refused, errors)."""
    try:
        table = open_table(source)
    except NotATable as exc:
        raise ImportRefused(str(exc)) from None
    positions = _position(table.headers)
    missing = [HEADERS[f][0] for f in REQUIRED if f not in positions]
    if missing:
        raise ImportRefused(f"缺少必需的列：{'、'.join(missing)}。")
    tags = {}
    for pk, code, name in PortraitTag.objects.filter(kind=PortraitTag.Kind.QUALIFICATION).values_list(
        "id", "code", "name"
    ):
        tags[code] = tags[name] = pk
    today = timezone.localdate()
    rows, errors = [], []
    for row_no, cells in table.rows:
        value = {f: (cells[i].strip() if i < len(cells) else "") for f, i in positions.items()}
        row_errors = []
        try:
            uscc = normalize_uscc(value["uscc"])
        except ValidationError as exc:
            row_errors.append(RowError(row_no, "统一社会信用代码", value["uscc"], exc.messages[0]))
        tag_id = tags.get(value["tag"]) or tags.get(value["tag"].upper())
        if tag_id is None:
            row_errors.append(RowError(row_no, "资质", value["tag"], f"“{value['tag']}”不是资质类标签。"))
        valid_until = _parse_date(value["valid_until"]) if value["valid_until"] else None
        if valid_until is None:
            row_errors.append(RowError(row_no, "有效期至", value["valid_until"], "有效期至不是有效日期。"))
        elif valid_until < today:
            row_errors.append(RowError(row_no, "有效期至", value["valid_until"], "证书已过有效期，不再导入。"))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append((row_no, uscc, tag_id, value.get("certificate_no", ""), value.get("issued_by", ""), valid_until))
    return _merge(rows, errors, job_id, today)


@transaction.atomic
def _merge(rows, errors, job_id, today: datetime.date) -> tuple[int, int, list[RowError]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE qual_stage (row_no int, uscc text, tag_id bigint, certificate_no text, "
            "issued_by text, valid_until date) ON COMMIT DROP"
        )
        cursor.executemany("INSERT INTO qual_stage VALUES (%s, %s, %s, %s, %s, %s)", rows)
        cursor.execute(
            f"SELECT s.row_no, s.uscc FROM qual_stage s LEFT JOIN {Enterprise._meta.db_table} e ON e.uscc = s.uscc "
            "WHERE e.id IS NULL ORDER BY s.row_no"
        )
        unknown = cursor.fetchall()
        cursor.execute(
            f"""
            INSERT INTO {EnterpriseTag._meta.db_table}
              (enterprise_id, tag_id, source, certificate_no, issued_by, valid_until, import_job_id, created_at)
            SELECT DISTINCT ON (e.id, s.tag_id) e.id, s.tag_id, 'import', s.certificate_no, s.issued_by,
                   s.valid_until, %s, now()
            FROM qual_stage s JOIN {Enterprise._meta.db_table} e ON e.uscc = s.uscc
            ORDER BY e.id, s.tag_id, s.valid_until DESC
            ON CONFLICT (enterprise_id, tag_id) DO UPDATE SET
              source = 'import', certificate_no = EXCLUDED.certificate_no, issued_by = EXCLUDED.issued_by,
              valid_until = EXCLUDED.valid_until, import_job_id = EXCLUDED.import_job_id
            WHERE ({EnterpriseTag._meta.db_table}.certificate_no, {EnterpriseTag._meta.db_table}.valid_until)
                  IS DISTINCT FROM (EXCLUDED.certificate_no, EXCLUDED.valid_until)
            """,
            [job_id],
        )
        written = cursor.rowcount
    changes.enterprises_changed_on_commit(None if written else [])
    for row_no, uscc in unknown:
        errors.append(RowError(row_no, "统一社会信用代码", uscc, "企业不在名录中，请先导入企业名录。"))
    refused_rows = len({e.row for e in errors})
    return written, refused_rows, sorted(errors, key=lambda e: e.row)
