"""Corrections (纠错) a firm asks for on its portrait tags, and staff's review of them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from enterprises.models import PortraitTag
from enterprises.services import enterprise_tag_correct
from portal.models import TagCorrection


def correction_request(*, enterprise_id: int, tag_id: int, action: str, reason: str) -> TagCorrection:
    if action not in TagCorrection.Action.values:
        raise ValidationError("请选择纠错类型。")
    if not reason.strip():
        raise ValidationError("请说明理由，便于工作人员核实。")
    if not PortraitTag.objects.filter(pk=tag_id, is_active=True).exists():
        raise ValidationError("未知的标签。")
    pending = TagCorrection.objects.filter(status=TagCorrection.Status.PENDING)
    if pending.filter(enterprise_id=enterprise_id, tag_id=tag_id).exists():
        raise ValidationError("该标签已有待审核的纠错申请。")
    return TagCorrection.objects.create(
        enterprise_id=enterprise_id, tag_id=tag_id, action=action, reason=reason.strip()[:500]
    )


@transaction.atomic
def correction_review(*, correction: TagCorrection, user, approve: bool, note: str = "") -> TagCorrection:
    """Approve (the firm's tag changes, recorded as a correction with who and why) or reject with a note."""
    if not user.has_perm("portal.change_tagcorrection"):
        raise PermissionDenied("您没有审核纠错申请的权限。")
    correction = TagCorrection.objects.select_for_update().get(pk=correction.pk)
    if correction.status != TagCorrection.Status.PENDING:
        raise ValidationError("该申请已审核。")
    if approve:
        enterprise_tag_correct(
            enterprise=correction.enterprise,
            tag=correction.tag,
            add=correction.action == TagCorrection.Action.ADD,
            user=user,
            detail=f"纠错申请 #{correction.pk}：{correction.reason[:100]}",
        )
    elif not note.strip():
        raise ValidationError("不采纳时请填写审核意见，企业会看到。")
    correction.status = TagCorrection.Status.APPROVED if approve else TagCorrection.Status.REJECTED
    correction.review_note, correction.reviewed_by, correction.reviewed_at = note.strip(), user, timezone.now()
    correction.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    return correction
