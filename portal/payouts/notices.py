"""SMS to the firms of a round (意愿确认 and its one reminder), through the push pipeline.

Each notice is an ordinary push (``notifications``): a campaign naming the round's policy, with a
registered 通知 template (``SMS_PAYOUT_TEMPLATE``), sent to exactly the firms listed (``CampaignRecipient``,
filled by one ``INSERT … SELECT``), so opt-outs, missing mobiles, the daily cap, quiet hours, links,
receipts and the watchdog all work as for any push. The link in it opens the firm's link page, whose
兑现 tracker leads to the 意愿确认 page. The round's two-person approval stands for the push's.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.workdays import working_days_between
from notifications.models import Campaign, CampaignRecipient, SmsTemplate
from notifications.services import campaign_start, campaign_template_check
from portal.payouts.models import PayoutAudit, PayoutEntry, PayoutRound


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
        name=name[:100], template=template, force_reminder=True, created_by=round_.submitted_by,
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
