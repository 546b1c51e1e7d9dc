"""The firm's answer to a round (意愿确认): accept with its receiving account (encrypted), or decline."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.payouts.crypto import encrypt
from portal.payouts.models import PayoutEntry, PayoutRound
from portal.payouts.services import _audit, _recount

Status, EntryStatus = PayoutRound.Status, PayoutEntry.Status


ACCOUNT_CHARS = set("0123456789")


def _clean_account(account: str) -> str:
    digits = "".join(account.split()).replace("-", "")
    if not (8 <= len(digits) <= 32) or not set(digits) <= ACCOUNT_CHARS:
        raise ValidationError("收款账号应为 8 至 32 位数字。")
    return digits


@transaction.atomic
def entry_confirm(*, entry: PayoutEntry, bank_name: str, account: str) -> PayoutEntry:
    """The firm accepts the support and gives (or corrects) its receiving account, stored encrypted.

    While the round asks for answers; or, after a failed payment, to correct the account for the next one."""

    bank_name = bank_name.strip()
    if not bank_name or len(bank_name) > 100:
        raise ValidationError("请填写开户银行（如：中国工商银行无锡新区支行）。")
    digits = _clean_account(account)
    entry = PayoutEntry.objects.select_for_update().select_related("round").get(pk=entry.pk)
    round_ = entry.round
    asking = round_.status == Status.CONFIRMING and entry.status in {
        EntryStatus.LISTED,
        EntryStatus.CONFIRMED,
        EntryStatus.DECLINED,
    }
    if asking and round_.confirm_deadline and timezone.localdate() > round_.confirm_deadline:
        raise ValidationError("意愿确认已截止。")
    correcting = entry.status == EntryStatus.FAILED
    if not (asking or correcting):
        raise ValidationError(f"当前为“{entry.get_status_display()}”，无需确认。")
    entry.status, entry.bank_name, entry.account_encrypted, entry.account_last4 = (
        EntryStatus.CONFIRMED,
        bank_name,
        encrypt(digits),
        digits[-4:],
    )
    entry.answered_at = entry.updated_at = timezone.now()
    if correcting:
        entry.reason = ""
    entry.save(
        update_fields=[
            "status",
            "bank_name",
            "account_encrypted",
            "account_last4",
            "answered_at",
            "updated_at",
            "reason",
        ]
    )
    _audit(round_, "企业更正账户" if correcting else "企业确认", None, f"{bank_name} 尾号 {digits[-4:]}", entry)
    _recount(round_)
    return entry


@transaction.atomic
def entry_decline(*, entry: PayoutEntry, reason: str = "") -> PayoutEntry:
    """The firm declines the support (it may change its mind until the deadline)."""
    entry = PayoutEntry.objects.select_for_update().select_related("round").get(pk=entry.pk)
    round_ = entry.round
    if round_.status != Status.CONFIRMING or entry.status not in {EntryStatus.LISTED, EntryStatus.CONFIRMED}:
        raise ValidationError(f"当前为“{entry.get_status_display()}”，不能放弃。")
    if round_.confirm_deadline and timezone.localdate() > round_.confirm_deadline:
        raise ValidationError("意愿确认已截止。")
    entry.status, entry.reason = EntryStatus.DECLINED, (reason.strip() or "企业自愿放弃")[:200]
    entry.answered_at = entry.updated_at = timezone.now()
    entry.save(update_fields=["status", "reason", "answered_at", "updated_at"])
    _audit(round_, "企业放弃", None, entry.reason, entry)
    _recount(round_)
    return entry
