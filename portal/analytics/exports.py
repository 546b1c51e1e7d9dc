"""Dashboard tables as XLSX files, written row by row in xlsxwriter's constant-memory mode (a drill-down list
can hold a hundred thousand firms), every text cell made safe so Excel never runs it as a formula."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone

from core.spreadsheets import excel_safe

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Table:
    title: str  # the sheet's name (Excel allows 31 characters)
    header: Sequence[str]
    rows: Iterable[Sequence]


def xlsx_response(*, filename: str, tables: list[Table]) -> HttpResponse:
    """An XLSX download with one sheet per table: a bold header row, then the rows in order."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True, "bg_color": "#EEF2F7"})
    percent = workbook.add_format({"num_format": "0.0%"})
    for table in tables:
        sheet = workbook.add_worksheet(table.title[:31])
        for col, name in enumerate(table.header):
            sheet.write_string(0, col, excel_safe(str(name)), bold)
            sheet.set_column(col, col, max(10, min(40, len(str(name)) * 2 + 4)))
        for row_number, row in enumerate(table.rows, start=1):
            for col, value in enumerate(row):
                _write(sheet, row_number, col, value, percent)
    workbook.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


class Percent(float):
    """A share, written as a percentage cell."""


def _write(sheet, row: int, col: int, value, percent) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    elif isinstance(value, Percent):
        sheet.write_number(row, col, float(value), percent)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "是" if value else "否")
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value))
    elif isinstance(value, datetime.datetime):
        sheet.write_string(row, col, timezone.localtime(value).strftime("%Y-%m-%d %H:%M"))
    elif isinstance(value, datetime.date):
        sheet.write_string(row, col, value.isoformat())
    else:
        sheet.write_string(row, col, excel_safe(str(value)))
