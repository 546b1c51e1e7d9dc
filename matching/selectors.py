"""Who qualifies for a policy, what a firm qualifies for, and why.

Audiences (one policy, many firms) come from the bitmap index. Packages, explanations and near-misses
(one firm, many policies) read that firm's facts fresh from PostgreSQL and run each open policy's
compiled rule, so a change to a firm shows at once in every process.
"""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.db import connection
from django.utils import timezone

from core import changes
from enterprises.models import PortraitTag
from matching.facts import facts_for
from matching.index import get_index
from matching.rules import (
    Facts,
    LeafResult,
    Truth,
    compile_rule,
    describe,
    evaluate,
    explain,
    leaf_value,
    near_miss,
)
from policies.audience_rules import Vocabulary
from policies.models import Policy, PolicyLabel, Window, application_window

# --- audiences -----------------------------------------------------------------------------------------------


@dataclass
class Audience:
    count: int
    by_region: dict[str, int]
    by_size: dict[str, int]
    sample: list[dict]
    ids: object  # BitMap


def audience_for_rule(*, rule: dict, on: datetime.date | None = None, sample: int = 10) -> Audience:
    on = on or timezone.localdate()
    index = get_index()
    ids = index.audience(rule, on)
    by_region = {code: len(ids & bitmap) for code, bitmap in index.regions.items()}
    by_size = {size: len(ids & bitmap) for size, bitmap in index.sizes.items()}
    chosen = [ids[i] for i in range(min(sample, len(ids)))]
    rows = []
    if chosen:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.uscc, e.name, COALESCE(r.name, '') FROM enterprises_enterprise e "
                "LEFT JOIN core_region r ON r.id = e.region_id WHERE e.id = ANY(%s) ORDER BY e.id",
                [chosen],
            )
            rows = [{"uscc": u, "name": n, "region": r} for u, n, r in cursor.fetchall()]
    return Audience(
        count=len(ids),
        by_region={k: v for k, v in by_region.items() if v},
        by_size={k: v for k, v in by_size.items() if v},
        sample=rows,
        ids=ids,
    )


def audience_for_policy(*, policy: Policy, on: datetime.date | None = None, sample: int = 10) -> Audience:
    return audience_for_rule(rule=policy.audience_rule or {"all": []}, on=on, sample=sample)


# --- open policies, compiled once per process ---------------------------------------------------------------


@dataclass(frozen=True)
class OpenPolicy:
    id: int
    title: str
    short_title: str
    level: str
    delivery: str
    apply_start: datetime.date | None
    apply_end: datetime.date | None
    max_amount: Decimal | None
    label_ids: frozenset[int]
    rule: dict
    check: object  # compiled rule

    def window_open(self, on: datetime.date) -> bool:
        return application_window(self.apply_start, self.apply_end, on) == Window.OPEN


_policies: tuple[int, list[OpenPolicy]] | None = None
_policies_lock = threading.Lock()


def open_policies(on: datetime.date) -> list[OpenPolicy]:
    """Published policies whose application has not closed; rebuilt when any policy changes."""
    global _policies
    generation = changes.current_generation(changes.POLICIES)
    with _policies_lock:
        if _policies is None or _policies[0] != generation:
            rows = (
                Policy.objects.filter(status=Policy.Status.PUBLISHED)
                .prefetch_related("labels")
                .only(
                    "id",
                    "title",
                    "short_title",
                    "level",
                    "delivery",
                    "apply_start",
                    "apply_end",
                    "max_amount",
                    "valid_until",
                    "audience_rule",
                )  # fmt: skip
            )
            _policies = (
                generation,
                [
                    OpenPolicy(
                        p.id,
                        p.title,
                        p.short_title,
                        p.level,
                        p.delivery,
                        p.apply_start,
                        p.apply_end,
                        p.max_amount,
                        frozenset(label.id for label in p.labels.all()),
                        p.audience_rule or {"all": []},
                        compile_rule(p.audience_rule or {"all": []}),
                    )  # fmt: skip
                    for p in rows
                    if p.valid_until is None or p.valid_until >= on
                ],
            )
        return [p for p in _policies[1] if p.apply_end is None or p.apply_end >= on]


def _rank(policy: OpenPolicy, on: datetime.date, subscribed: frozenset[int]):
    """Open window first, then the nearest deadline, larger support, and labels the firm follows."""
    deadline = policy.apply_end.toordinal() if policy.apply_end else datetime.date.max.toordinal()
    return (
        not policy.window_open(on),
        deadline,
        -(policy.max_amount or 0),
        -len(policy.label_ids & subscribed),
        policy.id,
    )


# --- one firm --------------------------------------------------------------------------------------------


@dataclass
class PackageItem:
    policy: OpenPolicy
    window_open: bool
    days_left: int | None
    reasons: list[LeafResult]


def package_for_enterprise(
    *, enterprise_id: int, on: datetime.date | None = None, subscribed_labels: frozenset[int] = frozenset()
) -> list[PackageItem]:
    """Open published policies the firm qualifies for, ranked, each with the reasons it qualifies."""
    on = on or timezone.localdate()
    facts = facts_for([enterprise_id], on).get(enterprise_id)
    if facts is None:
        return []
    vocab = _vocabulary()
    matched = [p for p in open_policies(on) if p.check(facts, on) is True]
    matched.sort(key=lambda p: _rank(p, on, subscribed_labels))
    return [
        PackageItem(
            p, p.window_open(on), (p.apply_end - on).days if p.apply_end else None, explain(p.rule, facts, on, vocab)
        )
        for p in matched
    ]


@dataclass
class Explanation:
    qualifies: Truth
    state: str
    leaves: list[LeafResult]


def explain_match(*, enterprise_id: int, policy: Policy, on: datetime.date | None = None) -> Explanation:
    on = on or timezone.localdate()
    facts = facts_for([enterprise_id], on)[enterprise_id]
    rule = policy.audience_rule or {"all": []}
    result = evaluate(rule, facts, on)
    state = {True: "符合条件", False: "不符合条件", None: "数据不足，暂无法判断"}[result]
    return Explanation(result, state, explain(rule, facts, on, _vocabulary()))


def explain_policies(
    *, facts: Facts, policies: list[Policy], on: datetime.date | None = None, generation: int | None = None
) -> dict[int, list[LeafResult]]:
    """Why the firm meets (or not) each policy's conditions: policy id → leaves. ``generation``: the policies'
    generation when the caller has just read it (a link page reads it once per request)."""
    on = on or timezone.localdate()
    vocab = _vocabulary(generation)
    return {p.pk: explain(p.audience_rule or {"all": []}, facts, on, vocab) for p in policies}


@dataclass
class NearMiss:
    policy: OpenPolicy
    missing: list[str]  # alternatives: each one alone would make the firm qualify

    @property
    def message(self) -> str:
        return "还差一项：" + "；或".join(self.missing)


def _actionable(leaf: dict, facts: Facts, on: datetime.date) -> bool:
    """What an enterprise can act on: a qualification it could obtain (or lose), or a figure the register
    does not know, which it can supply. Where it is registered, its industry or age it cannot change."""
    return "tag" in leaf or leaf_value(leaf, facts, on) is None


def _missing_words(leaf: dict, negated: bool, facts: Facts, on: datetime.date, vocab: Vocabulary) -> str:
    words = describe(leaf, vocab, negated)[0]
    return words if "tag" in leaf else f"{words}（平台暂无贵企业该项数据，可在“我的政策包”中申请补充）"


def near_misses_for_enterprise(*, enterprise_id: int, on: datetime.date | None = None) -> list[NearMiss]:
    """Open policies the firm does not qualify for where turning a single condition would change that."""
    on = on or timezone.localdate()
    facts = facts_for([enterprise_id], on).get(enterprise_id)
    if facts is None:
        return []
    vocab = _vocabulary()
    found = []
    for policy in open_policies(on):
        if policy.check(facts, on) is True or not policy.rule:
            continue
        leaves = [
            (leaf, negated) for leaf, negated in near_miss(policy.rule, facts, on) if _actionable(leaf, facts, on)
        ]
        if leaves:
            found.append(
                NearMiss(policy, [_missing_words(leaf, negated, facts, on, vocab) for leaf, negated in leaves])
            )
    found.sort(key=lambda n: _rank(n.policy, on, frozenset()))
    return found


_vocab_cache: tuple[int, Vocabulary] | None = None


def reset_caches() -> None:
    """Forget this process's compiled policies and vocabulary (tests; after restoring a database)."""
    global _policies, _vocab_cache
    with _policies_lock:
        _policies = None
        _vocab_cache = None


def _vocabulary(generation: int | None = None) -> Vocabulary:
    """Tag and region names, reloaded when policies (and so their vocabulary) change (read afresh without Redis)."""
    global _vocab_cache
    if generation is None:
        generation = changes.current_generation_if_known(changes.POLICIES)
    if generation is None:  # Redis unreachable: read afresh, keep nothing
        return Vocabulary.load()
    if _vocab_cache is None or _vocab_cache[0] != generation:
        _vocab_cache = (generation, Vocabulary.load())
    return _vocab_cache[1]


AFFINITY_FILE = Path(__file__).parent / "data" / "label_tag_affinity.json"


@cache
def _label_tag_affinity() -> dict[str, list[str]]:
    """Label category → suggested tag codes; a file shipped with the code, read once per process."""
    return json.loads(AFFINITY_FILE.read_text(encoding="utf-8"))["affinity"]


def suggested_tags(label_ids: list[int]) -> list[dict]:
    """Portrait tags that usually go with the chosen policy labels (a map kept as data)."""
    affinity = _label_tag_affinity()
    categories = PolicyLabel.objects.filter(pk__in=label_ids).values_list("category__code", flat=True)
    codes = list(dict.fromkeys(code for cat in categories for code in affinity.get(cat, [])))
    names = dict(PortraitTag.objects.filter(code__in=codes).values_list("code", "name"))
    return [{"code": code, "name": names[code]} for code in codes if code in names]
