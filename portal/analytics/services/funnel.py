"""Rolling a push up into its funnel cells (``FunnelCell``), a push at a time, set-based.

A push's messages are read once through the (campaign, firm) index: each message becomes one row per
policy it names, with the furthest stage the firm reached for that policy (``stages``), the day it reached
each stage and the hours from sending to its first opening; the push as a whole is the same rows grouped by
firm. Four GROUP BYs over those rows give every cell's firms (as id arrays, turned into roaring bitmaps) and,
per district, its daily series, size split and opening hours. The cells of the push are then replaced in one
transaction, so readers see the old rollup or the new one, never half.

"Qualified" is the audience of the push's policies, worked out from the matching index the first time the
push is rolled up (close to its planning) and kept from then on, together with every firm messaged.

Runs are idempotent and safe with several workers: a push is rolled up under a transaction-level advisory
lock, and a second worker finding it taken skips that push. ``funnel_refresh_due`` (a beat task, every 30 s)
picks the pushes that need it: those being planned or sent every time, recent ones every few minutes, old
ones rarely, and any push whose firms have reacted since the last run. A progress notice (a firm's own
payout or application, ``Campaign.Purpose.PROGRESS``) announces no policy and has no funnel.
"""

from __future__ import annotations

import datetime
import json
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values
from pyroaring import BitMap

from core import redis as shared_redis
from matching.index import get_index
from notifications.models import Campaign, Message, NotificationLedger
from policies.models import Policy
from portal.analytics import stages as funnel_stages
from portal.analytics.models import CampaignRollup, FunnelCell

MessageStatus = Message.Status
MESSAGES = Message._meta.db_table
CELLS = FunnelCell._meta.db_table
MAX_HOUR = 72  # openings 72 hours or more after sending share the last bucket
FUNNEL_LOCK = 1_404_001  # advisory lock class of a push's rollup; the push id is the second key
TICK_LOCK = 1_404_002  # one refresh round at a time
WORK_MEM = "256MB"
ROLLED_UP = (Campaign.Status.PLANNING, Campaign.Status.SENDING, Campaign.Status.COMPLETED, Campaign.Status.CANCELLED)


def _pushed_on(campaign: dict) -> datetime.date:
    moment = campaign["launched_at"] or campaign["planned_at"] or campaign["created_at"]
    return timezone.localdate(moment)


def funnel_campaign_refresh(*, campaign_id: int) -> bool:
    """Replace the funnel cells of one push; False when another worker is rolling it up right now."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [FUNNEL_LOCK, campaign_id % 2**31])
        if not cursor.fetchone()[0]:
            return False
        campaign = (
            Campaign.objects.filter(pk=campaign_id).values("pk", "launched_at", "planned_at", "created_at").first()
        )
        if campaign is None:
            FunnelCell.objects.filter(campaign_id=campaign_id).delete()
            CampaignRollup.objects.filter(pk=campaign_id).delete()
            return True
        pushed_on = _pushed_on(campaign)
        previous = CampaignRollup.objects.filter(pk=campaign_id).first()
        count = len(funnel_stages.stages())
        _load_units(cursor, campaign_id, count)
        cursor.execute("SELECT count(*) FILTER (WHERE policy_id = 0), array_agg(DISTINCT policy_id) FROM funnel_units")
        messages, policy_ids = cursor.fetchone()
        chosen = Campaign.policies.through.objects.filter(campaign_id=campaign_id).values_list("policy_id", flat=True)
        policy_ids = sorted({p for p in policy_ids or [] if p} | set(chosen))
        cells = _cells_from_units(cursor, count)
        if previous is not None and previous.audience_on is not None:
            audience_on = previous.audience_on
            qualified = _stored_qualified(campaign_id)
        else:
            audience_on = timezone.localdate(campaign["planned_at"] or timezone.now())
            qualified = _audience(policy_ids, audience_on)
        _add_qualified(cells, qualified, count)
        _write_cells(cursor, campaign_id, pushed_on, cells)
        CampaignRollup.objects.update_or_create(
            campaign_id=campaign_id,
            defaults={"pushed_on": pushed_on, "policy_ids": policy_ids, "messages": messages or 0,
                      "audience_on": audience_on, "refreshed_at": timezone.now(),
                      "seconds": round(time.perf_counter() - started, 3)},
        )  # fmt: skip
    return True


def _load_units(cursor, campaign_id: int, count: int) -> None:
    """funnel_units: one row per (message, policy) and one per message for the push as a whole (policy 0),
    each with the furthest stage reached (rank), the day it reached each stage, and the hours to opening."""
    tz = settings.TIME_ZONE
    sources = funnel_stages.outcome_sources()
    first_outcome = len(funnel_stages.MESSAGE_STAGES)  # rank of the first stage fed by sources
    outcome_ranks = list(range(first_outcome, count))
    union = (
        " UNION ALL ".join(
            f"SELECT x.enterprise_id, x.policy_id, {rank} AS rank, x.at FROM ({sql}) x" for rank, sql in sources
        )
        or "SELECT NULL::bigint, NULL::bigint, 0, NULL::timestamptz WHERE false"
    )
    firsts = ", ".join(f"min(s.at) FILTER (WHERE s.rank >= {r})" for r in outcome_ranks) or "NULL"
    # Dropped first as well: inside an enclosing transaction (a test's) ON COMMIT has not come yet.
    cursor.execute("DROP TABLE IF EXISTS funnel_outcomes, funnel_units")
    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")  # the GROUP BYs below hash a city push in memory
    cursor.execute(
        f"""CREATE TEMP TABLE funnel_outcomes ON COMMIT DROP AS
            SELECT s.enterprise_id, s.policy_id, max(s.rank) AS rank, ARRAY[{firsts}]::timestamptz[] AS at
            FROM ({union}) s
            JOIN {MESSAGES} m ON m.campaign_id = %s AND m.enterprise_id = s.enterprise_id
            WHERE s.policy_id = ANY(m.policy_ids) AND s.at >= m.created_at
            GROUP BY s.enterprise_id, s.policy_id""",
        [campaign_id],
    )
    # The push as a whole is policy 0 here (None once read back): its outcome is the best over the policies.
    whole_at = ", ".join(f"min(at[{n}])" for n in range(1, len(outcome_ranks) + 1)) or "NULL"
    cursor.execute(
        f"""INSERT INTO funnel_outcomes SELECT enterprise_id, 0, max(rank), ARRAY[{whole_at}]::timestamptz[]
            FROM funnel_outcomes GROUP BY enterprise_id"""
    )
    cursor.execute("CREATE INDEX ON funnel_outcomes (enterprise_id, policy_id); ANALYZE funnel_outcomes")

    def day(moment: str) -> str:
        return f"({moment} AT TIME ZONE '{tz}')::date"

    days = [
        f"CASE WHEN x.rank >= 1 THEN {day('COALESCE(m.sent_at, y.t_delivered)')} END",
        f"CASE WHEN x.rank >= 2 THEN {day('y.t_delivered')} END",
        f"CASE WHEN x.rank >= 3 THEN {day('x.t_opened')} END",
        *(f"CASE WHEN x.rank >= {r} THEN {day(f'o.at[{n}]')} END" for n, r in enumerate(outcome_ranks, 1)),
    ]
    sent = f"'{MessageStatus.SENT}', '{MessageStatus.DELIVERED}'"
    # One row per (message, policy) and one per message (policy 0), in one pass over the push's messages.
    cursor.execute(
        f"""CREATE TEMP TABLE funnel_units ON COMMIT DROP AS
            SELECT p.policy_id, m.enterprise_id, e.region_id, COALESCE(e.size_class, '') AS size_class, x.rank,
                   ARRAY[{", ".join(days)}]::date[] AS days,
                   CASE WHEN m.first_opened_at IS NOT NULL AND m.sent_at IS NOT NULL
                        THEN floor(extract(epoch FROM m.first_opened_at - m.sent_at) / 3600)::int END AS open_hour
            FROM {MESSAGES} m
            LEFT JOIN enterprises_enterprise e ON e.id = m.enterprise_id
            CROSS JOIN LATERAL unnest(array_append(m.policy_ids, 0::bigint)) AS p(policy_id)
            LEFT JOIN funnel_outcomes o ON o.enterprise_id = m.enterprise_id AND o.policy_id = p.policy_id
            CROSS JOIN LATERAL (SELECT CASE WHEN m.first_opened_at IS NOT NULL THEN 3
                                            WHEN m.delivered_at IS NOT NULL
                                              OR m.status = '{MessageStatus.DELIVERED}' THEN 2
                                            WHEN m.status IN ({sent}) THEN 1 ELSE 0 END AS base) b
            CROSS JOIN LATERAL (SELECT CASE WHEN b.base = 0 THEN 0 ELSE GREATEST(b.base, COALESCE(o.rank, 0)) END
                                       AS rank,
                                       COALESCE(m.first_opened_at, o.at[1]) AS t_opened) x
            CROSS JOIN LATERAL (SELECT COALESCE(m.delivered_at, x.t_opened) AS t_delivered) y
            WHERE m.campaign_id = %s""",
        [campaign_id],
    )


def _new_cell(count: int) -> list[dict]:
    return [{"ids": BitMap(), "daily": {}, "by_size": {}, "by_hour": {}} for _ in range(count)]


def _region(region_id: int | None) -> str:
    """A district's key in the cells' JSON breakdowns ("" for firms without one)."""
    return str(region_id or "")


def _cells_from_units(cursor, count: int) -> dict[int | None, list[dict]]:
    """{policy or None: [per stage: ids, daily, by_size, by_hour]} from funnel_units."""
    cells: dict[int | None, list[dict]] = defaultdict(lambda: _new_cell(count))
    by_rank: dict[int | None, dict[int, BitMap]] = defaultdict(dict)
    cursor.execute("SELECT policy_id, rank, array_agg(enterprise_id) FROM funnel_units GROUP BY 1, 2")
    for policy_id, rank, ids in cursor.fetchall():
        by_rank[policy_id or None][rank] = BitMap(ids)
    for policy_id, ranks in by_rank.items():
        reached = BitMap()
        for rank in range(count - 1, -1, -1):  # stage k holds every firm whose rank is k or more
            if rank in ranks:
                reached |= ranks[rank]
            cells[policy_id][rank]["ids"] = BitMap(reached)
    cursor.execute(
        "SELECT policy_id, region_id, s.k, s.day, count(*) FROM funnel_units, unnest(days) WITH ORDINALITY s(day, k) "
        "WHERE s.day IS NOT NULL GROUP BY 1, 2, 3, 4"
    )
    for policy_id, region_id, k, day, n in cursor.fetchall():
        cells[policy_id or None][k]["daily"].setdefault(_region(region_id), {})[day.isoformat()] = n
    cursor.execute("SELECT policy_id, region_id, size_class, rank, count(*) FROM funnel_units GROUP BY 1, 2, 3, 4")
    for policy_id, region_id, size, rank, n in cursor.fetchall():
        for k in range(rank + 1):
            split = cells[policy_id or None][k]["by_size"].setdefault(_region(region_id), {})
            split[size] = split.get(size, 0) + n
    opened = funnel_stages.stage_keys().index(funnel_stages.OPENED)
    cursor.execute(
        f"SELECT policy_id, region_id, LEAST(open_hour, {MAX_HOUR}), count(*) FROM funnel_units "
        f"WHERE open_hour >= 0 GROUP BY 1, 2, 3"
    )
    for policy_id, region_id, hour, n in cursor.fetchall():
        hours = cells[policy_id or None][opened]["by_hour"].setdefault(_region(region_id), [0] * (MAX_HOUR + 1))
        hours[hour] += n
    return cells


def _audience(policy_ids: list[int], on: datetime.date) -> dict[int | None, BitMap]:
    """{policy or None (the push as a whole): firms qualifying} for the push's policies on ``on``."""
    if not policy_ids:
        return {}
    index = get_index()
    result: dict[int | None, BitMap] = {None: BitMap()}
    for pk, rule in Policy.objects.filter(pk__in=policy_ids).values_list("pk", "audience_rule"):
        result[pk] = index.audience(rule or {"all": []}, on)
        result[None] |= result[pk]
    return result


def _stored_qualified(campaign_id: int) -> dict[int | None, BitMap]:
    rows = FunnelCell.objects.filter(campaign_id=campaign_id, stage=funnel_stages.QUALIFIED)
    return {r.policy_id: BitMap.deserialize(bytes(r.ids)) for r in rows}


def _add_qualified(cells: dict[int | None, list[dict]], qualified: dict[int | None, BitMap], count: int) -> None:
    """Qualified = the audience kept for the push, plus every firm it messaged (so sent ⊆ qualified)."""
    for key, firms in qualified.items():
        if key not in cells:
            cells[key] = _new_cell(count)
        cells[key][0]["ids"] |= firms


def _write_cells(cursor, campaign_id: int, pushed_on: datetime.date, cells: dict[int | None, list[dict]]) -> None:
    keys = funnel_stages.stage_keys()
    rows = []
    for policy_id, per_stage in cells.items():
        for k, cell in enumerate(per_stage):
            ids = cell["ids"]
            if not ids and k > 0:
                continue  # an empty later stage is a zero the readers assume
            ids.run_optimize()
            breakdowns = [json.dumps(cell[name]) for name in ("daily", "by_size", "by_hour")]
            rows.append((campaign_id, pushed_on, policy_id, keys[k], len(ids), ids.serialize(), *breakdowns))
    cursor.execute(f"DELETE FROM {CELLS} WHERE campaign_id = %s", [campaign_id])
    execute_values(
        cursor,
        f"INSERT INTO {CELLS} (campaign_id, pushed_on, policy_id, stage, firms, ids, daily, by_size, by_hour) "
        f"VALUES %s",
        rows,
        template="(%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb)",
        page_size=100,
    )


# --- which pushes to roll up ---------------------------------------------------------------------------------


def _interval(age: datetime.timedelta) -> datetime.timedelta:
    """How stale a push's rollup may get: receipts and openings come mostly in the first hours."""
    if age < datetime.timedelta(days=1):
        return datetime.timedelta(minutes=2)
    if age < datetime.timedelta(days=7):
        return datetime.timedelta(minutes=15)
    if age < datetime.timedelta(days=90):
        return datetime.timedelta(hours=2)
    return datetime.timedelta(hours=24)


def _reactions_key() -> str:
    return shared_redis.key("analytics", "funnel", "outcomes-seen")


def _campaigns_with_new_outcomes(since: datetime.datetime) -> set[int]:
    """Pushes that told a firm about a policy it has since reacted to (or reached a later stage of)."""
    sources = funnel_stages.outcome_sources()
    if not sources:
        return set()
    union = " UNION ALL ".join(f"SELECT x.enterprise_id, x.policy_id FROM ({sql}) x WHERE x.at > %s"
                               for _, sql in sources)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT l.campaign_id FROM ({union}) s JOIN {NotificationLedger._meta.db_table} l "
            f"ON l.enterprise_id = s.enterprise_id AND l.policy_id = s.policy_id",
            [since] * len(sources),
        )
        return {row[0] for row in cursor.fetchall()}


def funnel_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Pushes whose rollup is missing or stale, most urgent first."""
    now = now or timezone.now()
    client = shared_redis.client()
    seen = client.get(_reactions_key())
    since = datetime.datetime.fromtimestamp(float(seen), tz=datetime.UTC) if seen else now - datetime.timedelta(days=1)
    reacted = _campaigns_with_new_outcomes(since)
    client.set(_reactions_key(), now.timestamp())
    rollups = {r.campaign_id: r for r in CampaignRollup.objects.all().only("campaign_id", "refreshed_at")}
    due: list[tuple[int, int]] = []
    for pk, status, launched_at, planned_at in Campaign.objects.filter(
        status__in=ROLLED_UP, purpose=Campaign.Purpose.ANNOUNCE
    ).values_list("pk", "status", "launched_at", "planned_at"):
        rollup = rollups.get(pk)
        if rollup is None or status in (Campaign.Status.PLANNING, Campaign.Status.SENDING):
            due.append((0, pk))
        elif pk in reacted and now - rollup.refreshed_at >= datetime.timedelta(minutes=1):
            due.append((1, pk))
        elif now - rollup.refreshed_at >= _interval(now - (planned_at or launched_at or rollup.refreshed_at)):
            due.append((2, pk))
    gone = set(rollups) - set(Campaign.objects.filter(pk__in=list(rollups)).values_list("pk", flat=True))
    due.extend((0, pk) for pk in gone)
    return [pk for _, pk in sorted(due, key=lambda item: (item[0], -item[1]))]


def funnel_refresh_due(*, budget_seconds: float = 25.0) -> list[int]:
    """Roll up the pushes that are due, most urgent first, until the time budget is spent; the rest wait for
    the next round. Returns the pushes rolled up. Only one round runs at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [TICK_LOCK])  # session-level: each push commits alone
        if not cursor.fetchone()[0]:
            return []
    try:
        started, done = time.monotonic(), []
        for campaign_id in funnel_due():
            if time.monotonic() - started > budget_seconds:
                break
            if funnel_campaign_refresh(campaign_id=campaign_id):
                done.append(campaign_id)
        return done
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [TICK_LOCK])
