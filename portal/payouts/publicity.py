"""After the answers: 公示 with its objections (异议) on the working-day calendar, then the list to finance."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from limits import RateLimitItemPerHour
from limits.errors import StorageError

from core.client_address import client_key
from core.workdays import add_working_days
from notifications.gateways.throttle import limiter
from portal.payouts.models import Objection, PayoutEntry, PayoutRound
from portal.payouts.queues import objection_deadline
from portal.payouts.services import _audit, _locked, _recount, check_payout_permission

Status, EntryStatus = PayoutRound.Status, PayoutEntry.Status


@transaction.atomic
def round_publish(*, round_: PayoutRound, user) -> PayoutRound:
    """Close the answers and publish the confirmed firms (公示) for the round's number of working days."""
    check_payout_permission(user, "open_payoutround")
    round_ = _locked(round_, Status.CONFIRMING)
    today = timezone.localdate()
    waiting = PayoutEntry.objects.filter(round=round_, status=EntryStatus.LISTED)
    if waiting.exists() and round_.confirm_deadline and today <= round_.confirm_deadline:
        raise ValidationError(f"意愿确认 {round_.confirm_deadline:%Y-%m-%d} 截止，尚有企业未答复，截止后才能公示。")
    waiting.update(status=EntryStatus.UNANSWERED, reason="逾期未确认", updated_at=timezone.now())
    round_.status, round_.publicity_start = Status.PUBLICITY, today
    round_.publicity_end = add_working_days(today, round_.publicity_days)
    round_.save(update_fields=["status", "publicity_start", "publicity_end"])
    _recount(round_)
    _audit(round_, "开始公示", user, f"公示至 {round_.publicity_end:%Y-%m-%d}")
    return round_


OBJECTIONS_PER_HOUR = 5  # from one client address: enough for a person, not for a flood of red lights


@transaction.atomic
def objection_raise(
    *, round_: PayoutRound, reason: str, contact: str, entry_id: int | None = None, client: str | None = None
):
    """Anyone may object during 公示 (a few an hour from one ``client`` address); the objection gets a
    working-day deadline for staff."""

    reason, contact = reason.strip(), contact.strip()
    if len(reason) < 5:
        raise ValidationError("请写明异议理由（至少 5 个字）。")
    if not contact:
        raise ValidationError("请留下联系方式，以便告知处理结果。")
    today = timezone.localdate()
    if round_.status != Status.PUBLICITY or (round_.publicity_end and today > round_.publicity_end):
        raise ValidationError("该批次不在公示期内。")
    if client is not None:
        try:
            allowed = limiter().hit(RateLimitItemPerHour(OBJECTIONS_PER_HOUR), "objection", client_key(client))
        except StorageError:
            raise ValidationError("系统繁忙，请稍后再试。") from None
        if not allowed:
            raise ValidationError("提交过于频繁，请 1 小时后再试。")
    entry = None
    if entry_id:
        entry = PayoutEntry.objects.filter(round=round_, pk=entry_id, status=EntryStatus.CONFIRMED).first()
    return Objection.objects.create(
        round=round_,
        entry=entry,
        reason=reason[:1000],
        contact=contact[:100],
        due_on=objection_deadline(today),
    )


@transaction.atomic
def objection_handle(*, objection, user, upheld: bool, answer: str):
    """Staff answer an objection; an upheld one takes the firm off the list, with the answer as the reason."""

    check_payout_permission(user, "handle_objection")
    answer = answer.strip()
    if not answer:
        raise ValidationError("请填写处理意见。")
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    if objection.status != Objection.Status.OPEN:
        raise ValidationError("该异议已处理。")
    objection.status = Objection.Status.UPHELD if upheld else Objection.Status.DISMISSED
    objection.answer, objection.handled_by, objection.handled_at = answer, user, timezone.now()
    objection.save(update_fields=["status", "answer", "handled_by", "handled_at"])
    round_ = objection.round
    _audit(round_, "异议成立" if upheld else "异议不成立", user, answer, objection.entry)
    if upheld and objection.entry_id:
        entry = PayoutEntry.objects.select_for_update().get(pk=objection.entry_id)
        if entry.status not in {EntryStatus.PAID, EntryStatus.EXCLUDED}:
            entry.status, entry.reason, entry.updated_at = (
                EntryStatus.EXCLUDED,
                f"公示异议成立：{answer}"[:200],
                timezone.now(),
            )
            entry.save(update_fields=["status", "reason", "updated_at"])
            _recount(round_)
    return objection


@transaction.atomic
def round_to_finance(*, round_: PayoutRound, user) -> PayoutRound:
    """After 公示, with every objection answered, the confirmed list goes to finance (the export marks it)."""

    check_payout_permission(user, "export_payoutround")
    round_ = _locked(round_, Status.PUBLICITY, Status.FINANCE)
    if round_.status == Status.PUBLICITY:
        if timezone.localdate() <= round_.publicity_end:
            raise ValidationError(f"公示期至 {round_.publicity_end:%Y-%m-%d}，公示结束后才能报送财政。")
        if Objection.objects.filter(round=round_, status=Objection.Status.OPEN).exists():
            raise ValidationError("尚有未处理的公示异议，处理后才能报送财政。")
        round_.status = Status.FINANCE
    round_.exported_at = timezone.now()
    round_.save(update_fields=["status", "exported_at"])
    _audit(round_, "导出拨付名单", user)
    return round_
