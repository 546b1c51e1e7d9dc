"""How the dashboard shows a table cell or a figure: thousands separators, percentages, a dash for none."""

from __future__ import annotations

import datetime

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from core.workdays import LIGHT_LABELS
from portal.analytics.exports import Percent

register = template.Library()
LIGHT_CLASSES = {label: str(light) for light, label in LIGHT_LABELS.items()}


@register.filter
def cell(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, Percent):
        return f"{value * 100:.1f}%"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value in LIGHT_CLASSES:  # a supervision light: shown as its colour
        return format_html('<span class="light light-{}">{}</span>', LIGHT_CLASSES[value], value)
    return str(value)


@register.filter
def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)  # percentages are floats too


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.inclusion_tag("admin/analytics/_table.html")
def dash_table(tables: dict, name: str, limit: int = 50):
    """One of the page's tables (``tables[name]`` is (Table, export URL)), at most ``limit`` rows shown. The
    rows are rendered here in one pass: a template loop over thousands of cells costs more than the figures."""
    table, url = tables[name]
    rows = list(table.rows)
    numeric = [is_number(v) for v in rows[0]] if rows else [False] * len(table.header)
    header = list(zip(table.header, numeric, strict=False))
    body = []
    for row in rows[:limit]:
        cells = ['<tr><th scope="row">', conditional_escape(cell(row[0])), "</th>"]
        for v in row[1:]:
            cells += ['<td class="num">' if is_number(v) else "<td>", conditional_escape(cell(v)), "</td>"]
        body.append(mark_safe("".join(cells) + "</tr>"))  # every value escaped above
    return {"table": table, "header": header, "url": url, "body": body, "more": len(rows) > limit,
            "shown": len(body), "id": f"table-{name}"}  # fmt: skip
