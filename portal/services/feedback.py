"""What firms say about policies: reactions (感兴趣 / 已申报 / 不相关), 好差评 ratings and staff's follow-up,
and the policy labels a firm subscribes to."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator

from enterprises.validators import mask_mobile
from notifications.gateways import Outcome, OutgoingSms, callid, get_gateway
from notifications.sms_rules import template_params
from policies.models import PolicyLabel
from portal.models import LabelSubscription, PolicyRating, PolicyReaction

log = logging.getLogger("portal.feedback")


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
    """Staff move a rating along received → handled → replied. A reply is shown to the firm, so a rating
    with a reply is 已回复 whatever status was chosen."""
    if not user.has_perm("portal.change_policyrating"):
        raise PermissionDenied("您没有处理好差评的权限。")
    reply = reply.strip()
    if reply:
        status = PolicyRating.Status.REPLIED
    elif status == PolicyRating.Status.REPLIED:
        raise ValidationError("回复企业时请填写答复内容。")
    rating.status, rating.reply, rating.handled_by, rating.handled_at = status, reply, user, timezone.now()
    rating.save(update_fields=["status", "reply", "handled_by", "handled_at"])
    return rating


def rating_reply_notify(*, rating: PolicyRating) -> str:
    """Tell the enterprise by one SMS that its rating has a reply to read on its pages: a registered notice
    template, through the gateway sign-in codes use. Returns the masked number it went to; ValidationError
    when it cannot be sent. Never logs the full number."""
    if rating.status != PolicyRating.Status.REPLIED or not rating.reply:
        raise ValidationError("请先填写答复，再短信告知企业。")
    enterprise, policy = rating.enterprise, rating.policy
    if not enterprise.contact_mobile:
        raise ValidationError("该企业未登记手机号，未发送短信。")
    masked = mask_mobile(enterprise.contact_mobile)
    body = settings.SMS_REPLY_TEMPLATE_BODY
    values = {
        "name": enterprise.short_name or enterprise.name,
        "policy": policy.short_title or Truncator(policy.title).chars(12),
    }
    sms = OutgoingSms(f"R{rating.pk}", enterprise.contact_mobile, template_params(body, values), body)
    result = get_gateway().send(
        [sms],
        signature=settings.SMS_SIGNATURE,
        template_code=settings.SMS_REPLY_TEMPLATE,
        call_id=callid.reply_call_id(rating_id=rating.pk),
    )[0]
    if result.outcome not in {Outcome.ACCEPTED, Outcome.UNKNOWN}:
        log.warning("好差评答复短信发送失败（%s，评价 #%s）：%s", masked, rating.pk, result.error)
        raise ValidationError("短信发送失败，请稍后再试。")
    log.info("好差评答复短信已发送（%s，评价 #%s）", masked, rating.pk)
    return masked


@transaction.atomic
def subscriptions_set(*, enterprise_id: int, label_ids: list[int]) -> None:
    wanted = set(PolicyLabel.objects.filter(pk__in=label_ids, is_active=True).values_list("pk", flat=True))
    LabelSubscription.objects.filter(enterprise_id=enterprise_id).exclude(label_id__in=wanted).delete()
    LabelSubscription.objects.bulk_create(
        [LabelSubscription(enterprise_id=enterprise_id, label_id=pk) for pk in wanted], ignore_conflicts=True
    )
