"""Evaluating audience rules (their grammar and validation are ``policies.audience_rules``).

Missing data is *unknown*, not false, and the tree is evaluated in three-valued (Kleene) logic; an
enterprise qualifies only when the root is true. This module holds the reference evaluator in plain
Python (which also explains results and finds near-misses), compiled closures for one enterprise against
many policies, and a compiler to SQL, whose NULL logic is the same Kleene logic.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from core.numbers import wan_yuan
from enterprises.derivation import whole_years
from enterprises.industries import industry_label, industry_name
from policies.audience_rules import FIELDS, SIZE_LABELS, Vocabulary

Truth = bool | None  # Kleene logic: True, False, or None for unknown

# --- facts and the reference evaluator ------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a rule can ask about one firm. None means the register does not know."""

    id: int
    tags: frozenset[str]  # tag codes currently held (certificates not expired, derived tags included)
    region: str | None  # region code
    industry: str | None
    size_class: str | None
    founded_on: datetime.date | None
    registered_capital: Decimal | None
    employees: int | None
    annual_revenue: Decimal | None


def field_value(facts: Facts, field: str, on: datetime.date):
    if field == "age_years":
        return None if facts.founded_on is None else whole_years(facts.founded_on, on)
    value = getattr(facts, field)
    return None if value in ("", None) else value


def leaf_value(node: dict, facts: Facts, on: datetime.date) -> Truth:
    if "tag" in node:
        return node["tag"] in facts.tags
    actual = field_value(facts, node["field"], on)
    if actual is None:
        return None
    op, value = node["op"], node["value"]
    if op == "prefix":
        return str(actual).startswith(str(value))
    if op == "in":
        return actual in value
    if op == "eq":
        return actual == _number(value) if FIELDS[node["field"]]["kind"] == "number" else actual == value
    if op == "gte":
        return actual >= _number(value)
    if op == "lte":
        return actual <= _number(value)
    return _number(value[0]) <= actual <= _number(value[1])  # between, inclusive


def _number(value) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - validated before
        raise ValidationError(f"不是数字：{value!r}") from None


def evaluate(node: dict, facts: Facts, on: datetime.date, forced: dict[int, bool] | None = None) -> Truth:
    """Kleene evaluation; ``forced`` maps id(leaf) → value, used to ask "what if this leaf were true"."""
    if forced and id(node) in forced:
        return forced[id(node)]
    if "all" in node:
        results = [evaluate(child, facts, on, forced) for child in node["all"]]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if "any" in node:
        results = [evaluate(child, facts, on, forced) for child in node["any"]]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if "not" in node:
        inner = evaluate(node["not"], facts, on, forced)
        return None if inner is None else not inner
    return leaf_value(node, facts, on)


def leaves(node: dict, negated: bool = False) -> Iterator[tuple[dict, bool]]:
    """Each leaf in order, with whether an odd number of ``not`` nodes sits above it."""
    if "all" in node or "any" in node:
        for child in node.get("all", node.get("any", [])):
            yield from leaves(child, negated)
    elif "not" in node:
        yield from leaves(node["not"], not negated)
    else:
        yield node, negated


def compile_rule(node: dict):
    """The rule as nested closures ``f(facts, on) -> Truth``: the same semantics as ``evaluate``, several
    times faster, for checking one firm against thousands of policies."""
    if "all" in node or "any" in node:
        # all: one false child decides; any: one true child decides. Otherwise unknown wins over the rest.
        decisive = "any" in node
        parts = [compile_rule(child) for child in node["any" if decisive else "all"]]

        def combined(facts, on):
            unknown = False
            for part in parts:
                value = part(facts, on)
                if value is decisive:
                    return decisive
                if value is None:
                    unknown = True
            return None if unknown else not decisive

        return combined
    if "not" in node:
        inner = compile_rule(node["not"])

        def negate(facts, on):
            value = inner(facts, on)
            return None if value is None else not value

        return negate
    if "tag" in node:
        code = node["tag"]
        return lambda facts, on: code in facts.tags
    return lambda facts, on: leaf_value(node, facts, on)


# --- explanations and near-misses ------------------------------------------------------------------------


STATE_LABELS = {True: "满足", False: "不满足", None: "数据缺失"}
UNITS = {"age_years": "年", "registered_capital": "万元", "employees": "人", "annual_revenue": "万元"}
PLAIN_OPS = {"in": "属于", "eq": "为", "prefix": "属于", "gte": "不少于", "lte": "不超过"}
GROUP_LABELS = {"all": "同时满足以下各项", "any": "满足以下任一项", "not": "不属于以下情形"}


@dataclass(frozen=True)
class LeafResult:
    """One line of an explanation: a condition, or the heading of a group of conditions (``is_group``)."""

    description: str  # the condition in plain Chinese, e.g. "需为高新技术企业", "行业属于 批发和零售业"
    state: str  # 满足 / 不满足 / 数据缺失
    actual: str  # the enterprise's value, in words ("" for a group)
    required: str
    depth: int = 0  # nesting under group headings
    is_group: bool = False


def _number_words(value, field: str) -> str:
    if UNITS.get(field) == "万元":
        return wan_yuan(value)  # 765,076.11 万元 reads as 76.51 亿元
    number = Decimal(str(value))
    number = number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    unit = UNITS.get(field, "")
    return f"{number:,f}" + (f" {unit}" if unit else "")


def _value_words(field: str, value, vocab: Vocabulary) -> str:
    kind = FIELDS[field]["kind"]
    if kind == "region":
        return vocab.regions.get(value, value)
    if kind == "size":
        return SIZE_LABELS.get(value, value)
    if kind == "industry":
        return industry_name(value)
    return _number_words(value, field)


def describe(node: dict, vocab: Vocabulary, negated: bool = False) -> tuple[str, str]:
    """(condition in plain Chinese, required value in words) for one leaf: names, never codes."""
    if "tag" in node:
        name = vocab.tags.get(node["tag"], node["tag"])
        return (f"不能是{name}" if negated else f"需为{name}"), name
    field, op, value = node["field"], node["op"], node["value"]
    label = FIELDS[field]["label"].split("（")[0]
    if op == "between":
        words = f"{_number_words(value[0], field)} 至 {_number_words(value[1], field)}"
        return (f"{label}不能在{words}之间" if negated else f"{label}在{words}之间"), words
    items = value if isinstance(value, list) else [value]
    words = "、".join(_value_words(field, item, vocab) for item in items)
    if FIELDS[field]["kind"] == "number":
        return (f"{label}不能{PLAIN_OPS[op]}{words}" if negated else f"{label}{PLAIN_OPS[op]}{words}"), words
    return (f"{label}不{PLAIN_OPS[op]} {words}" if negated else f"{label}{PLAIN_OPS[op]} {words}"), words


def _actual(node: dict, facts: Facts, on: datetime.date, vocab: Vocabulary) -> str:
    if "tag" in node:
        return "持有" if node["tag"] in facts.tags else "未持有"
    field = node["field"]
    value = field_value(facts, field, on)
    if value is None:
        return "无数据"
    if FIELDS[field]["kind"] == "industry":
        return industry_label(value)
    return _value_words(field, value, vocab)


def explain(rule: dict, facts: Facts, on: datetime.date, vocab: Vocabulary) -> list[LeafResult]:
    """The rule as lines a person reads: 满足 / 不满足 / 数据缺失 with the enterprise's value and the required one.

    Groups other than the top-level "all" get a heading ("满足以下任一项" …) and indented lines. When the
    enterprise qualifies, an "any" group shows only the branches that made it true: a condition it does
    not meet is never presented as a reason it qualifies.
    """
    qualifies = evaluate(rule, facts, on) is True
    lines: list[LeafResult] = []

    def walk(node: dict, depth: int, negated: bool) -> None:
        kind = next((k for k in ("all", "any") if k in node), None)
        if kind is None and "not" in node and any(k in node["not"] for k in ("all", "any", "not")):
            kind = "not"
        if kind is None:
            inner, flipped = (node["not"], not negated) if "not" in node else (node, negated)
            value = leaf_value(inner, facts, on)
            if flipped and value is not None:
                value = not value
            description, required = describe(inner, vocab, flipped)
            lines.append(
                LeafResult(description, STATE_LABELS[value], _actual(inner, facts, on, vocab), required, depth)
            )
            return
        value = evaluate(node, facts, on)
        if kind == "not":
            lines.append(LeafResult(GROUP_LABELS["not"], STATE_LABELS[value], "", "", depth, is_group=True))
            for child in [node["not"]]:
                walk(child, depth + 1, negated)
            return
        children = node[kind]
        if qualifies and kind == "any" and value is True:
            children = [child for child in children if evaluate(child, facts, on) is True]
        if depth == 0 and kind == "all" and not lines:
            for child in children:
                walk(child, depth, negated)
            return
        lines.append(LeafResult(GROUP_LABELS[kind], STATE_LABELS[value], "", "", depth, is_group=True))
        for child in children:
            walk(child, depth + 1, negated)

    walk(rule, 0, False)
    return lines


def near_miss(rule: dict, facts: Facts, on: datetime.date) -> list[tuple[dict, bool]]:
    """Leaves that, turned the way the rule wants, would make the firm qualify on their own.

    Returns (leaf, negated) pairs; empty when the firm already qualifies or needs more than one change.
    """
    if evaluate(rule, facts, on) is True:
        return []
    found = []
    for leaf, negated in leaves(rule):
        wanted = not negated
        if leaf_value(leaf, facts, on) is wanted:
            continue
        if evaluate(rule, facts, on, {id(leaf): wanted}) is True:
            found.append((leaf, negated))
    return found


# --- SQL ---------------------------------------------------------------------------------------------------

SQL_COLUMNS = {
    "region": "r.code",
    "industry": "NULLIF(e.industry, '')",
    "size_class": "NULLIF(e.size_class, '')",
    "registered_capital": "e.registered_capital",
    "employees": "e.employees",
    "annual_revenue": "e.annual_revenue",
}


def to_sql(rule: dict, on: datetime.date, params: list) -> str:
    """A boolean SQL expression over ``e`` (the firm) and ``r`` (its region) with the rule's Kleene
    semantics: SQL comparisons with NULL are unknown, and AND/OR/NOT treat unknown the same way."""
    if "all" in rule:
        parts = [to_sql(child, on, params) for child in rule["all"]]
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"
    if "any" in rule:
        parts = [to_sql(child, on, params) for child in rule["any"]]
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"
    if "not" in rule:
        return f"(NOT {to_sql(rule['not'], on, params)})"
    if "tag" in rule:
        params.extend([rule["tag"], on, rule["tag"]])
        return (
            "(EXISTS (SELECT 1 FROM enterprises_enterprisetag t JOIN enterprises_portraittag p ON p.id = t.tag_id "
            "WHERE t.enterprise_id = e.id AND p.code = %s AND (t.valid_until IS NULL OR t.valid_until >= %s)) "
            "OR e.derived_tags && ARRAY(SELECT id FROM enterprises_portraittag WHERE code = %s))"
        )
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field == "age_years":
        params.append(on)
        column = "extract(year FROM age(%s::date, e.founded_on))"
    else:
        column = SQL_COLUMNS[field]
    if op == "prefix":
        params.append(str(value) + "%")
        predicate = f"{column} LIKE %s"
    elif op == "in":
        params.append(list(value))
        predicate = f"{column} = ANY(%s)"
    elif op == "between":
        params.extend(value)
        predicate = f"{column} BETWEEN %s AND %s"
    else:
        params.append(value)
        predicate = f"{column} {({'eq': '=', 'gte': '>=', 'lte': '<='})[op]} %s"
    # Missing data is unknown for every operator (NULL = ANY('{}') would otherwise be false).
    missing = "e.founded_on IS NULL" if field == "age_years" else f"{column} IS NULL"
    return f"(CASE WHEN {missing} THEN NULL ELSE {predicate} END)"
