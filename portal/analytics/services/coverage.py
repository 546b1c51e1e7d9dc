"""Who the open policies reach, and where the register's gaps hide firms, from the matching index (a beat task;
the dashboard reads ``CoverageCell`` and the "coverage" snapshot).

For every open policy and district: the firms the rule is true for (its audience) and those it is unknown for
(数据缺失: neither true nor false in Kleene logic), with, per field the rule asks about, how many of those lack
it ("12,000 firms might qualify if their revenue were known"). Then the firms no open policy reaches, per
district, with their split by size and industry section, kept as a bitmap for the drill-down list; and the
portrait tags no published policy's rule mentions. Skipped when neither the register nor the policies
changed since the last run on the same day.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values
from pyroaring import BitMap

from core import changes
from core.models import Region
from enterprises.models import PortraitTag
from matching.index import get_index
from policies.models import Policy, Window, window_q
from portal.analytics.models import CoverageCell, Snapshot

COVERAGE = "coverage"
# A rule's field → the index's "known" bitmap that says who has a value for it.
KNOWN_KEYS = {
    "region": "region",
    "industry": "industry",
    "size_class": "size_class",
    "age_years": "founded_on",
    "registered_capital": "registered_capital",
    "employees": "employees",
    "annual_revenue": "annual_revenue",
}


def rule_fields(node) -> set[str]:
    """The fields a rule asks about."""
    if isinstance(node, dict):
        found = {node["field"]} if "field" in node else set()
        for key in ("all", "any"):
            for child in node.get(key, []):
                found |= rule_fields(child)
        if "not" in node:
            found |= rule_fields(node["not"])
        return found
    return set()


def rule_tags(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["tag"]} if "tag" in node else set()
        for key in ("all", "any"):
            for child in node.get(key, []):
                found |= rule_tags(child)
        if "not" in node:
            found |= rule_tags(node["not"])
        return found
    return set()


def _state_key(today) -> str:
    return f"{today}:{changes.current_generation()}:{changes.current_generation(changes.POLICIES)}"


def coverage_refresh(*, force: bool = False) -> Snapshot | None:
    """Recompute the coverage cells and snapshot; None when nothing changed since the last run today."""
    today = timezone.localdate()
    key = _state_key(today)
    previous = Snapshot.objects.filter(key=COVERAGE).first()
    if previous and previous.data.get("state") == key and not force:
        return None
    started = time.perf_counter()
    index = get_index()
    region_ids = dict(Region.objects.values_list("code", "pk"))
    regions: dict[int | None, BitMap] = {region_ids.get(code): firms for code, firms in index.regions.items()}
    regions[None] = index.everyone - index.known.get("region", BitMap())
    open_policies = list(
        Policy.objects.filter(window_q(Window.OPEN, today), status=Policy.Status.PUBLISHED).values_list(
            "pk", "audience_rule"
        )
    )
    rows, reached = [], BitMap()
    for pk, rule in open_policies:
        rule = rule or {"all": []}
        true, false = index.evaluate(rule, today)
        reached |= true
        unknown = index.everyone - true - false
        fields = sorted(rule_fields(rule))
        for region_id, firms in regions.items():
            audience = true.intersection_cardinality(firms)
            unknown_here = unknown & firms
            missing = {f: unknown_here.difference_cardinality(index.known[KNOWN_KEYS[f]]) for f in fields}
            if audience or unknown_here:
                rows.append((pk, region_id, audience, len(unknown_here), json.dumps(missing), "{}", None))
    uncovered = index.everyone - reached
    sections: dict[str, BitMap] = defaultdict(BitMap)
    for code, firms in index.industries.items():
        sections[code[:1]] |= firms
    for region_id, firms in regions.items():
        left = uncovered & firms
        if not left:
            continue
        breakdown = {
            "size": {size: left.intersection_cardinality(b) for size, b in index.sizes.items()},
            "section": {s: n for s, b in sorted(sections.items()) if (n := left.intersection_cardinality(b))},
        }
        left.run_optimize()
        rows.append((None, region_id, len(left), 0, "{}", json.dumps(breakdown), left.serialize()))
    used = set().union(*(rule_tags(r or {}) for r in Policy.objects.filter(status=Policy.Status.PUBLISHED)
                         .values_list("audience_rule", flat=True)))  # fmt: skip
    unused = list(PortraitTag.objects.filter(is_active=True).exclude(code__in=used).values_list("code", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CoverageCell._meta.db_table}")
        execute_values(
            cursor,
            f"INSERT INTO {CoverageCell._meta.db_table} (policy_id, region_id, audience, unknown, missing, breakdown, "
            f"ids) VALUES %s",
            rows,
            template="(%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)",
            page_size=1000,
        )
        snapshot, _ = Snapshot.objects.update_or_create(
            key=COVERAGE,
            defaults={"data": {"state": key, "on": today.isoformat(), "open_policies": len(open_policies),
                               "firms": len(index.everyone), "unused_tags": unused},
                      "computed_at": timezone.now(), "seconds": round(time.perf_counter() - started, 3)},
        )  # fmt: skip
    return snapshot
