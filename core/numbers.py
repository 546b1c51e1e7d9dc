"""Amounts as people read them: 万元 figures with thousands separators, and 亿元 from 10,000 万元 on
("765076.11" 万元 → "76.51 亿元"). One place, so the portal's pages and the matching explanations agree."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

YI_IN_WAN = Decimal(10_000)  # 1 亿元 = 10,000 万元
CENT = Decimal("0.01")


def _plain(number: Decimal) -> str:
    """Two decimals at most, trailing zeros dropped, thousands separated: 1234.50 → "1,234.5"."""
    number = number.quantize(CENT, rounding=ROUND_HALF_UP)
    whole = number == number.to_integral_value()
    return f"{number:,.0f}" if whole else f"{number.normalize():,f}"


def wan_yuan_parts(value) -> tuple[str, str]:
    """(figure, unit) for an amount in 万元; ("", "") when there is no amount to show."""
    if value is None or value == "":
        return "", ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value), ""
    if not number.is_finite():
        return str(value), ""
    if abs(number) >= YI_IN_WAN:
        return _plain(number / YI_IN_WAN), "亿元"
    return _plain(number), "万元"


def wan_yuan(value) -> str:
    """An amount in 万元 as text with its unit: 200 → "200 万元", 765076.11 → "76.51 亿元"."""
    figure, unit = wan_yuan_parts(value)
    return f"{figure} {unit}" if unit else figure


def thousands(value) -> str:
    """A count with thousands separators: 1110000 → "1,110,000"."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def yuan(value) -> str:
    """An amount in 元 with two decimals and thousands separators: 50000 → "50,000.00"."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)
