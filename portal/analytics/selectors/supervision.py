"""Supervision (督办) within a staff scope: the open items of every queue with their lights, and each
owner's on-time rate. The queues are small (thousands of items, not millions), so they are read live."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from django.utils import timezone

from core.workdays import LIGHT_LABELS, Light
from policies.scope import Scope
from portal.analytics.queues import QUEUE_KINDS, QueueItem, queue_items

RANKING_DAYS = 90  # the on-time ranking looks at items that came in over this many days
LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2}


def open_items(*, scope: Scope, today: datetime.date | None = None, light: str | None = None,
               kind: str | None = None) -> list[tuple[QueueItem, Light]]:  # fmt: skip
    """Open items with their light, the most urgent first (red, then yellow, each by deadline)."""
    today = today or timezone.localdate()
    found = []
    for item in queue_items(scope=scope, open_only=True):
        current = item.light(today)
        if (light and current != light) or (kind and item.kind != kind):
            continue
        found.append((item, current))
    return sorted(found, key=lambda pair: (LIGHT_ORDER[pair[1]], pair[0].deadline, pair[0].created_on))


def lights_summary(*, scope: Scope, today: datetime.date | None = None) -> dict:
    """Open items per light, overall and per kind."""
    today = today or timezone.localdate()
    total: Counter = Counter()
    per_kind: dict[str, Counter] = {k.key: Counter() for k in QUEUE_KINDS}
    for item, light in open_items(scope=scope, today=today):
        total[light] += 1
        per_kind.setdefault(item.kind, Counter())[light] += 1
    lights = [Light.RED, Light.YELLOW, Light.GREEN]
    labels = {k.key: k.label for k in QUEUE_KINDS}
    return {
        "open": sum(total.values()),
        "lights": {str(light): total[light] for light in lights},
        "kinds": [
            {
                "key": key,
                "label": labels.get(key, key),
                **{str(light): c[light] for light in lights},
                "open": sum(c.values()),
            }
            for key, c in per_kind.items()
        ],  # fmt: skip
    }


def owner_ranking(*, scope: Scope, today: datetime.date | None = None, days: int = RANKING_DAYS) -> list[dict]:
    """Per owner (department, else district): items due within the last ``days`` days, how many were closed by
    their deadline, the on-time rate, and what is open and red or yellow now; best rate first."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=days - 1)
    rows: dict[str, dict] = defaultdict(lambda: {"due": 0, "on_time": 0, "red": 0, "yellow": 0, "open": 0})
    for item in queue_items(scope=scope, open_only=False, since=since):
        row = rows[item.owner]
        light = item.light(today)
        if light is not None:
            row["open"] += 1
            if light in (Light.RED, Light.YELLOW):
                row[str(light)] += 1
        if item.deadline < today or item.closed_on is not None:  # due, or done early
            row["due"] += 1
            row["on_time"] += bool(item.on_time)
    ranking = [{"owner": owner, **row, "rate": round(row["on_time"] / row["due"], 4) if row["due"] else None}
               for owner, row in rows.items()]  # fmt: skip
    return sorted(ranking, key=lambda r: (r["rate"] is None, -(r["rate"] or 0), -r["due"], r["owner"]))


def item_as_dict(item: QueueItem, light: Light) -> dict:
    return {
        "kind": item.kind, "kind_label": item.kind_label, "id": item.object_id, "title": item.title,
        "created_on": item.created_on, "deadline": item.deadline,
        "light": str(light), "light_label": LIGHT_LABELS[light],
        "owner": item.owner, "department": item.department, "region": item.region, "url": item.url,
    }  # fmt: skip
