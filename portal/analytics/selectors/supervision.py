"""Supervision (督办) within a staff scope: the open items of every queue with their lights, and each
owner's on-time rate. The queues are small next to the message table, so they are read live, once per
answer: the open items of any age and the items of the ranking's window, cached until a queue changes."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.workdays import LIGHT_LABELS, Light
from policies.scope import Scope
from portal.analytics.queues import QUEUE_KINDS, QueueItem, queue_items, queues_state

RANKING_DAYS = 90  # the on-time ranking looks at items that came in over this many days
LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2}
CACHE_SECONDS = 300


@dataclass
class Supervision:
    open: list[tuple[QueueItem, Light]]  # the most urgent first
    summary: dict
    ranking: list[dict]


def supervision_for(*, scope: Scope, today: datetime.date | None = None) -> Supervision:
    """Open items with lights, their counts per kind, and the owners' ranking; cached until a queue changes."""
    today = today or timezone.localdate()
    deadlines = ",".join(f"{k}{v}" for k, v in sorted(settings.QUEUE_DEADLINES.items()))
    state = hashlib.sha1(f"{deadlines}|{queues_state()}".encode()).hexdigest()[:16]
    key = f"analytics:supervision:{scope.key()}:{today}:{state}"
    found = cache.get(key)
    if found is None:
        open_items = queue_items(scope=scope, closed=False, today=today)
        since = today - datetime.timedelta(days=RANKING_DAYS - 1)
        closed = queue_items(scope=scope, closed=True, since=since, today=today)
        lit = _lit(open_items, today)
        found = Supervision(lit, _summary(lit), _ranking(lit, closed, today))
        cache.set(key, found, CACHE_SECONDS)
    return found


def _lit(items: list[QueueItem], today: datetime.date) -> list[tuple[QueueItem, Light]]:
    lit = [(item, item.light(today)) for item in items]
    return sorted(lit, key=lambda pair: (LIGHT_ORDER[pair[1]], pair[0].deadline, pair[0].created_on))


def open_items(*, scope: Scope, today: datetime.date | None = None, light: str | None = None,
               kind: str | None = None) -> list[tuple[QueueItem, Light]]:  # fmt: skip
    """Open items with their light, the most urgent first (red, then yellow, each by deadline)."""
    return [(item, current) for item, current in supervision_for(scope=scope, today=today).open
            if (not light or current == light) and (not kind or item.kind == kind)]  # fmt: skip


def _summary(lit: list[tuple[QueueItem, Light]]) -> dict:
    total: Counter = Counter()
    per_kind: dict[str, Counter] = {k.key: Counter() for k in QUEUE_KINDS}
    for item, light in lit:
        total[light] += 1
        per_kind.setdefault(item.kind, Counter())[light] += 1
    lights = [Light.RED, Light.YELLOW, Light.GREEN]
    labels = {k.key: k.label for k in QUEUE_KINDS}
    lists_green = {k.key: k.lists_green for k in QUEUE_KINDS}
    return {
        "open": sum(total.values()),
        "lights": {str(light): total[light] for light in lights},
        "kinds": [
            {
                "key": key,
                "label": labels.get(key, key),
                "lists_green": lists_green.get(key, True),
                **{str(light): c[light] for light in lights},
                "open": sum(c.values()),
            }
            for key, c in per_kind.items()
        ],  # fmt: skip
    }


def lights_summary(*, scope: Scope, today: datetime.date | None = None) -> dict:
    """Open items per light, overall and per kind."""
    return supervision_for(scope=scope, today=today).summary


def _ranking(lit: list[tuple[QueueItem, Light]], closed: list[QueueItem], today: datetime.date) -> list[dict]:
    """Per owner (department, else district): items closed within the window and items still open past their
    deadline (late, however old), how many were closed by their deadline, the on-time rate, and what is red or
    yellow now; best rate first."""
    rows: dict[str, dict] = defaultdict(lambda: {"due": 0, "on_time": 0, "red": 0, "yellow": 0, "open": 0})
    for item, light in lit:
        row = rows[item.owner]
        row["open"] += 1
        if light in (Light.RED, Light.YELLOW):
            row[str(light)] += 1
        if item.deadline < today:
            row["due"] += 1  # past its deadline and still open: late, however long ago it came in
    for item in closed:
        row = rows[item.owner]
        row["due"] += 1
        row["on_time"] += bool(item.on_time)
    ranking = [{"owner": owner, **row, "rate": round(row["on_time"] / row["due"], 4) if row["due"] else None}
               for owner, row in rows.items()]  # fmt: skip
    return sorted(ranking, key=lambda r: (r["rate"] is None, -(r["rate"] or 0), -r["due"], r["owner"]))


def owner_ranking(*, scope: Scope, today: datetime.date | None = None) -> list[dict]:
    return supervision_for(scope=scope, today=today).ranking


def item_as_dict(item: QueueItem, light: Light) -> dict:
    return {
        "kind": item.kind, "kind_label": item.kind_label, "id": item.object_id, "title": item.title,
        "created_on": item.created_on, "deadline": item.deadline,
        "light": str(light), "light_label": LIGHT_LABELS[light],
        "owner": item.owner, "department": item.department, "region": item.region, "url": item.url,
    }  # fmt: skip
