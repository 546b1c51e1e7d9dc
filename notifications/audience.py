"""Who a push reaches: every firm qualifying for a chosen policy, minus those left out, and why.

The audience of each chosen policy comes from the matching index as a bitmap and is streamed into a
temporary table of (firm, policy) pairs; exclusions (opted out, no valid mobile, already told about
that policy, today's cap reached) are then each one SQL statement, whatever the number of firms.
Preview and planning both start here, inside their own transaction (the tables are temporary).
"""

from __future__ import annotations

import datetime
import io

from django.db import connection
from django.utils import timezone

from enterprises.validators import MOBILE_RE
from matching.index import get_index
from notifications.models import Campaign, CampaignRecipient, Message
from notifications.push_text import POLICY_TITLE_SQL
from policies.models import Policy, Window

MessageStatus = Message.Status  # in raw SQL too: '{MessageStatus.CANCELLED}'
MOBILE_SQL = f"e.contact_mobile ~ '{MOBILE_RE.pattern}'"  # the validator's own pattern

EXCLUSION_LABELS = {
    "opted_out": "已退订短信",
    "no_mobile": "无有效手机号",
    "already_notified": "已通知过所选政策",
    "daily_cap": "今日已达短信上限",
}


def campaign_policies(*, campaign: Campaign, on: datetime.date) -> list[Policy]:
    """The policies a campaign pushes on ``on``: those chosen, or everything published since the last push,
    but only those whose application window is open that day (a push never announces a closed policy). A
    progress notice (its firms' own payout or application) names its policy whatever the window."""
    if campaign.purpose == Campaign.Purpose.PROGRESS:
        return list(Policy.objects.filter(campaigns=campaign).order_by("id"))
    return [p for p in _chosen_policies(campaign) if p.window(on) == Window.OPEN]


def campaign_policies_outside_window(*, campaign: Campaign, on: datetime.date) -> list[Policy]:
    """The campaign's policies whose application window is closed, or not yet open, on ``on``: never pushed.
    A campaign of chosen policies naming one is refused; "since the last push" skips them. (None for a
    progress notice: it announces nothing.)"""
    if campaign.purpose == Campaign.Purpose.PROGRESS:
        return []
    return [p for p in _chosen_policies(campaign) if p.window(on) != Window.OPEN]


def window_words(policy: Policy, on: datetime.date) -> str:
    """Why a policy is outside its application window on ``on``, in a few words with the date."""
    if policy.window(on) == Window.CLOSED:
        return f"{Window.CLOSED.label}，截止日期 {policy.apply_end:%Y-%m-%d}"
    if policy.window(on) == Window.UPCOMING:
        return f"{Window.UPCOMING.label}，{policy.apply_start:%Y-%m-%d} 开始申报"
    return Window.OPEN.label


def _chosen_policies(campaign: Campaign) -> list[Policy]:
    """Published policies the campaign names: those chosen, or everything published since the last push."""
    published = Policy.objects.filter(status=Policy.Status.PUBLISHED)
    if campaign.scope == Campaign.Scope.SELECTED:
        return list(published.filter(campaigns=campaign).order_by("apply_end", "id"))
    last = (
        Campaign.objects.exclude(pk=campaign.pk)
        .filter(status__in=[Campaign.Status.SENDING, Campaign.Status.COMPLETED], purpose=Campaign.Purpose.ANNOUNCE)
        .order_by("-launched_at")
        .values_list("launched_at", flat=True)
        .first()
    )
    if last:
        published = published.filter(published_at__gt=last)
    return list(published.order_by("apply_end", "id"))


def load_pairs(policies: list[Policy], on: datetime.date, campaign: Campaign | None = None) -> int:
    """(firm, policy) pairs for every chosen policy's audience, from the bitmap index, into push_pairs; for a
    campaign with a list of recipients (``CampaignRecipient``), those firms with each chosen policy."""
    index = get_index()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS push_pairs; CREATE TEMP TABLE push_pairs (enterprise_id bigint, "
                       "policy_id bigint)")  # fmt: skip
        listed = campaign is not None and (
            # A progress notice reaches its listed firms or nobody: never a policy's whole audience.
            campaign.purpose == Campaign.Purpose.PROGRESS
            or CampaignRecipient.objects.filter(campaign=campaign).exists()
        )
        if listed:
            cursor.execute(
                f"INSERT INTO push_pairs SELECT r.enterprise_id, p.id FROM {CampaignRecipient._meta.db_table} r "
                "CROSS JOIN unnest(%s::bigint[]) AS p(id) WHERE r.campaign_id = %s",
                [[p.pk for p in policies], campaign.pk],
            )
            total = cursor.rowcount
            cursor.execute("CREATE INDEX ON push_pairs (enterprise_id); ANALYZE push_pairs")
            return total
        total = 0
        for policy in policies:
            ids = index.audience(policy.audience_rule or {"all": []}, on)
            buffer = io.StringIO()
            suffix = f"\t{policy.pk}\n"
            buffer.write(suffix.join(map(str, ids)))
            if ids:
                buffer.write(suffix)
            buffer.seek(0)
            cursor.copy_expert("COPY push_pairs (enterprise_id, policy_id) FROM STDIN", buffer)
            total += len(ids)
        cursor.execute("CREATE INDEX ON push_pairs (enterprise_id); ANALYZE push_pairs")
    return total


def filter_pairs(campaign: Campaign) -> dict[str, int]:
    """Remove excluded pairs from push_pairs, counting firms per reason (a firm counts once, first reason)."""
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS push_out; CREATE TEMP TABLE push_out (enterprise_id bigint PRIMARY KEY, "
                       "reason text)")  # fmt: skip
        steps = [
            ("opted_out", "SELECT DISTINCT p.enterprise_id FROM push_pairs p JOIN enterprises_enterprise e "
                          "ON e.id = p.enterprise_id WHERE e.sms_opt_out", []),
            ("no_mobile", f"SELECT DISTINCT p.enterprise_id FROM push_pairs p JOIN enterprises_enterprise e "
                          f"ON e.id = p.enterprise_id WHERE NOT ({MOBILE_SQL})", []),
            # Each purpose has its own cap: a firm's own case (兑现进度) is not held back by a policy push.
            ("daily_cap", "SELECT enterprise_id FROM ("
                          + sent_today_sql("AND m.campaign_id <> %s AND m.enterprise_id IN "
                                           "(SELECT enterprise_id FROM push_pairs)")
                          + ") s WHERE sent >= %s",
             [today_start(), campaign.purpose, campaign.pk, campaign.daily_cap]),
        ]  # fmt: skip
        for reason, sql, params in steps:
            cursor.execute(f"INSERT INTO push_out SELECT id, %s FROM ({sql}) x(id) ON CONFLICT DO NOTHING",
                           [reason, *params])  # fmt: skip
            counts[reason] = cursor.rowcount
        cursor.execute("DELETE FROM push_pairs p USING push_out o WHERE o.enterprise_id = p.enterprise_id")
        if not campaign.force_reminder:
            # Pairs already told; a firm is excluded for this reason only when nothing new is left for it.
            # This campaign's own rows are an earlier, interrupted run of this plan, not an earlier push.
            cursor.execute(
                "CREATE TEMP TABLE push_told ON COMMIT DROP AS SELECT DISTINCT p.enterprise_id FROM push_pairs p "
                "JOIN notifications_notificationledger l ON l.enterprise_id = p.enterprise_id "
                "AND l.policy_id = p.policy_id AND l.campaign_id <> %s",
                [campaign.pk],
            )
            cursor.execute(
                "DELETE FROM push_pairs p USING notifications_notificationledger l "
                "WHERE l.enterprise_id = p.enterprise_id AND l.policy_id = p.policy_id AND l.campaign_id <> %s",
                [campaign.pk],
            )
            cursor.execute(
                "SELECT count(*) FROM push_told t WHERE NOT EXISTS "
                "(SELECT 1 FROM push_pairs p WHERE p.enterprise_id = t.enterprise_id)"
            )
            counts["already_notified"] = cursor.fetchone()[0]
            cursor.execute("DROP TABLE push_told")
        else:
            counts["already_notified"] = 0
    return counts


def bundles_sql(where: str = "") -> str:
    """Per firm of push_pairs (those ``where`` allows): its policies, nearest deadline first, and the first
    one's short title; ``n`` numbers the bundles from 0."""
    return f"""
        SELECT pp.enterprise_id,
               array_agg(pp.policy_id ORDER BY p.apply_end NULLS LAST, p.id) AS policy_ids,
               (array_agg({POLICY_TITLE_SQL} ORDER BY p.apply_end NULLS LAST, p.id))[1] AS first_title,
               (row_number() OVER () - 1)::int AS n
        FROM push_pairs pp JOIN policies_policy p ON p.id = pp.policy_id {where}
        GROUP BY pp.enterprise_id"""


def today_start(now: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight, local time (of ``now``, else of this moment): the per-firm daily cap counts messages since then."""
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def sent_today_sql(where: str = "") -> str:
    """Per firm (``enterprise_id``), how many SMS of one purpose count against its daily cap (``sent``): those
    written since midnight, but for any cancelled or refused before sending. Parameters: midnight
    (``today_start``), the purpose, then those of ``where`` (more conditions on message ``m``)."""
    return f"""SELECT m.enterprise_id, count(*) AS sent FROM {Message._meta.db_table} m
               WHERE m.created_at >= %s
                 AND m.campaign_id IN (SELECT id FROM {Campaign._meta.db_table} WHERE purpose = %s)
                 AND m.status NOT IN ('{MessageStatus.CANCELLED}', '{MessageStatus.VALIDATION_FAILED}') {where}
               GROUP BY m.enterprise_id"""
