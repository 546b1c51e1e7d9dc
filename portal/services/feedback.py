"""What firms say about policies: reactions (感兴趣 / 已申报 / 不相关), 好差评 ratings and staff's follow-up,
and the policy labels a firm subscribes to."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from policies.models import PolicyLabel
from portal.models import LabelSubscription, PolicyRating, PolicyReaction


def policy_react(*, enterprise_id: int, policy_id: int, kind: str) -> PolicyReaction:
    if kind not in PolicyReaction.Kind.values:
        raise ValidationError("未知的反馈类型。")
    reaction, _ = PolicyReaction.objects.update_or_create(
        enterprise_id=enterprise_id, policy_id=policy_id, defaults={"kind": kind, "updated_at": timezone.now()}
    )
    return reaction


def policy_rate(*, enterprise_id: int, policy_id: int, rating: str, comment: str = "") -> PolicyRating:
    if rating not in PolicyRating.Rating.values:
        raise ValidationError("请选择好评或差评。")
    if len(comment) > 500:
        raise ValidationError("意见请不要超过 500 字。")
    return PolicyRating.objects.create(
        enterprise_id=enterprise_id, policy_id=policy_id, rating=rating, comment=comment.strip()
    )


@transaction.atomic
def rating_follow_up(*, rating: PolicyRating, user, status: str, reply: str = "") -> PolicyRating:
    """Staff move a rating along received → handled → replied; a reply is shown to the firm."""
    if not user.has_perm("portal.change_policyrating"):
        raise PermissionDenied("您没有处理好差评的权限。")
    if status == PolicyRating.Status.REPLIED and not reply.strip():
        raise ValidationError("回复企业时请填写答复内容。")
    rating.status, rating.reply, rating.handled_by, rating.handled_at = status, reply.strip(), user, timezone.now()
    rating.save(update_fields=["status", "reply", "handled_by", "handled_at"])
    return rating


@transaction.atomic
def subscriptions_set(*, enterprise_id: int, label_ids: list[int]) -> None:
    wanted = set(PolicyLabel.objects.filter(pk__in=label_ids, is_active=True).values_list("pk", flat=True))
    LabelSubscription.objects.filter(enterprise_id=enterprise_id).exclude(label_id__in=wanted).delete()
    LabelSubscription.objects.bulk_create(
        [LabelSubscription(enterprise_id=enterprise_id, label_id=pk) for pk in wanted], ignore_conflicts=True
    )
