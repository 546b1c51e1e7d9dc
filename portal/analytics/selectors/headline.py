"""The dashboard's headline figures, within a staff scope: the register (from its snapshot), policies open and
closing soon, this month's pushes (from the funnel rollups) and the 好差评 satisfaction rate."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q
from django.utils import timezone

from policies.models import Policy, Window, window_q
from policies.scope import Scope
from portal.analytics.models import Snapshot
from portal.analytics.selectors.funnel import FunnelFilter, funnel_for
from portal.analytics.services.register import REGISTER, register_refresh
from portal.models import PolicyRating

CLOSING_DAYS = 30


def register_snapshot() -> Snapshot:
    """The register snapshot, computed now if the beat task has not made one yet (a fresh install)."""
    return Snapshot.objects.filter(key=REGISTER).first() or register_refresh()


def register_rows(*, scope: Scope) -> dict[str, dict]:
    """The snapshot's per-district rows this scope sees ({region id or "": row})."""
    regions = register_snapshot().data.get("regions", {})
    if scope.region_id is not None:
        return {k: v for k, v in regions.items() if k == str(scope.region_id)}
    return regions


def headline_for(*, scope: Scope, today: datetime.date | None = None) -> dict:
    today = today or timezone.localdate()
    rows = register_rows(scope=scope).values()
    register = {k: sum(r[k] for r in rows) for k in ("firms", "reachable", "opted_out")}
    published = Policy.objects.filter(scope.policy_q(), status=Policy.Status.PUBLISHED)
    policies = published.aggregate(
        published=Count("pk"),
        open=Count("pk", filter=window_q(Window.OPEN, today)),
        closing=Count(
            "pk",
            filter=window_q(Window.OPEN, today) & Q(apply_end__lte=today + datetime.timedelta(days=CLOSING_DAYS)),
        ),
    )
    month_start = today.replace(day=1)
    last_start = (month_start - datetime.timedelta(days=1)).replace(day=1)
    month = _pushes(scope, month_start, None)
    last_month = _pushes(scope, last_start, month_start - datetime.timedelta(days=1))
    ratings = PolicyRating.objects.filter(scope.enterprise_q("enterprise__"), scope.policy_q("policy__")).aggregate(
        total=Count("pk"),
        good=Count("pk", filter=Q(rating=PolicyRating.Rating.GOOD)),
        bad_open=Count("pk", filter=Q(rating=PolicyRating.Rating.BAD) & ~Q(status=PolicyRating.Status.REPLIED)),
    )
    return {
        "register": register,
        "policies": {**policies, "closing_days": CLOSING_DAYS},
        "month": month,
        "last_month": last_month,
        "ratings": {**ratings, "satisfaction": _share(ratings["good"], ratings["total"])},
        "register_computed_at": register_snapshot().computed_at,
    }


def _pushes(scope: Scope, since: datetime.date, until: datetime.date | None) -> dict:
    """Distinct firms per stage over the pushes of a period, and how many pushes."""
    funnel = funnel_for(scope=scope, filters=FunnelFilter(region_id=scope.region_id, since=since, until=until))
    return {"since": since, "pushes": funnel["pushes"], **{s["key"]: s["count"] for s in funnel["stages"]}}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
