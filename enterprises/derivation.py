"""Derived portrait tags and size class, from rules kept as data (TagRule, SizeThreshold).

Size class follows 工信部联企业〔2011〕300号: a firm is large/medium/small when it meets every bound
of that class for its industry group, micro when it misses a bound of the small class, and unknown
when a figure needed to decide is missing. Age buckets, district and industry-domain tags come from
``TagRule`` rows. One implementation (this module) serves the importer, the seeder and the nightly
refresh; the refresh reads firms in bulk and writes back only those whose result changed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from core.db import copy_rows
from core.models import Region
from enterprises.models import Enterprise, SizeStandard, TagRule

FIRMS = Enterprise._meta.db_table
SIZE_ORDER = ("large", "medium", "small")
Bounds = tuple[int | None, Decimal | None, Decimal | None]  # employees, revenue, assets


@dataclass(frozen=True)
class Rules:
    group_by_prefix: dict[str, str]  # industry code prefix ("*" = any other industry) -> group
    bounds: dict[str, dict[str, Bounds]]  # group -> size -> lower bounds
    region_tags: dict[int, tuple[int, ...]]  # region id -> tag ids
    size_tags: dict[str, tuple[int, ...]]
    industry_tags: dict[str, tuple[int, ...]]  # code prefix -> tag ids
    age_tags: tuple[tuple[int, int | None, int], ...]  # [from, to) years -> tag id

    @classmethod
    def load(cls) -> Rules:
        group_by_prefix: dict[str, str] = {}
        bounds: dict[str, dict[str, Bounds]] = defaultdict(dict)
        standard = SizeStandard.objects.filter(is_active=True).prefetch_related("thresholds").first()
        for threshold in standard.thresholds.all() if standard else []:
            for prefix in threshold.industry_prefixes.split(","):
                group_by_prefix[prefix.strip()] = threshold.industry_group
            bounds[threshold.industry_group][threshold.size_class] = (
                threshold.min_employees,
                threshold.min_revenue,
                threshold.min_assets,
            )
        region_ids = dict(Region.objects.values_list("code", "id"))
        region_tags, size_tags, industry_tags = defaultdict(list), defaultdict(list), defaultdict(list)
        age_tags = []
        for kind, value, tag_id in TagRule.objects.filter(is_active=True).values_list("kind", "value", "tag_id"):
            if kind == TagRule.Kind.REGION and value in region_ids:
                region_tags[region_ids[value]].append(tag_id)
            elif kind == TagRule.Kind.SIZE:
                size_tags[value].append(tag_id)
            elif kind == TagRule.Kind.INDUSTRY:
                industry_tags[value.upper()].append(tag_id)
            elif kind == TagRule.Kind.AGE:
                low, _, high = value.partition("-")
                age_tags.append((int(low or 0), int(high) if high else None, tag_id))
        return cls(
            group_by_prefix,
            dict(bounds),
            {k: tuple(v) for k, v in region_tags.items()},
            {k: tuple(v) for k, v in size_tags.items()},
            {k: tuple(v) for k, v in industry_tags.items()},
            tuple(age_tags),
        )

    def size_class(self, industry: str, employees, revenue, assets) -> str | None:
        """The size class the standard gives, or None when the figures it needs are missing."""
        if not industry:
            return None
        group = (
            self.group_by_prefix.get(industry[:4])
            or self.group_by_prefix.get(industry[:3])
            or self.group_by_prefix.get(industry[:1])
            or self.group_by_prefix.get("*")
        )
        if group is None:
            return None
        figures = (employees, revenue, assets)
        for size in SIZE_ORDER:
            met = _meets(self.bounds[group][size], figures)
            if met:
                return size
            if met is None:
                return None  # cannot tell whether it reaches this class
        return "micro"

    def tags(self, *, region_id, industry: str, size_class: str, founded_on, today: datetime.date) -> list[int]:
        found: set[int] = set()
        if region_id is not None:
            found.update(self.region_tags.get(region_id, ()))
        if size_class:
            found.update(self.size_tags.get(size_class, ()))
        if industry:
            for length in (1, 3, 4, 5):
                if len(industry) >= length:
                    found.update(self.industry_tags.get(industry[:length], ()))
        if founded_on is not None:
            years = whole_years(founded_on, today)
            for low, high, tag_id in self.age_tags:
                if years >= low and (high is None or years < high):
                    found.add(tag_id)
        return sorted(found)


def _meets(bounds: Bounds, figures) -> bool | None:
    """True when every bound is met, False when one is known to be missed, None when undecidable."""
    unknown = False
    for bound, figure in zip(bounds, figures, strict=True):
        if bound is None:
            continue
        if figure is None:
            unknown = True
        elif figure < bound:
            return False
    return None if unknown else True


def whole_years(start: datetime.date, on: datetime.date) -> int:
    """Completed years from ``start`` to ``on`` (a firm founded 2020-06-30 is 5 on 2025-06-30)."""
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


def derive(rules: Rules, *, region_id, industry, employees, revenue, assets, founded_on, given_size, today):
    """(size class, derived tag ids) for one firm's values."""
    size = rules.size_class(industry, employees, revenue, assets) or given_size or ""
    return size, rules.tags(region_id=region_id, industry=industry, size_class=size, founded_on=founded_on, today=today)


def derived_tags_refresh(*, scope_table: str | None = None, today: datetime.date | None = None) -> int:
    """Recompute size class and derived tags for the firms in ``scope_table`` (ids) or all firms.

    Reads in bulk with a server-side cursor, computes in Python, streams the firms whose result
    changed back with COPY and applies them with one UPDATE. Returns how many firms changed.
    """
    rules = Rules.load()
    today = today or timezone.localdate()
    scope = f"JOIN {scope_table} scope ON scope.id = e.id" if scope_table else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS derived_fix; CREATE TEMP TABLE derived_fix (id bigint, size text, tags bigint[])"
        )
    reader = connection.connection.cursor(name="derived_refresh")
    reader.itersize = 20_000
    reader.execute(
        f"SELECT e.id, e.region_id, e.industry, e.employees, e.annual_revenue, e.total_assets, e.founded_on, "
        f"e.size_class, e.derived_tags FROM {FIRMS} e {scope}"
    )

    def changed():
        for pk, region_id, industry, employees, revenue, assets, founded_on, size, tags in reader:
            new_size, new_tags = derive(
                rules, region_id=region_id, industry=industry, employees=employees, revenue=revenue, assets=assets,
                founded_on=founded_on, given_size=size, today=today,
            )  # fmt: skip
            if new_size != size or new_tags != tags:
                yield pk, new_size, new_tags

    count = copy_rows("derived_fix", ["id", "size", "tags"], changed())
    reader.close()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FIRMS} f SET size_class = x.size, derived_tags = x.tags, derived_at = now() "
            f"FROM derived_fix x WHERE f.id = x.id; DROP TABLE derived_fix"
        )
    return count
