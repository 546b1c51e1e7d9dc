"""SMS to firms about their own 兑现, through the push pipeline: a round's 意愿确认 and its one reminder, and
the progress of an application as its department reports it (办理进度).

Each notice is an ordinary push (``notifications``): a campaign naming the policy, with a registered 通知
template, sent to exactly the firms concerned (``CampaignRecipient``), so opt-outs, missing mobiles, the
daily cap, quiet hours, links, receipts and the watchdog all work as for any push. It is a progress notice
(``Campaign.Purpose.PROGRESS``): it tells a firm about its own case, so the policy's application window does
not apply, and it has no funnel of its own. The link in it opens the firm's link page, whose 兑现 tracker
shows the round or the application. A round's two-person approval stands for the push's.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.workdays import working_days_between
from notifications.audience import sent_today_sql, today_start
from notifications.models import Campaign, CampaignRecipient, SmsTemplate
from notifications.services import campaign_start, campaign_template_check
from policies.models import Policy
from portal.payouts.models import Application, PayoutAudit, PayoutEntry, PayoutRound

log = logging.getLogger("portal.payouts.notices")
# Progress notices a firm may get in a day (its own cases; policy pushes count apart): two applications
# moving on the same day are both told.
PROGRESS_DAILY_CAP = 3


def notice_template() -> SmsTemplate:
    """The registered 通知 template for 意愿确认; refuses, in Chinese, when it is missing or breaks the rules."""
    template = SmsTemplate.objects.filter(code=settings.SMS_PAYOUT_TEMPLATE, is_active=True).first()
    if template is None:
        raise ValidationError(
            f"未找到意愿确认短信模板（模板编号 {settings.SMS_PAYOUT_TEMPLATE}），请先在“短信模板”中登记。"
        )
    if template.kind != SmsTemplate.Kind.NOTICE:
        raise ValidationError("意愿确认短信须使用通知类模板。")
    return template


@transaction.atomic
def round_notice_queue(*, round_: PayoutRound, reminder: bool) -> Campaign | None:
    """Ask the round's listed firms to confirm (or, as the one reminder, those who have not answered yet)."""
    template = notice_template()
    name = f"{round_.name} · {'意愿确认提醒' if reminder else '意愿确认'}"
    campaign = Campaign.objects.create(
        name=name[:100], template=template, purpose=Campaign.Purpose.PROGRESS, force_reminder=True,
        daily_cap=PROGRESS_DAILY_CAP, created_by=round_.submitted_by,
        launched_by=round_.submitted_by, launched_at=timezone.now(), approved_by=round_.approved_by,
        approved_at=round_.approved_at,
    )  # fmt: skip
    check = campaign_template_check(campaign=campaign)
    if not check.ok:
        raise ValidationError(check.problems)
    campaign.policies.set([round_.policy_id])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CampaignRecipient._meta.db_table} (campaign_id, enterprise_id) "
            f"SELECT %s, enterprise_id FROM {PayoutEntry._meta.db_table} WHERE round_id = %s AND status = %s",
            [campaign.pk, round_.pk, PayoutEntry.Status.LISTED],
        )
        recipients = cursor.rowcount
    if not recipients:
        campaign.delete()
        return None
    round_.campaigns.add(campaign)
    PayoutAudit.objects.create(
        round=round_,
        user=None if reminder else round_.approved_by,
        action="发送提醒短信" if reminder else "发送意愿确认短信",
        reason=f"{recipients} 户，推送批次 #{campaign.pk}",
    )
    campaign_start(campaign=campaign)
    return campaign


REMIND_WORKING_DAYS_BEFORE = 1


def rounds_remind() -> int:
    """The one reminder: for each round asking for answers whose deadline is a working day away (or today),
    the firms that have not answered get an SMS. Safe to run again: ``reminded_at`` is set once."""
    today, reminded = timezone.localdate(), 0
    for round_ in PayoutRound.objects.filter(status=PayoutRound.Status.CONFIRMING, reminded_at__isnull=True):
        if round_.confirm_deadline is None or working_days_between(today, round_.confirm_deadline) > (
            REMIND_WORKING_DAYS_BEFORE
        ):
            continue
        with transaction.atomic():
            locked = PayoutRound.objects.select_for_update().get(pk=round_.pk)
            if locked.reminded_at is not None or today > locked.confirm_deadline:
                continue
            locked.reminded_at = timezone.now()
            locked.save(update_fields=["reminded_at"])
            reminded += round_notice_queue(round_=locked, reminder=True) is not None
    return reminded


# --- 办理进度 -------------------------------------------------------------------------------------------------

CLAIM = 5_000  # applications considered per transaction


def application_notice_template() -> SmsTemplate | None:
    """The registered 通知 template for 办理进度 (``SMS_APPLICATION_TEMPLATE``), or None (logged) while there is
    no usable one."""
    code = settings.SMS_APPLICATION_TEMPLATE
    template = SmsTemplate.objects.filter(code=code, is_active=True).first()
    if template is None:
        log.info("未登记办理进度短信模板（%s），申报状态变更暂不短信告知。", code)
        return None
    problems = [] if template.kind == SmsTemplate.Kind.NOTICE else ["办理进度短信须使用通知类模板"]
    problems += campaign_template_check(campaign=Campaign(template=template)).problems
    if problems:
        log.warning("办理进度短信模板（%s）不可用，申报状态变更暂不短信告知：%s", code, "；".join(problems))
        return None
    return template


def applications_notify(*, now: datetime.datetime | None = None) -> list[Campaign]:
    """Tell each firm, by one SMS per policy, that its application reached a state worth telling
    (``APPLICATION_NOTICE_STATUSES``: 已受理, 已公示, 已拨付 and 未通过 unless configured otherwise).

    Every application whose state the firm has not been told about is considered once: it is claimed (``FOR
    UPDATE SKIP LOCKED``, so two workers never claim the same one) and marked told in the same transaction
    that writes the campaigns. A state that is not worth an SMS, or that happened more than
    ``APPLICATION_NOTICE_MAX_AGE_DAYS`` ago (a department loading its history), is marked without an SMS.
    Without a registered template nothing is claimed: changes wait, and the age rule keeps stale ones quiet.
    Nor are the changes of a firm that already had today's PROGRESS_DAILY_CAP notices: they go tomorrow.
    A run telling more than ``APPLICATION_NOTICE_REVIEW_ABOVE`` firms about one policy waits for a second
    person's approval (推送批次 › 复核), as a push would. Returns the campaigns made (started ones are planned and
    sent by the workers, within caps and quiet hours)."""
    template = application_notice_template()
    if template is None:
        return []
    now = now or timezone.now()
    fresh_since = now - datetime.timedelta(days=settings.APPLICATION_NOTICE_MAX_AGE_DAYS)
    worth = set(settings.APPLICATION_NOTICE_STATUSES)
    table, started, allowance = Application._meta.db_table, [], _Allowance(today_start(now))
    at_cap = f"SELECT enterprise_id FROM ({sent_today_sql()}) s WHERE sent >= %s"
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            # A firm already at today's cap of progress notices keeps its changes for a later day, as do the
            # changes this run deferred: an SMS held back by the cap is late, never lost.
            cursor.execute(
                f"""UPDATE {table} a SET notified_status = a.status
                    FROM (SELECT id FROM {table} WHERE notified_status <> status
                            AND enterprise_id NOT IN ({at_cap}) AND NOT (id = ANY(%s::bigint[]))
                          ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) c
                    WHERE a.id = c.id
                    RETURNING a.id, a.policy_id, a.enterprise_id, a.status, a.status_at""",
                [allowance.today, Campaign.Purpose.PROGRESS, PROGRESS_DAILY_CAP, allowance.deferred, CLAIM],
            )
            claimed = cursor.fetchall()
            told = [row for row in sorted(claimed) if row[3] in worth and row[4] >= fresh_since]
            for policy_id, firms in sorted(allowance.split(cursor, told).items()):
                started.append(_progress_campaign(template, policy_id, firms, now))
        if len(claimed) < CLAIM:
            return started


class _Allowance:
    """What today's cap still allows each firm, over one run. The notices the run itself chose are not
    messages yet (the workers plan them after each commit), so the run counts them: a firm is told about a
    policy at most once a run, and no more policies than the cap leaves it. What does not fit is put back as
    not told (it is claimed in this transaction, so nobody else holds it) and not claimed again this run."""

    def __init__(self, today: datetime.datetime):
        self.today = today
        self.left: dict[int, int] = {}  # firm -> notices it may still get today
        self.told: dict[int, set[int]] = defaultdict(set)  # firm -> policies this run tells it about
        self.deferred: list[int] = []  # applications put back for a later day

    def split(self, cursor, told: list[tuple]) -> dict[int, set[int]]:
        """The firms to tell per policy, of ``told`` (application, policy, firm, …) rows."""
        new = sorted({firm for _, _, firm, _, _ in told} - self.left.keys())
        if new:
            cursor.execute(
                sent_today_sql("AND m.enterprise_id = ANY(%s)"), [self.today, Campaign.Purpose.PROGRESS, new]
            )
            self.left.update(dict.fromkeys(new, PROGRESS_DAILY_CAP))
            self.left.update({firm: PROGRESS_DAILY_CAP - sent for firm, sent in cursor.fetchall()})
        chosen: dict[int, set[int]] = defaultdict(set)  # firm -> policies, in this claim
        later = []
        for application_id, policy_id, firm, _, _ in told:
            if policy_id in self.told[firm]:
                continue  # an earlier claim of this run tells it about this policy already
            if policy_id in chosen[firm] or len(chosen[firm]) < self.left[firm]:
                chosen[firm].add(policy_id)
            else:
                later.append(application_id)
        if later:
            cursor.execute(f"UPDATE {Application._meta.db_table} SET notified_status = '' WHERE id = ANY(%s)", [later])
            self.deferred += later
        firms_by_policy: dict[int, set[int]] = defaultdict(set)
        for firm, policies in chosen.items():
            self.left[firm] -= len(policies)
            self.told[firm] |= policies
            for policy_id in policies:
                firms_by_policy[policy_id].add(firm)
        return firms_by_policy


def _progress_campaign(template: SmsTemplate, policy_id: int, firms: set[int], now: datetime.datetime) -> Campaign:
    policy = Policy.objects.only("title", "short_title").get(pk=policy_id)
    name = f"办理进度 · {policy.short_title or policy.title} · {timezone.localtime(now):%m-%d %H:%M}"
    campaign = Campaign.objects.create(
        name=name[:100], template=template, purpose=Campaign.Purpose.PROGRESS, force_reminder=True,
        daily_cap=PROGRESS_DAILY_CAP, launched_at=now,
    )  # fmt: skip
    campaign.policies.set([policy_id])
    CampaignRecipient.objects.bulk_create(
        [CampaignRecipient(campaign=campaign, enterprise_id=firm) for firm in sorted(firms)], batch_size=2_000
    )
    if len(firms) > settings.APPLICATION_NOTICE_REVIEW_ABOVE:
        # A department's report is not a push anyone approved: a large one waits for a second person (复核).
        campaign.status = Campaign.Status.AWAITING_APPROVAL
        campaign.review_note = (
            f"一次告知 {len(firms):,} 户，超过 {settings.APPLICATION_NOTICE_REVIEW_ABOVE:,} 户，需复核后发送"
        )
        campaign.save(update_fields=["status", "review_note"])
        log.warning("办理进度通知 #%s 涉及 %s 户，等待复核。", campaign.pk, len(firms))
        return campaign
    return campaign_start(campaign=campaign)
