"""Seeded history for the demo, so the staff dashboard tells a story on first open: several pushes over the
past weeks, each planned by the real planner and then dated back, with receipts, link openings (most within
hours of the SMS, larger firms more often), 感兴趣 / 已申报 reactions, 好差评 ratings (some 差评 answered late,
some still waiting past their working-day deadline) and 纠错 requests; then the dashboard's rollups.

Everything after planning is set-based SQL over the pushes' messages; the randomness is a hash of each row's
id and the seed, so the same seed gives the same history.
"""

from __future__ import annotations

import datetime
import random

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from core import changes
from core.workdays import add_working_days, is_working_day
from enterprises.models import Enterprise, PortraitTag
from notifications.models import Campaign, Message, NotificationLedger, SmsTemplate
from notifications.services import campaign_plan
from policies.models import Policy, Window, window_q
from portal.analytics.services.coverage import coverage_refresh
from portal.analytics.services.funnel import funnel_campaign_refresh
from portal.analytics.services.register import register_refresh
from portal.models import PolicyRating, PolicyReaction, TagCorrection

TAG_ACTIONS = [TagCorrection.Action.ADD, TagCorrection.Action.REMOVE]  # the demo's corrections are about tags

BODY = "{企业简称}：您有{n}条惠企政策可申报，含“{政策简称}”等，详见 {link} 拒收请回复R"
PUSH_NAMES = ["稳岗就业政策推送", "减税降费政策推送", "人才培养政策推送", "企业融资政策推送", "绿色低碳政策推送",
              "知识产权政策推送", "财政金融政策推送", "开放合作政策推送"]  # fmt: skip
# Left for the demo's live push (demo_push), whose policies must not have been pushed already.
LIVE_PUSH_CATEGORIES = ["KJCX", "SZZX"]
S = Message.Status
GOOD_COMMENTS = ["申报流程清楚，材料一次就过了", "窗口老师解答很耐心", "短信提醒很及时", "政策解读通俗易懂", ""]
BAD_COMMENTS = ["申报材料清单和窗口要求不一致", "咨询电话一直打不通", "链接里的截止日期与通知不符",
                "在线申报系统上传附件总是失败", "兑现时间太长，至今没有回复"]  # fmt: skip


def _u(salt: str, seed: int) -> str:
    """SQL for a uniform number in [0, 1) from the message's id, the seed and a salt: the same on every run."""
    return f"((hashtext(m.id::text || ':{salt}:{seed}') & 1048575) / 1048576.0)"


def _past_workday(day: datetime.date) -> datetime.date:
    while not is_working_day(day):
        day -= datetime.timedelta(days=1)
    return day


def generate_history(*, seed: int = 20261122, pushes: int = 5, weeks: int = 6) -> dict:
    """Pushes over the past ``weeks`` weeks with their outcomes, ratings and corrections; returns what was made."""
    rng = random.Random(seed)
    today = timezone.localdate()
    template, _ = SmsTemplate.objects.get_or_create(
        code="SMS_DEMO_001", defaults={"name": "政策包通知", "kind": SmsTemplate.Kind.MARKETING, "body": BODY}
    )
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    candidates = list(
        Policy.objects.filter(window_q(Window.OPEN, today), status=Policy.Status.PUBLISHED)
        .exclude(labels__category__code__in=LIVE_PUSH_CATEGORIES)
        .distinct()
        .order_by("pk")
    )
    rng.shuffle(candidates)
    _register_gaps(seed)
    made = {"pushes": 0, "messages": 0}
    campaigns = []
    for n in range(pushes):
        chosen = candidates[n * 3 : n * 3 + 3]
        if not chosen:
            break
        day = _past_workday(today - datetime.timedelta(days=round((pushes - n) * weeks * 7 / pushes)))
        at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, rng.randint(0, 50))))
        campaign = Campaign.objects.create(
            name=f"{day:%m月%d日}{PUSH_NAMES[n % len(PUSH_NAMES)]}", template=template, status=Campaign.Status.PLANNING,
            created_by=admin, launched_by=admin, launched_at=at, created_at=at,
        )  # fmt: skip
        campaign.policies.set(chosen)
        made["messages"] += campaign_plan(campaign=campaign)
        _date_back(campaign, at, seed)
        campaigns.append(campaign)
        made["pushes"] += 1
    _reactions(seed)
    made["ratings"] = _ratings(rng, today)
    made["corrections"] = _corrections(rng, today)
    for campaign in campaigns:
        funnel_campaign_refresh(campaign_id=campaign.pk)
    coverage_refresh(force=True)
    register_refresh()
    return made


def _register_gaps(seed: int) -> None:
    """A real register lacks figures: some firms' revenue or staff numbers are not known (their size class came
    from elsewhere), which leaves rules that ask about them undecided (数据缺失) for those firms."""
    with connection.cursor() as cursor:
        for column, share in (("annual_revenue", 0.14), ("employees", 0.07)):
            cursor.execute(
                f"UPDATE enterprises_enterprise m SET {column} = NULL WHERE {_u(column, seed)} < %s", [share]
            )
    changes.enterprises_changed(None)


def _date_back(campaign: Campaign, at: datetime.datetime, seed: int) -> None:
    """The push as it went: sent at ``at``, receipts seconds later, openings over the following days."""
    table = Message._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} m SET created_at = %s,
                  status = CASE WHEN {_u("fail", seed)} < 0.015 THEN '{S.TECHNICAL_FAILURE}'
                                WHEN {_u("fail", seed)} < 0.05 THEN '{S.PERMANENT_FAILURE}'
                                WHEN {_u("dlv", seed)} < 0.97 THEN '{S.DELIVERED}' ELSE '{S.SENT}' END,
                  sent_at = %s + (m.id - first.id) * interval '2 milliseconds',
                  attempts = 1
                FROM (SELECT min(id) AS id FROM {table} WHERE campaign_id = %s) first
                WHERE m.campaign_id = %s""",
            [at, at, campaign.pk, campaign.pk],
        )
        # Larger firms open more often; most openings come within hours, a long tail over days.
        cursor.execute(
            f"""UPDATE {table} m SET
                  delivered_at = CASE WHEN m.status = '{S.DELIVERED}' THEN m.sent_at + interval '6 seconds' END,
                  first_opened_at = CASE WHEN m.status IN ('{S.DELIVERED}', '{S.SENT}') AND {_u("open", seed)} <
                        CASE e.size_class WHEN 'large' THEN 0.55 WHEN 'medium' THEN 0.45 WHEN 'small' THEN 0.32
                                          ELSE 0.22 END
                      THEN m.sent_at + LEAST(-ln(1 - {_u("when", seed)}) * 5, 400) * interval '1 hour' END
                FROM enterprises_enterprise e WHERE e.id = m.enterprise_id AND m.campaign_id = %s""",
            [campaign.pk],
        )
        cursor.execute(
            f"UPDATE {table} m SET open_count = 1 + ({_u('again', seed)} * 3)::int WHERE m.campaign_id = %s "
            f"AND m.first_opened_at IS NOT NULL",
            [campaign.pk],
        )
        cursor.execute(
            f"UPDATE {NotificationLedger._meta.db_table} SET notified_at = %s WHERE campaign_id = %s", [at, campaign.pk]
        )
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED, planned_at=at)


def _reactions(seed: int) -> None:
    """About one opening in six says 感兴趣 about the first policy of its SMS; a third of those have applied."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {PolicyReaction._meta.db_table} (enterprise_id, policy_id, kind, updated_at)
                SELECT m.enterprise_id, m.policy_ids[1],
                       CASE WHEN {_u("applied", seed)} < 0.35 THEN '{PolicyReaction.Kind.APPLIED}'
                            ELSE '{PolicyReaction.Kind.INTERESTED}' END,
                       m.first_opened_at + (2 + {_u("think", seed)} * 600) * interval '1 minute'
                FROM {Message._meta.db_table} m
                WHERE m.first_opened_at IS NOT NULL AND {_u("react", seed)} < 0.17
                  AND m.first_opened_at < now() - interval '1 hour'
                ON CONFLICT (enterprise_id, policy_id) DO NOTHING"""
        )


def _ratings(rng: random.Random, today: datetime.date) -> int:
    """好差评 from firms that reacted, a quarter of them from the last two weeks: mostly good; most answered within
    their working-day deadline, some late, and some still waiting (yellow and red on the dashboard)."""
    reactions = PolicyReaction.objects.order_by("updated_at", "pk")
    reacted = list(reactions.values_list("enterprise_id", "policy_id", "updated_at"))
    staff = User.objects.filter(is_superuser=True).order_by("pk").first()
    now = timezone.now()
    ratings = []
    for enterprise_id, policy_id, at in rng.sample(reacted, k=min(len(reacted), 200)):
        recent = rng.random() < 0.25
        bad = rng.random() < (0.35 if recent else 0.15)
        created = now - datetime.timedelta(days=rng.uniform(0, 12)) if recent else at + datetime.timedelta(hours=2)
        created = min(created, now)
        rating = PolicyRating(
            enterprise_id=enterprise_id, policy_id=policy_id, created_at=created,
            rating=PolicyRating.Rating.BAD if bad else PolicyRating.Rating.GOOD,
            comment=rng.choice(BAD_COMMENTS if bad else GOOD_COMMENTS),
        )  # fmt: skip
        received = timezone.localdate(created)
        allowed = settings.QUEUE_DEADLINES["rating_bad" if bad else "rating"]
        deadline = add_working_days(received, allowed)
        overdue = deadline < today
        if rng.random() < ((0.7 if recent else 0.97) if overdue else 0.3):
            if overdue and rng.random() < 0.2:  # answered, but late
                answered = deadline + datetime.timedelta(days=rng.randint(1, 3))
            else:
                answered = add_working_days(received, rng.randint(0, allowed))
            rating.status, rating.handled_by = PolicyRating.Status.REPLIED, staff
            rating.handled_at = max(
                created, timezone.make_aware(datetime.datetime.combine(min(answered, today), datetime.time(16)))
            )
            rating.reply = "感谢反馈，已转业务处室核实并改进，详情请留意后续通知。"
        ratings.append(rating)
    PolicyRating.objects.bulk_create(ratings)
    return len(ratings)


def _corrections(rng: random.Random, today: datetime.date) -> int:
    """纠错 requests over the last two weeks: older ones reviewed, recent ones (and a few late ones) pending."""
    tags = list(PortraitTag.objects.filter(kind=PortraitTag.Kind.QUALIFICATION, is_active=True)[:12])
    firms = list(Enterprise.objects.order_by("?").values_list("pk", flat=True)[:24])
    made = []
    for n, enterprise_id in enumerate(firms):
        if not tags:
            break
        created = timezone.now() - datetime.timedelta(days=rng.uniform(0, 16), hours=rng.uniform(0, 8))
        correction = TagCorrection(
            enterprise_id=enterprise_id, tag=tags[n % len(tags)], created_at=created,
            action=rng.choice(TAG_ACTIONS), reason="企业已取得相关资质证书，系统标签未更新。",
        )  # fmt: skip
        if (today - timezone.localdate(created)).days > 9 and rng.random() < 0.7:
            correction.status = TagCorrection.Status.REJECTED
            correction.review_note = "经核实，证书尚在公示期，待正式发文后再申请。"
            correction.reviewed_at = created + datetime.timedelta(days=rng.uniform(1, 6))
        made.append(correction)
    TagCorrection.objects.bulk_create(made)
    return len(made)
