"""Reads for 兑现: a round's entries and why each firm is on it, as frozen."""

from __future__ import annotations

import datetime

from matching.rules import Facts, LeafResult, explain
from policies.audience_rules import Vocabulary
from portal.payouts.models import PayoutEntry, PayoutRound


def entry_facts(*, entry: PayoutEntry) -> Facts:
    """The firm's facts as frozen with the round (what the rule and the standard read that day)."""
    f = entry.facts or {}
    founded = f.get("founded_on")
    return Facts(
        id=entry.enterprise_id,
        tags=frozenset(f.get("tags", [])),
        region=f.get("region"),
        industry=f.get("industry"),
        size_class=f.get("size_class"),
        founded_on=datetime.date.fromisoformat(founded) if founded else None,
        registered_capital=_decimal(f.get("registered_capital")),
        employees=f.get("employees"),
        annual_revenue=_decimal(f.get("annual_revenue")),
    )


def _decimal(value):
    from decimal import Decimal

    return None if value is None else Decimal(str(value))


def entry_explanation(*, entry: PayoutEntry, round_: PayoutRound | None = None) -> list[LeafResult]:
    """Why the firm is on the list, condition by condition, as evaluated on the freeze date with the frozen
    rule and names: the register or the rule changing later does not change it."""
    round_ = round_ or entry.round
    vocab = Vocabulary(round_.vocabulary.get("tags", {}), round_.vocabulary.get("regions", {}))
    return explain(round_.rule, entry_facts(entry=entry), round_.frozen_on, vocab)
