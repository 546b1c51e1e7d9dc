"""Coverage and data gaps within a staff scope, from the coverage cells and the snapshots: per open policy its
audience and its 数据缺失 firms by district, the firms no open policy reaches, labels without an open policy,
portrait tags no rule uses, and for each field and tag source the share of firms lacking it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.cache import cache
from django.db.models.expressions import RawSQL
from django.utils import timezone
from pyroaring import BitMap

from core.models import Region
from enterprises.models import Enterprise, PortraitTag
from enterprises.validators import INDUSTRY_SECTIONS
from policies.audience_rules import FIELDS
from policies.models import Policy, PolicyLabel, Window, window_q
from policies.scope import Scope
from portal.analytics.models import CoverageCell, Snapshot
from portal.analytics.selectors.headline import register_rows
from portal.analytics.services.coverage import COVERAGE, coverage_refresh
from portal.analytics.services.register import FIELD_GAPS, TAG_SOURCES

CACHE_SECONDS = 600
SIZE_LABELS = {**dict(Enterprise.Size.choices), "": "规模未知"}
FIELD_LABELS = {name: spec["label"] for name, spec in FIELDS.items()}


def coverage_snapshot() -> Snapshot:
    return Snapshot.objects.filter(key=COVERAGE).first() or coverage_refresh(force=True)


def _cells(scope: Scope):
    cells = CoverageCell.objects.all()
    if scope.region_id is not None:
        cells = cells.filter(region_id=scope.region_id)
    return cells


def coverage_for(*, scope: Scope) -> dict:
    """Per open policy (within the scope) its audience, unknown and missing-field counts, by district too;
    cached until the next coverage run."""
    snapshot = coverage_snapshot()
    key = f"analytics:coverage:{scope.key()}:{snapshot.computed_at.timestamp()}:{timezone.localdate()}"
    found = cache.get(key)
    if found is None:
        found = _coverage(scope, snapshot)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _coverage(scope: Scope, snapshot: Snapshot) -> dict:
    firms = sum(r["firms"] for r in register_rows(scope=scope).values())
    visible = scope.visible_policy_ids()
    cells = _cells(scope).filter(policy_id__isnull=False)
    if visible is not None:
        cells = cells.filter(policy_id__in=sorted(visible))
    per_policy: dict[int, dict] = {}
    for policy_id, region_id, audience, unknown, missing in cells.values_list(
        "policy_id", "region_id", "audience", "unknown", "missing"
    ):
        row = per_policy.setdefault(policy_id, {"audience": 0, "unknown": 0, "missing": defaultdict(int),
                                                "by_region": {}})  # fmt: skip
        row["audience"] += audience
        row["unknown"] += unknown
        row["by_region"][region_id] = audience
        for field, n in missing.items():
            row["missing"][field] += n
    today = timezone.localdate()
    policies = Policy.objects.filter(scope.policy_q(), window_q(Window.OPEN, today), status=Policy.Status.PUBLISHED)
    rows = []
    for pk, title, level in policies.values_list("pk", "title", "level"):
        row = per_policy.get(pk, {"audience": 0, "unknown": 0, "missing": {}, "by_region": {}})
        rows.append({"id": pk, "title": title, "level": level, "audience": row["audience"], "unknown": row["unknown"],
                     "missing": dict(row["missing"]), "by_region": row["by_region"],
                     "share": round(row["audience"] / firms, 4) if firms else None})  # fmt: skip
    rows.sort(key=lambda r: (-r["audience"], r["id"]))
    uncovered = _cells(scope).filter(policy_id__isnull=True)
    by_region = dict(uncovered.values_list("region_id", "audience"))
    return {
        "on": snapshot.data.get("on"),
        "computed_at": snapshot.computed_at,
        "firms": firms,
        "policies": rows,
        "no_open_policy": sum(by_region.values()),
        "no_open_policy_by_region": by_region,
        "no_open_policy_breakdown": _breakdown(uncovered),
        "unused_tags": snapshot.data.get("unused_tags", []),
    }


def _breakdown(uncovered) -> dict:
    sizes: dict[str, int] = defaultdict(int)
    sections: dict[str, int] = defaultdict(int)
    for audience, breakdown in uncovered.values_list("audience", "breakdown"):
        known = 0
        for size, n in breakdown.get("size", {}).items():
            sizes[size] += n
            known += n
        sizes[""] += audience - known
        for section, n in breakdown.get("section", {}).items():
            sections[section] += n
    return {"size": dict(sizes), "section": dict(sections)}


def labels_without_open_policy(*, scope: Scope):
    today = timezone.localdate()
    open_policies = Policy.objects.filter(
        scope.policy_q(), window_q(Window.OPEN, today), status=Policy.Status.PUBLISHED
    )
    labels = PolicyLabel.objects.filter(is_active=True).exclude(policies__in=open_policies)
    return labels.order_by("category__sort_order", "code").values_list("category__name", "code", "name")


def unused_tags(*, codes: list[str]):
    tags = PortraitTag.objects.filter(code__in=codes).order_by("category__sort_order", "code")
    return tags.values_list("category__name", "code", "name")


def register_gaps(*, scope: Scope) -> dict:
    """For each field and tag source, firms lacking it and their share of the scope's firms."""
    rows = list(register_rows(scope=scope).values())
    firms = sum(r["firms"] for r in rows)
    fields = [(label, sum(r["missing"].get(name, 0) for r in rows)) for name, (label, _) in FIELD_GAPS.items()]
    sources = [(label, sum(r["no_tags_from"].get(source, 0) for r in rows)) for source, label in TAG_SOURCES.items()]
    return {"firms": firms, "fields": fields, "sources": sources}


def uncovered_ids(*, scope: Scope, region_id: int | None = None) -> BitMap:
    """The firms no open policy reaches, within the scope (and ``region_id`` when given)."""
    cells = _cells(scope).filter(policy_id__isnull=True)
    if region_id is not None:
        cells = cells.filter(region_id=region_id)
    ids = BitMap()
    for blob in cells.values_list("ids", flat=True):
        if blob:
            ids |= BitMap.deserialize(bytes(blob))
    return ids


def uncovered_firms(
    *,
    scope: Scope,
    region_id: int | None = None,
    size: str | None = None,
    section: str | None = None,
    offset: int = 0,
    limit: int | None = 50,
) -> tuple[int, Iterable[dict]]:
    """A page of the firms no open policy reaches (filtered by size / industry section), and how many match."""
    ids = uncovered_ids(scope=scope, region_id=region_id)
    # The ids as one array parameter: an IN list of a hundred thousand literals would take longer to plan.
    firms = Enterprise.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [list(ids)]))
    if size is not None:
        firms = firms.filter(size_class=size)
    if section:
        firms = firms.filter(industry__startswith=section)
    total = firms.count() if (size is not None or section) else len(ids)
    page = firms.order_by("pk").select_related("region")
    page = page[offset : offset + limit] if limit is not None else page.iterator(chunk_size=5000)
    return total, ({"id": f.pk, "uscc": f.uscc, "name": f.name, "region": f.region.name if f.region else "",
                    "size": SIZE_LABELS.get(f.size_class, f.size_class), "industry": f.industry or "",
                    "founded_on": f.founded_on} for f in page)  # fmt: skip


def region_names() -> dict[int | None, str]:
    return {None: "区县未知", **dict(Region.objects.values_list("pk", "name"))}


def region_codes() -> dict[int | None, str]:
    return {None: "", **dict(Region.objects.values_list("pk", "code"))}


def section_names() -> dict[str, str]:
    return {code: name for code, (name, _, _) in INDUSTRY_SECTIONS.items()}
