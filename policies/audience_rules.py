"""The audience rule: the grammar staff write and the engine evaluates, and its validation.

A policy's audience is a JSON tree over the enterprise register's vocabulary::

    {"all": [node, …]}   {"any": [node, …]}   {"not": node}
    {"tag": "QUAL01"}                                   the enterprise currently holds that portrait tag
    {"field": F, "op": OP, "value": V}                  a comparison on one of the enterprise's attributes

The policy owns its rule, so the grammar lives here; ``matching.rules`` evaluates it (three-valued, with
missing data unknown), explains it and compiles it to SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from core.models import Region
from enterprises.models import Enterprise, PortraitTag

MAX_DEPTH = 20  # nesting deeper than any rule a person writes; deeper input is refused, not recursed into
MAX_NODES = 2_000
MAX_NUMBER = 10**12  # 万元 / people / years: far above any real figure, small enough for every column

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

        return cls(
            dict(PortraitTag.objects.filter(is_active=True).values_list("code", "name")),
            dict(Region.objects.values_list("code", "name")),
        )


def validate_rule(rule: Any, vocabulary: Vocabulary | None = None) -> dict:
    """Return the rule if it is well formed; otherwise raise ValidationError naming the wrong node.

    Any JSON may arrive here (the admin's raw box, the dry-run API), so every type is checked before it is
    used, and the tree's depth and size are bounded before it is walked."""
    vocabulary = vocabulary or Vocabulary.load()
    _check(rule, "根节点", vocabulary, depth=0, budget=[MAX_NODES])
    return rule


def _fail(path: str, message: str):
    raise ValidationError(f"受众规则{path}有误：{message}", code="rule")


def _check(node: Any, path: str, vocab: Vocabulary, *, depth: int, budget: list[int]) -> None:
    if depth > MAX_DEPTH:
        _fail(path, f"嵌套超过 {MAX_DEPTH} 层，请简化规则。")
    budget[0] -= 1
    if budget[0] < 0:
        _fail(path, f"条件超过 {MAX_NODES} 个，请简化规则。")
    if not isinstance(node, dict) or len(node) == 0:
        _fail(path, '每个节点应为 JSON 对象，如 {"tag": "QUAL01"}。')
    keys = set(node)
    if keys in ({"all"}, {"any"}):
        (kind,) = keys
        children = node[kind]
        if not isinstance(children, list):
            _fail(path, f"“{kind}”的值应为列表。")
        for i, child in enumerate(children):
            _check(child, f"{path} › {kind}[{i}]", vocab, depth=depth + 1, budget=budget)
    elif keys == {"not"}:
        _check(node["not"], f"{path} › not", vocab, depth=depth + 1, budget=budget)
    elif keys == {"tag"}:
        if not isinstance(node["tag"], str) or node["tag"] not in vocab.tags:
            _fail(path, f"未知的标签编码“{_shown(node['tag'])}”。")
    elif keys == {"field", "op", "value"}:
        _check_leaf(node, path, vocab)
    else:
        _fail(path, f"不认识的节点 {_shown(sorted(map(str, keys)))}，应为 all / any / not / tag 或 field+op+value。")


def _shown(value: Any) -> str:
    """A value quoted in an error message, cut short: the message must stay readable whatever was sent."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _check_leaf(node: dict, path: str, vocab: Vocabulary) -> None:
    field, op, value = node["field"], node["op"], node["value"]
    spec = FIELDS.get(field) if isinstance(field, str) else None
    if spec is None:
        _fail(path, f"未知的字段“{_shown(field)}”，可用：{'、'.join(FIELDS)}。")
    if not isinstance(op, str) or op not in spec["ops"]:
        _fail(path, f"字段“{field}”不支持运算“{_shown(op)}”，可用：{'、'.join(sorted(spec['ops']))}。")
    if op in {"in", "between"} and not isinstance(value, list):
        _fail(path, f"运算“{op}”的值应为列表。")
    values = value if op in {"in", "between"} else [value]
    if op == "between" and len(value) != 2:
        _fail(path, "“between”的值应为 [下限, 上限] 两个数。")
    for item in values:
        if spec["kind"] == "number":
            if not isinstance(item, (int, float)) or isinstance(item, bool) or not math.isfinite(item):
                _fail(path, f"字段“{field}”的值应为数字，收到 {_shown(item)}。")
            if abs(item) > MAX_NUMBER:
                _fail(path, f"字段“{field}”的值 {_shown(item)} 超出范围。")
        elif not isinstance(item, str):
            _fail(path, f"字段“{field}”的值应为文字编码，收到 {_shown(item)}。")
        elif spec["kind"] == "region" and item not in vocab.regions:
            _fail(path, f"未知的区域代码“{_shown(item)}”。")
        elif spec["kind"] == "size" and item not in SIZE_LABELS:
            _fail(path, f"企业规模应为 large / medium / small / micro，收到 {_shown(item)}。")
        elif spec["kind"] == "industry" and (not item or not item[0].isalpha() or len(item) > 10):
            _fail(path, f"行业应为 GB/T 4754 代码或其前缀（如 C、C39），收到 {_shown(item)}。")
    if op == "between" and values[0] > values[1]:
        _fail(path, "“between”的下限大于上限。")
