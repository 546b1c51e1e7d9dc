"""A policy's amount standard as SQL over a firm ``e``: the one place an amount is worked out.

A share is taken of a figure the register keeps in 万元, capped, then rounded to the standard's unit; a
firm without the figure gets NULL, which the freeze turns into "not listed, because …", never into 0.
"""

from __future__ import annotations

from decimal import Decimal

from portal.payouts.models import PayoutStandard

Kind, Rounding = PayoutStandard.Kind, PayoutStandard.Rounding
WAN = 10_000  # register figures are in 万元


def amount_sql(standard: dict) -> tuple[str, list]:
    """SQL (numeric, or NULL) for a frozen standard (``PayoutStandard.snapshot()``), and its parameters.

    One multiplication per firm (万元 × 10,000 × rate / 100, folded into one factor), the cap, then the
    rounding unit; the result is an exact multiple of the unit, so storing it at 2 decimals changes nothing."""
    unit = Decimal(standard["rounding_unit"])
    column = None
    if standard["kind"] == Kind.FIXED:
        raw, params = "%s::numeric", [Decimal(standard["fixed_amount"])]
    else:
        column = PayoutStandard.Basis(standard["basis"]).value  # a known column name, never user text
        raw, params = f"(e.{column} * %s::numeric)", [WAN * Decimal(standard["rate_percent"]) / 100]
    if standard.get("cap") is not None:
        raw, params = f"LEAST({raw}, %s::numeric)", [*params, Decimal(standard["cap"])]
    rounded = "floor" if standard["rounding"] == Rounding.DOWN else "round"
    amount = f"{rounded}({raw} / %s::numeric) * %s::numeric"
    if column:  # LEAST() skips NULLs: a missing figure must stay missing, not become the cap
        amount = f"CASE WHEN e.{column} IS NULL THEN NULL ELSE {amount} END"
    return amount, [*params, unit, unit]


def missing_reason(standard: dict) -> str:
    """Why a firm without the figure is not listed."""
    if standard["kind"] == Kind.FIXED:
        return ""
    return f"缺少{PayoutStandard.Basis(standard['basis']).label}数据，无法核定金额"


ZERO_REASON = "核定金额为 0"
