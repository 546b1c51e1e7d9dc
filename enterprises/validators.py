"""Validation of enterprise identifiers: USCC (GB 32100-2015), mainland mobiles, GB/T 4754-2017 codes.

Each ``normalize_*`` function returns the canonical form or raises ``ValidationError`` with a
Chinese message naming the field, so the admin, the importer and the API refuse bad values alike.
"""

from __future__ import annotations

import operator
import re

from django.core.exceptions import ValidationError

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_CHARSET)}
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$")

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

# GB/T 4754-2017: section letter -> (first division, last division), 97 divisions in all.
INDUSTRY_SECTIONS: dict[str, tuple[str, int, int]] = {
    "A": ("农、林、牧、渔业", 1, 5),
    "B": ("采矿业", 6, 12),
    "C": ("制造业", 13, 43),
    "D": ("电力、热力、燃气及水生产和供应业", 44, 46),
    "E": ("建筑业", 47, 50),
    "F": ("批发和零售业", 51, 52),
    "G": ("交通运输、仓储和邮政业", 53, 60),
    "H": ("住宿和餐饮业", 61, 62),
    "I": ("信息传输、软件和信息技术服务业", 63, 65),
    "J": ("金融业", 66, 69),
    "K": ("房地产业", 70, 70),
    "L": ("租赁和商务服务业", 71, 72),
    "M": ("科学研究和技术服务业", 73, 75),
    "N": ("水利、环境和公共设施管理业", 76, 79),
    "O": ("居民服务、修理和其他服务业", 80, 82),
    "P": ("教育", 83, 83),
    "Q": ("卫生和社会工作", 84, 85),
    "R": ("文化、体育和娱乐业", 86, 90),
    "S": ("公共管理、社会保障和社会组织", 91, 96),
    "T": ("国际组织", 97, 97),
}
_INDUSTRY_RE = re.compile(r"^([A-T])(\d{2}(\d{1,2})?)?$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are given."""
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, first17[:17]), USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str:
    code = (value or "").strip().upper()
    if not code:
        raise ValidationError("统一社会信用代码不能为空。", code="required")
    if len(code) != 18:
        raise ValidationError(f"统一社会信用代码应为 18 位，实际为 {len(code)} 位。", code="length")
    if not _USCC_SHAPE.match(code):
        raise ValidationError(
            "统一社会信用代码含有不允许的字符（不使用 I、O、S、V、Z，第 3–8 位为行政区划数字）。", code="charset"
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValidationError(f"统一社会信用代码校验位错误：第 18 位应为 {expected}。", code="checksum")
    return code


def normalize_mobile(value: str) -> str:
    """Canonical form: 11 digits. Accepts ``+86``/``86`` prefixes, spaces and dashes."""
    raw = re.sub(r"[\s\-()]", "", value or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    elif raw.startswith("86") and len(raw) == 13:
        raw = raw[2:]
    if not MOBILE_RE.match(raw):
        raise ValidationError(f"联系电话“{value}”不是有效的大陆手机号码（应为 1 开头的 11 位数字）。", code="mobile")
    return raw


def normalize_industry(value: str) -> str:
    """A GB/T 4754 code: a section letter, optionally followed by a division (and group) that belongs to it."""
    code = (value or "").strip().upper()
    match = _INDUSTRY_RE.match(code)
    if not match:
        raise ValidationError(f"行业代码“{value}”格式不正确，应为门类字母加两位大类代码，如 C39。", code="industry")
    section, digits = match.group(1), match.group(2)
    if digits:
        _, first, last = INDUSTRY_SECTIONS[section]
        if not first <= int(digits[:2]) <= last:
            raise ValidationError(
                f"行业代码“{value}”有误：大类 {digits[:2]} 不属于门类 {section}（应在 {first:02d}–{last:02d}）。",
                code="industry",
            )
    return code


def mask_mobile(mobile: str) -> str:
    """138****1234: what lists and logs show of a phone number."""
    if not mobile or len(mobile) < 7:
        return mobile or ""
    return f"{mobile[:3]}****{mobile[-4:]}"


def validate_uscc(value: str) -> None:
    normalize_uscc(value)


def validate_mobile(value: str) -> None:
    normalize_mobile(value)


def validate_industry(value: str) -> None:
    normalize_industry(value)
