"""Audience rules: the public contract shared by the admin, the API and the engine.

A rule is a JSON tree::

    {"all": [node, …]}   {"any": [node, …]}   {"not": node}
    {"tag": "QUAL01"}                                   the firm currently holds that portrait tag
    {"field": F, "op": OP, "value": V}                  a comparison on one of the firm's attributes

Missing data is *unknown*, not false, and the tree is evaluated in three-valued (Kleene) logic; a
firm qualifies only when the root is true. This module holds the validator, the reference evaluator
in plain Python (which also explains results and finds near-misses), and a compiler to SQL, whose
NULL logic is the same Kleene logic.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from enterprises.derivation import whole_years
from enterprises.models import Enterprise

Tri = bool | None  # True, False, or None for unknown

FIELDS: dict[str, dict] = {
    "region": {"label": "所属区域", "ops": {"in", "eq"}, "kind": "region"},
    "industry": {"label": "行业", "ops": {"in", "eq", "prefix"}, "kind": "industry"},
    "size_class": {"label": "企业规模", "ops": {"in", "eq"}, "kind": "size"},
    "age_years": {"label": "成立年限（年）", "ops": {"eq", "gte", "lte", "between"}, "kind": "number"},
    "registered_capital": {"label": "注册资本（万元）", "ops": {"eq", "gte", "lte", "between"}, "kind": "number"},
    "employees": {"label": "从业人数", "ops": {"eq", "gte", "lte", "between"}, "kind": "number"},
    "annual_revenue": {"label": "营业收入（万元）", "ops": {"eq", "gte", "lte", "between"}, "kind": "number"},
}
OP_LABELS = {"in": "属于", "eq": "等于", "prefix": "以…开头", "gte": "不少于", "lte": "不超过", "between": "介于"}
SIZE_LABELS = dict(Enterprise.Size.choices)


# --- validation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """What leaves may name: tag codes and region codes known to the system."""

    tags: dict[str, str]  # code -> name
    regions: dict[str, str]  # code -> name

    @classmethod
    def load(cls) -> Vocabulary:
        from core.models import Region
        from enterprises.models import PortraitTag

        return cls(
            dict(PortraitTag.objects.filter(is_active=True).values_list("code", "name")),
            dict(Region.objects.values_list("code", "name")),
        )


def validate_rule(rule: Any, vocabulary: Vocabulary | None = None) -> dict:
    """Return the rule if it is well formed; otherwise raise ValidationError naming the wrong node."""
    vocabulary = vocabulary or Vocabulary.load()
    _check(rule, "根节点", vocabulary)
    return rule


def _fail(path: str, message: str):
    raise ValidationError(f"受众规则{path}有误：{message}", code="rule")


def _check(node: Any, path: str, vocab: Vocabulary) -> None:
    if not isinstance(node, dict) or len(node) == 0:
        _fail(path, '每个节点应为 JSON 对象，如 {"tag": "QUAL01"}。')
    keys = set(node)
    if keys in ({"all"}, {"any"}):
        (kind,) = keys
        children = node[kind]
        if not isinstance(children, list):
            _fail(path, f"“{kind}”的值应为列表。")
        for i, child in enumerate(children):
            _check(child, f"{path} › {kind}[{i}]", vocab)
    elif keys == {"not"}:
        _check(node["not"], f"{path} › not", vocab)
    elif keys == {"tag"}:
        if node["tag"] not in vocab.tags:
            _fail(path, f"未知的标签编码“{node['tag']}”。")
    elif keys == {"field", "op", "value"}:
        _check_leaf(node, path, vocab)
    else:
        _fail(path, f"不认识的节点 {sorted(keys)}，应为 all / any / not / tag 或 field+op+value。")


def _check_leaf(node: dict, path: str, vocab: Vocabulary) -> None:
    field, op, value = node["field"], node["op"], node["value"]
    spec = FIELDS.get(field)
    if spec is None:
        _fail(path, f"未知的字段“{field}”，可用：{'、'.join(FIELDS)}。")
    if op not in spec["ops"]:
        _fail(path, f"字段“{field}”不支持运算“{op}”，可用：{'、'.join(sorted(spec['ops']))}。")
    values = value if op in {"in", "between"} else [value]
    if op in {"in", "between"} and not isinstance(value, list):
        _fail(path, f"运算“{op}”的值应为列表。")
    if op == "between" and len(value) != 2:
        _fail(path, "“between”的值应为 [下限, 上限] 两个数。")
    for item in values:
        if spec["kind"] == "number":
            if not isinstance(item, (int, float)) or isinstance(item, bool):
                _fail(path, f"字段“{field}”的值应为数字，收到 {item!r}。")
        elif spec["kind"] == "region" and item not in vocab.regions:
            _fail(path, f"未知的区域代码“{item}”。")
        elif spec["kind"] == "size" and item not in SIZE_LABELS:
            _fail(path, f"企业规模应为 large / medium / small / micro，收到 {item!r}。")
        elif spec["kind"] == "industry" and (not isinstance(item, str) or not item or not item[0].isalpha()):
            _fail(path, f"行业应为 GB/T 4754 代码或其前缀（如 C、C39），收到 {item!r}。")
    if op == "between" and values[0] > values[1]:
        _fail(path, "“between”的下限大于上限。")


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


def leaf_value(node: dict, facts: Facts, on: datetime.date) -> Tri:
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


def evaluate(node: dict, facts: Facts, on: datetime.date, forced: dict[int, bool] | None = None) -> Tri:
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
    """The rule as nested closures ``f(facts, on) -> Tri``: the same semantics as ``evaluate``, several
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


@dataclass(frozen=True)
class LeafResult:
    description: str  # the condition in Chinese, e.g. "需为高新技术企业"
    state: str  # 满足 / 不满足 / 数据缺失
    actual: str  # the firm's value, in words
    required: str


def describe(node: dict, vocab: Vocabulary, negated: bool = False) -> tuple[str, str]:
    """(condition in Chinese, required value in words) for one leaf."""
    if "tag" in node:
        name = vocab.tags.get(node["tag"], node["tag"])
        return (f"不能是{name}" if negated else f"需为{name}"), name
    spec = FIELDS[node["field"]]
    value = node["value"]
    if spec["kind"] == "region":
        items = value if isinstance(value, list) else [value]
        words = "、".join(vocab.regions.get(v, v) for v in items)
    elif spec["kind"] == "size":
        items = value if isinstance(value, list) else [value]
        words = "、".join(SIZE_LABELS.get(v, v) for v in items)
    elif node["op"] == "between":
        words = f"{value[0]} 至 {value[1]}"
    else:
        words = "、".join(map(str, value)) if isinstance(value, list) else str(value)
    op = OP_LABELS[node["op"]]
    text = f"{spec['label']}{op}{words}"
    return (f"{spec['label']}不能{op}{words}" if negated else text), words


def _actual(node: dict, facts: Facts, on: datetime.date, vocab: Vocabulary) -> str:
    if "tag" in node:
        return "持有" if node["tag"] in facts.tags else "未持有"
    value = field_value(facts, node["field"], on)
    if value is None:
        return "无数据"
    kind = FIELDS[node["field"]]["kind"]
    if kind == "region":
        return vocab.regions.get(value, value)
    if kind == "size":
        return SIZE_LABELS.get(value, value)
    return str(value)


def explain(rule: dict, facts: Facts, on: datetime.date, vocab: Vocabulary) -> list[LeafResult]:
    """Each leaf of the rule with 满足 / 不满足 / 数据缺失, the firm's value and the required one."""
    results = []
    for leaf, negated in leaves(rule):
        value = leaf_value(leaf, facts, on)
        if negated and value is not None:
            value = not value
        description, required = describe(leaf, vocab, negated)
        results.append(LeafResult(description, STATE_LABELS[value], _actual(leaf, facts, on, vocab), required))
    return results


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
