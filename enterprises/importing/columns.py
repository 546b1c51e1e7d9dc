"""The columns an import file may have, with the Chinese and English headers each accepts."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the header we document, used in error messages
    aliases: tuple[str, ...]
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("uscc", "统一社会信用代码", ("统一社会信用代码", "信用代码", "社会信用代码", "uscc", "credit_code"), True),
    Column("name", "企业名称", ("企业名称", "名称", "单位名称", "name", "enterprise_name"), True),
    Column("short_name", "企业简称", ("企业简称", "简称", "short_name")),
    Column("legal_representative", "法定代表人", ("法定代表人", "法人代表", "legal_representative")),
    Column("contact_name", "联系人", ("联系人", "contact_name", "contact")),
    Column(
        "contact_mobile",
        "联系电话",
        ("联系电话", "联系手机", "手机号", "手机号码", "mobile", "contact_mobile", "phone"),
    ),
    Column("region", "所属区域", ("所属区域", "所在区域", "区域", "所属地区", "region", "district")),
    Column("industry", "行业代码", ("行业代码", "国民经济行业代码", "行业", "industry", "industry_code")),
    Column("size_class", "企业规模", ("企业规模", "规模", "size_class", "size")),
    Column("founded_on", "成立日期", ("成立日期", "成立时间", "founded_on", "founded", "established")),
    Column("registered_capital", "注册资本(万元)", ("注册资本(万元)", "注册资本", "registered_capital")),
    Column("employees", "从业人数", ("从业人数", "从业人员", "职工人数", "employees")),
    Column("annual_revenue", "营业收入(万元)", ("营业收入(万元)", "营业收入", "annual_revenue", "revenue")),
    Column("total_assets", "资产总额(万元)", ("资产总额(万元)", "资产总额", "total_assets", "assets")),
    Column("tags", "企业标签", ("企业标签", "标签", "tags")),
)
BY_FIELD = {c.field: c for c in COLUMNS}


def _key(header: str) -> str:
    """Headers match regardless of case, spaces and full-width brackets: 注册资本（万元） = 注册资本(万元)."""
    text = (header or "").strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


_ALIASES = {_key(alias): column for column in COLUMNS for alias in column.aliases}


@dataclass
class HeaderMap:
    positions: dict[str, int]  # field -> column index
    unknown: list[str]  # headers we do not recognise (ignored, reported as a warning)
    missing_required: list[str]  # labels of required columns that are absent
    duplicated: list[str]  # labels that appear more than once

    def label(self, field: str) -> str:
        return BY_FIELD[field].label


def map_headers(headers: list[str]) -> HeaderMap:
    positions: dict[str, int] = {}
    unknown, duplicated = [], []
    for index, header in enumerate(headers):
        if not (header or "").strip():
            continue
        column = _ALIASES.get(_key(header))
        if column is None:
            unknown.append(header.strip())
        elif column.field in positions:
            duplicated.append(column.label)
        else:
            positions[column.field] = index
    missing = [c.label for c in COLUMNS if c.required and c.field not in positions]
    return HeaderMap(positions, unknown, missing, duplicated)


def canonical_label(header: str) -> str:
    """The documented header for any accepted alias (``uscc`` → 统一社会信用代码); unknown headers unchanged."""
    column = _ALIASES.get(_key(header))
    return column.label if column else header
