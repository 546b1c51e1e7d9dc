"""One row of an import file validated into a record, or refused with reasons a clerk can act on."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from enterprises.derivation import Rules, derive
from enterprises.importing.columns import BY_FIELD
from enterprises.validators import normalize_industry, normalize_mobile, normalize_uscc

SIZE_WORDS = {
    "大型": "large", "大": "large", "large": "large",
    "中型": "medium", "中": "medium", "medium": "medium",
    "小型": "small", "小": "small", "small": "small",
    "微型": "micro", "微": "micro", "micro": "micro",
}  # fmt: skip
TAG_SEPARATORS = re.compile(r"[;；,，、|/\s]+")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
EARLIEST_FOUNDING = datetime.date(1900, 1, 1)
MAX_AMOUNT = Decimal("999999999999")  # what the columns hold (14 digits, 2 decimals)
WHOLE_ROW = "（整行）"  # the column named when a whole row (or JSON line) is refused
# PostgreSQL text cannot hold NUL; one such cell would fail the whole COPY.
NUL_REASON = "含有空字符（NUL，\\x00），无法保存，请删除后重新导入。"

# The record layout staged for the merge, in this order.
RECORD_FIELDS = (
    "uscc", "name", "short_name", "legal_representative", "contact_name", "contact_mobile", "region_id",
    "industry", "size_class", "founded_on", "registered_capital", "employees", "annual_revenue", "total_assets",
    "tag_ids", "derived_tags",
)  # fmt: skip


OUT_FIELD = {"region": "region_id", "tags": "tag_ids"}
SLOT = {name: i for i, name in enumerate(RECORD_FIELDS)}
SIZE_SLOT, DERIVED_SLOT, REGION_SLOT, INDUSTRY_SLOT = (
    SLOT[f] for f in ("size_class", "derived_tags", "region_id", "industry")
)
EMPLOYEES_SLOT, REVENUE_SLOT, ASSETS_SLOT, FOUNDED_SLOT = (
    SLOT[f] for f in ("employees", "annual_revenue", "total_assets", "founded_on")
)


def _parse_date(raw: str) -> datetime.date | None:
    """A calendar date in one of DATE_FORMATS, or None. The common 2015-06-30 shape skips strptime,
    which is slow at a million rows."""
    if len(raw) == 10 and raw[4] in "-/." and raw[7] == raw[4]:
        try:
            return datetime.date(int(raw[:4]), int(raw[5:7]), int(raw[8:10]))
        except ValueError:
            return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def visible(text: str) -> str:
    """Text from a file made safe to show and store: a NUL becomes the visible ␀."""
    return text.replace("\x00", "\u2400") if "\x00" in text else text


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str

    def __post_init__(self):
        self.column, self.value, self.reason = visible(self.column), visible(self.value), visible(self.reason)


class RowValidator:
    """Validates rows against the file's columns; lookups (regions, tags) are loaded once per import."""

    def __init__(
        self,
        *,
        positions: dict[str, int],
        regions: dict[str, int],
        tags: dict[str, int],
        rules: Rules,
        today: datetime.date,
    ):
        self.positions = positions
        self.rules = rules
        self.regions = regions  # name or code -> id
        self.tags = tags  # code or name -> id
        self.today = today
        # Built once: (field, record field, column label, cell index, parser) for the columns present.
        # (record slot, column label, cell index, parser) for the columns present, built once.
        self.parsers = [
            (SLOT[OUT_FIELD.get(name, name)], BY_FIELD[name].label, positions.get(name, -1), parse)
            for name, parse in self._parsers()
            if name in positions or BY_FIELD[name].required
        ]

    def validate(self, row_no: int, cells: list[str], header_width: int) -> tuple[list | None, list[RowError]]:
        """The row as a record (values in RECORD_FIELDS order), or None and the reasons it is refused."""
        errors: list[RowError] = []
        if len(cells) > header_width and any(c.strip() for c in cells[header_width:]):
            errors.append(
                RowError(row_no, WHOLE_ROW, "", f"本行有 {len(cells)} 列，多于表头的 {header_width} 列，可能有错位。")
            )
            return None, errors
        record: list = [None] * len(RECORD_FIELDS)
        width = len(cells)
        for slot, label, index, parse in self.parsers:
            raw = cells[index].strip() if 0 <= index < width else ""
            try:
                record[slot] = parse(raw)
            except ValidationError as exc:
                errors.append(RowError(row_no, label, raw, NUL_REASON if "\x00" in raw else exc.messages[0]))
        if errors:
            return None, errors
        # Size class and derived tags from this row's own figures (what a new firm gets; firms already
        # in the register are refreshed from their stored values after the merge).
        record[SIZE_SLOT], record[DERIVED_SLOT] = derive(
            self.rules,
            region_id=record[REGION_SLOT],
            industry=record[INDUSTRY_SLOT] or "",
            employees=record[EMPLOYEES_SLOT],
            revenue=record[REVENUE_SLOT],
            assets=record[ASSETS_SLOT],
            founded_on=record[FOUNDED_SLOT],
            given_size=record[SIZE_SLOT] or "",
            today=self.today,
        )
        return record, errors

    def _parsers(self):
        return (
            ("uscc", normalize_uscc),
            ("name", self._required_text("企业名称", 200)),
            ("short_name", self._text(40)),
            ("legal_representative", self._text(50)),
            ("contact_name", self._text(50)),
            ("contact_mobile", self._mobile),
            ("region", self._region),
            ("industry", self._industry),
            ("size_class", self._size),
            ("founded_on", self._founded),
            ("registered_capital", self._amount("注册资本")),
            ("employees", self._employees),
            ("annual_revenue", self._amount("营业收入")),
            ("total_assets", self._amount("资产总额")),
            ("tags", self._tags),
        )

    # Each parser turns text into a value or raises ValidationError with a Chinese reason.

    @staticmethod
    def _required_text(label: str, limit: int):
        def parse(raw: str) -> str:
            if not raw:
                raise ValidationError(f"{label}不能为空。")
            if "\x00" in raw:
                raise ValidationError(NUL_REASON)
            if len(raw) > limit:
                raise ValidationError(f"{label}过长（{len(raw)} 字，最多 {limit} 字）。")
            return raw

        return parse

    @staticmethod
    def _text(limit: int):
        def parse(raw: str) -> str:
            if "\x00" in raw:
                raise ValidationError(NUL_REASON)
            if len(raw) > limit:
                raise ValidationError(f"内容过长（{len(raw)} 字，最多 {limit} 字）。")
            return raw

        return parse

    @staticmethod
    def _mobile(raw: str) -> str:
        return normalize_mobile(raw) if raw else ""

    def _region(self, raw: str) -> int | None:
        if not raw:
            return None
        region_id = self.regions.get(raw)
        if region_id is None:
            raise ValidationError(f"未知的区域“{raw}”，应为无锡市下辖区（市）名称或区划代码，如 新吴区 / 320214。")
        return region_id

    @staticmethod
    def _industry(raw: str) -> str:
        return normalize_industry(raw) if raw else ""

    @staticmethod
    def _size(raw: str) -> str:
        if not raw:
            return ""
        size = SIZE_WORDS.get(raw.lower())
        if size is None:
            raise ValidationError(f"未知的企业规模“{raw}”，应为 大型/中型/小型/微型。")
        return size

    def _founded(self, raw: str) -> datetime.date | None:
        if not raw:
            return None
        day = _parse_date(raw)
        if day is None:
            raise ValidationError(f"成立日期“{raw}”不是有效日期（格式如 2015-06-30，且日期须真实存在）。")
        if day > self.today:
            raise ValidationError(f"成立日期 {day:%Y-%m-%d} 晚于今天，不可能。")
        if day < EARLIEST_FOUNDING:
            raise ValidationError(f"成立日期 {day:%Y-%m-%d} 早于 1900 年，请核对。")
        return day

    @staticmethod
    def _amount(label: str):
        def parse(raw: str) -> Decimal | None:
            if not raw:
                return None
            try:
                value = Decimal(raw.replace(",", "").replace("，", ""))
            except InvalidOperation:
                raise ValidationError(f"{label}“{raw}”不是数字（单位：万元）。") from None
            if not value.is_finite():
                raise ValidationError(f"{label}“{raw}”不是数字（单位：万元）。")
            if value < 0:
                raise ValidationError(f"{label}不能为负数。")
            if value > MAX_AMOUNT:
                raise ValidationError(f"{label}“{raw}”超出范围，请确认单位为万元。")
            return value.quantize(Decimal("0.01"))

        return parse

    @staticmethod
    def _employees(raw: str) -> int | None:
        if not raw:
            return None
        try:
            value = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            raise ValidationError(f"从业人数“{raw}”不是整数。") from None
        if not value.is_finite() or value != value.to_integral_value():
            raise ValidationError(f"从业人数“{raw}”不是整数。")
        if value < 0:
            raise ValidationError("从业人数不能为负数。")
        if value > 2_000_000:
            raise ValidationError(f"从业人数“{raw}”超出合理范围。")
        return int(value)

    def _tags(self, raw: str) -> list[int]:
        ids, unknown = [], []
        for token in TAG_SEPARATORS.split(raw):
            if not token:
                continue
            tag_id = self.tags.get(token) or self.tags.get(token.upper())
            if tag_id is None:
                unknown.append(token)
            elif tag_id not in ids:
                ids.append(tag_id)
        if unknown:
            raise ValidationError(
                f"未知的企业标签：{'、'.join(unknown)}（应为标签编码或名称，如 QUAL01 / 高新技术企业）。"
            )
        return ids
