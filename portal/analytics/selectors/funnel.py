"""The push funnel from its rollups: distinct firms per stage for any push, policy, department, district, level
and period, with the conversion at each step, a daily series, the split by district and firm size, and
openings by hour after sending. Reads ``FunnelCell`` only; never the message table.

Each stage's firm sets of the chosen pushes and policies are united, so a firm counts once however many pushes
or policies reached it, and split by district with each district's firm set (``RegionFirms``).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max, Q
from pyroaring import BitMap

from core.models import Region
from enterprises.models import Enterprise
from notifications.models import Campaign
from policies.models import Department, Level, Policy
from policies.scope import OUT_OF_SCOPE, Scope
from portal.analytics import stages as funnel_stages
from portal.analytics.models import CampaignRollup, FunnelCell, RegionFirms
from portal.analytics.services.funnel import MAX_HOUR
from portal.analytics.services.register import region_firms_refresh

CACHE_SECONDS = 120  # answers are keyed by the rollups' state too, so a new rollup shows at once
SIZE_LABELS = {**dict(Enterprise.Size.choices), "": "规模未知"}


@dataclass(frozen=True)
class FunnelFilter:
    campaign_id: int | None = None
    policy_id: int | None = None
    department_id: int | None = None
    region_id: int | None = None
    level: str | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None

    def key(self) -> str:
        return "|".join(str(v or "") for v in (self.campaign_id, self.policy_id, self.department_id, self.region_id,
                                                self.level, self.since, self.until))  # fmt: skip


def funnel_filter_check(
    *,
    scope: Scope,
    campaign: int | None = None,
    policy: int | None = None,
    department: str | None = None,
    region: str | None = None,
    level: str | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> FunnelFilter:
    """The filter as ids, checked against the staff scope: a district account asking for another district,
    or a department account for another department's policy or push, is refused (PermissionDenied)."""
    department_id = region_id = None
    if department:
        department_id = Department.objects.filter(code=department).values_list("pk", flat=True).first()
        if department_id is None:
            raise ValidationError(f"未知的部门编码“{department}”。")
        scope.require_department(department_id)
    if region:
        region_id = Region.objects.filter(code=region).values_list("pk", flat=True).first()
        if region_id is None:
            raise ValidationError(f"未知的区划代码“{region}”。")
        scope.require_region(region_id)
    elif scope.region_id is not None:
        region_id = scope.region_id  # a district account always sees its own district
    if level and level not in Level.values:
        raise ValidationError(f"未知的政策层级“{level}”，可选：{'、'.join(Level.values)}。")
    if since and until and since > until:
        raise ValidationError("开始日期不能晚于结束日期。")
    if policy is not None:
        scope.require_policy(policy)
    if campaign is not None and scope.department_id is not None:
        allowed = _policy_ids(scope, FunnelFilter(department_id=department_id))
        rollup = CampaignRollup.objects.filter(pk=campaign).values_list("policy_ids", flat=True).first()
        if rollup is not None and not allowed & set(rollup):
            raise PermissionDenied(OUT_OF_SCOPE)
    return FunnelFilter(campaign, policy, department_id, region_id, level or None, since, until)


def _policy_ids(scope: Scope, filters: FunnelFilter) -> set[int] | None:
    """The policies whose own cells are read, or None to read each push as a whole."""
    if not (filters.policy_id or filters.department_id or filters.level or scope.department_id):
        return None
    policies = Policy.objects.filter(scope.policy_q())
    if filters.policy_id:
        policies = policies.filter(pk=filters.policy_id)
    if filters.department_id:
        policies = policies.filter(departments=filters.department_id)
    if filters.level:
        policies = policies.filter(level=filters.level)
    return set(policies.values_list("pk", flat=True))


def rollup_state() -> str:
    """Changes whenever any push is rolled up again: part of every cached answer's key."""
    state = CampaignRollup.objects.aggregate(last=Max("refreshed_at"), n=Count("pk"))
    return f"{state['n']}:{state['last'].timestamp() if state['last'] else 0}"


def _cells(scope: Scope, filters: FunnelFilter):
    cells = FunnelCell.objects.all()
    if filters.campaign_id:
        cells = cells.filter(campaign_id=filters.campaign_id)
    if filters.since:
        cells = cells.filter(pushed_on__gte=filters.since)
    if filters.until:
        cells = cells.filter(pushed_on__lte=filters.until)
    policy_ids = _policy_ids(scope, filters)
    if policy_ids is None:
        return cells.filter(policy_id__isnull=True)
    return cells.filter(policy_id__in=sorted(policy_ids))


def region_sets() -> dict[int | None, BitMap]:
    """Each district's firms (None: firms without one), as the last register snapshot saw them."""
    rows = list(RegionFirms.objects.values_list("region_id", "ids"))
    if not rows:
        region_firms_refresh()
        rows = list(RegionFirms.objects.values_list("region_id", "ids"))
    return {region_id: BitMap.deserialize(bytes(ids)) for region_id, ids in rows}


def funnel_for(*, scope: Scope, filters: FunnelFilter) -> dict:
    """The funnel for ``filters`` within ``scope`` (see the module docstring), cached by the rollups' state."""
    key = f"analytics:funnel:{scope.key()}:{filters.key()}:{rollup_state()}"
    found = cache.get(key)
    if found is None:
        found = _funnel(scope, filters)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _funnel(scope: Scope, filters: FunnelFilter) -> dict:
    cells = _cells(scope, filters)
    keys, labels = funnel_stages.stage_keys(), funnel_stages.stage_labels()
    united: dict[str, BitMap] = {k: BitMap() for k in keys}
    pushes = set()
    for stage, campaign_id, ids in cells.values_list("stage", "campaign_id", "ids"):
        pushes.add(campaign_id)
        if stage in united:
            united[stage] |= BitMap.deserialize(bytes(ids))
    regions = region_sets()
    if filters.region_id is not None:
        regions = {filters.region_id: regions.get(filters.region_id, BitMap())}
        totals = {k: united[k].intersection_cardinality(regions[filters.region_id]) for k in keys}
    else:
        totals = {k: len(united[k]) for k in keys}
    per_region = {r: {k: united[k].intersection_cardinality(firms) for k in keys} for r, firms in regions.items()}
    stages, previous = [], None
    for k in keys:
        count = totals[k]
        stages.append({"key": k, "label": labels[k], "count": count,
                       "rate": None if previous is None else _rate(count, previous),
                       "of_qualified": _rate(count, totals[keys[0]])})  # fmt: skip
        previous = count
    region = None if filters.region_id is None else str(filters.region_id)
    breakdowns = list(cells.exclude(stage=funnel_stages.QUALIFIED).values_list("stage", "daily", "by_size", "by_hour"))
    return {
        "stages": stages,
        "pushes": len(pushes),
        "by_region": _by_region(per_region, keys),
        "by_size": _by_size(breakdowns, keys, region),
        "daily": _daily(breakdowns, keys, region),
        "open_by_hour": _by_hour(breakdowns, region),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _parts(split: dict, region: str | None):
    """The per-district parts of a cell's breakdown that count: one district's, or all of them."""
    return split.values() if region is None else [split[region]] if region in split else []


def _by_region(per_region: dict, keys: list[str]) -> list[dict]:
    regions = {pk: (code, name) for pk, code, name in Region.objects.values_list("pk", "code", "name")}
    rows = []
    for region_id, counts in per_region.items():
        if not counts[keys[0]]:
            continue
        code, name = regions.get(region_id, ("", "区县未知"))
        rows.append({"region": code, "name": name, "counts": counts})
    return sorted(rows, key=lambda r: -r["counts"][keys[0]])


def _by_size(breakdowns: list, keys: list[str], region: str | None) -> list[dict]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys, 0))
    for stage, _, by_size, _ in breakdowns:
        for split in _parts(by_size, region):
            for size, n in split.items():
                sums[size][stage] += n
    # Qualified is not a message-level figure; the size split starts at "sent".
    order = [*Enterprise.Size.values, ""]
    return [{"size": s, "name": SIZE_LABELS.get(s, s), "counts": sums[s]} for s in order if s in sums]


def _daily(breakdowns: list, keys: list[str], region: str | None) -> list[dict]:
    days: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys[1:], 0))
    for stage, daily, _, _ in breakdowns:
        for series in _parts(daily, region):
            for day, n in series.items():
                days[day][stage] += n
    if not days:
        return []
    # Every day from the first to the last, quiet ones as zeros, so a chart's axis is the calendar.
    first, last = datetime.date.fromisoformat(min(days)), datetime.date.fromisoformat(max(days))
    calendar = [(first + datetime.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    return [{"day": day, "counts": days[day]} for day in calendar]


def _by_hour(breakdowns: list, region: str | None) -> list[int]:
    hours = [0] * (MAX_HOUR + 1)
    for stage, _, _, by_hour in breakdowns:
        if stage != funnel_stages.OPENED:
            continue
        for series in _parts(by_hour, region):
            for hour, n in enumerate(series):
                hours[hour] += n
    return hours


def funnel_choices(*, scope: Scope, limit: int = 50) -> dict:
    """What the dashboard's filter offers this scope: recent pushes, departments, districts, levels."""
    rollups = CampaignRollup.objects.order_by("-pushed_on", "-campaign_id")
    allowed = _policy_ids(scope, FunnelFilter())
    pushes = []
    names = dict(Campaign.objects.filter(pk__in=rollups.values("pk")[: limit * 2]).values_list("pk", "name"))
    for rollup in rollups[: limit * 2]:
        if allowed is not None and not allowed & set(rollup.policy_ids):
            continue
        pushes.append({"id": rollup.campaign_id, "name": names.get(rollup.campaign_id, f"#{rollup.campaign_id}"),
                       "pushed_on": rollup.pushed_on})  # fmt: skip
    departments = Department.objects.order_by("level", "code")
    if scope.department_id:
        departments = departments.filter(pk=scope.department_id)
    regions = Region.objects.filter(parent__isnull=False)
    if scope.region_id:
        regions = regions.filter(pk=scope.region_id)
    return {
        "pushes": pushes[:limit],
        "departments": list(departments.values("code", "name")),
        "regions": list(regions.values("code", "name")),
        "levels": Level.choices,
    }


def pushes_in_period(*, scope: Scope, since: datetime.date, until: datetime.date | None = None) -> int:
    rollups = CampaignRollup.objects.filter(pushed_on__gte=since)
    if until:
        rollups = rollups.filter(pushed_on__lte=until)
    allowed = _policy_ids(scope, FunnelFilter())
    if allowed is None:
        return rollups.count()
    return rollups.filter(Q(policy_ids__overlap=sorted(allowed))).count()
