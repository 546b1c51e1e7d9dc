"""Corrections (纠错) a firm asks for — a tag that is wrong, a qualification it is missing, a register fact
(region, size, industry, founding date) that is wrong — and staff's review of them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from enterprises.models import Enterprise, PortraitTag, TagRule
from enterprises.services import enterprise_tag_correct
from portal.models import TagCorrection
from portal.selectors import enterprise_field_words

# The register fact each kind of derivation rule reads: a derived tag is wrong when that fact is.
RULE_FIELD = {
    TagRule.Kind.REGION: TagCorrection.Field.REGION,
    TagRule.Kind.SIZE: TagCorrection.Field.SIZE_CLASS,
    TagRule.Kind.INDUSTRY: TagCorrection.Field.INDUSTRY,
    TagRule.Kind.AGE: TagCorrection.Field.FOUNDED_ON,
}


def _derived_from(enterprise: Enterprise, tag: PortraitTag) -> str | None:
    """The register fact a derived tag of this firm comes from (None when the tag is not derived)."""
    if tag.pk not in (enterprise.derived_tags or []):
        return None
    kind = TagRule.objects.filter(tag=tag).order_by("-is_active").values_list("kind", flat=True).first()
    if kind not in RULE_FIELD:
        raise ValidationError(f"“{tag.name}”由登记信息推导，请在“登记信息有误”中说明哪一项有误。")
    return RULE_FIELD[kind]


def correction_request(
    *,
    enterprise_id: int,
    action: str,
    reason: str,
    tag_id: int | None = None,
    field: str = "",
    requested_value: str = "",
) -> TagCorrection:
    """Queue a correction for staff. A derived tag (区域、行业、规模、成立年限) cannot be wrong on its own: disputing
    it disputes the register fact it was derived from, so it is queued as a register correction."""
    if action not in TagCorrection.Action.values:
        raise ValidationError("请选择纠错类型。")
    if not reason.strip():
        raise ValidationError("请说明理由，便于工作人员核实。")
    enterprise = Enterprise.objects.select_related("region").get(pk=enterprise_id)
    tag = None
    if action != TagCorrection.Action.FIELD or tag_id:
        tag = PortraitTag.objects.filter(pk=tag_id or 0, is_active=True).first()
        if tag is None:
            raise ValidationError("请选择标签。" if tag_id is None else "未知的标签。")
    if action == TagCorrection.Action.REMOVE:
        source_field = _derived_from(enterprise, tag)
        if source_field:
            action, field = TagCorrection.Action.FIELD, source_field
    elif action == TagCorrection.Action.ADD and tag.kind != PortraitTag.Kind.QUALIFICATION:
        raise ValidationError("只能申请添加资质类标签（如高新技术企业），请附证书编号。")
    pending = TagCorrection.objects.filter(enterprise_id=enterprise_id, status=TagCorrection.Status.PENDING)
    if action == TagCorrection.Action.FIELD:
        if field not in TagCorrection.Field.values:
            raise ValidationError("请选择有误的登记信息项。")
        if pending.filter(action=action, field=field).exists():
            raise ValidationError(f"“{TagCorrection.Field(field).label}”已有待审核的纠错申请。")
        return TagCorrection.objects.create(
            enterprise_id=enterprise_id,
            tag=tag,
            action=action,
            field=field,
            current_value=enterprise_field_words(enterprise=enterprise, field=field)[:100],
            requested_value=requested_value.strip()[:100],
            reason=reason.strip()[:500],
        )
    if pending.filter(tag=tag).exists():
        raise ValidationError("该标签已有待审核的纠错申请。")
    return TagCorrection.objects.create(
        enterprise_id=enterprise_id, tag=tag, action=action, reason=reason.strip()[:500]
    )


@transaction.atomic
def correction_review(*, correction: TagCorrection, user, approve: bool, note: str = "") -> TagCorrection:
    """Approve or reject with a note. Approving a tag correction changes the firm's tag (recorded as a
    correction with who and why); approving a register correction records that staff corrected the fact
    at its source (the register), which the firm then sees."""
    if not user.has_perm("portal.change_tagcorrection"):
        raise PermissionDenied("您没有审核纠错申请的权限。")
    correction = TagCorrection.objects.select_for_update().get(pk=correction.pk)
    if correction.status != TagCorrection.Status.PENDING:
        raise ValidationError("该申请已审核。")
    if approve and correction.action != TagCorrection.Action.FIELD:
        enterprise_tag_correct(
            enterprise=correction.enterprise,
            tag=correction.tag,
            add=correction.action == TagCorrection.Action.ADD,
            user=user,
            detail=f"纠错申请 #{correction.pk}：{correction.reason[:100]}",
        )
    elif not approve and not note.strip():
        raise ValidationError("不采纳时请填写审核意见，企业会看到。")
    correction.status = TagCorrection.Status.APPROVED if approve else TagCorrection.Status.REJECTED
    correction.review_note, correction.reviewed_by, correction.reviewed_at = note.strip(), user, timezone.now()
    correction.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    return correction
