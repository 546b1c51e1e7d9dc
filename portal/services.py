"""Writes for the enterprise portal: signing in with an SMS code, what firms say about policies, corrections.

Each is one atomic function; views stay thin and call these.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from limits import RateLimitItemPerHour, RateLimitItemPerMinute

from enterprises.models import Enterprise, PortraitTag
from enterprises.services import enterprise_tag_correct
from enterprises.validators import mask_mobile, validate_uscc
from notifications.gateways import Outcome, OutgoingSms, callid, get_gateway
from notifications.gateways.throttle import limiter
from notifications.sms import template_params
from policies.models import PolicyLabel
from portal.models import LabelSubscription, LoginCode, PolicyRating, PolicyReaction, TagCorrection

log = logging.getLogger("portal.login")
CODE_MINUTES = 5
MAX_WRONG = 5  # wrong codes before a code is void
LOCK_AFTER = 10  # wrong codes an hour before the firm is locked for the rest of that hour
SENT = "如该统一社会信用代码已在平台登记手机号，验证码已发送到登记的手机，5 分钟内有效。"


class LoginRefused(Exception):
    """Shown to the user as is: it never says whether a firm exists."""


def _code_hash(code_id: int, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _limit(item, *key: str) -> bool:
    """One more hit within the limit? Shared by every web process through Redis, one namespace per database."""
    return limiter().hit(item, "login", *key)


def login_code_send(*, uscc: str, ip: str | None) -> str:
    """Send a sign-in code to the firm's registered mobile; returns the message to show.

    Rate-limited per IP and per firm. The answer is the same whether or not the firm exists.
    """
    uscc = uscc.strip().upper()
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        raise LoginRefused(exc.messages[0]) from None
    if not _limit(RateLimitItemPerHour(20), "ip", ip or "-"):
        raise LoginRefused("请求过于频繁，请稍后再试。")
    firm = Enterprise.objects.filter(uscc=uscc).only("id", "contact_mobile").first()
    if firm is None or not firm.contact_mobile:
        return SENT
    if not _limit(RateLimitItemPerMinute(1), "firm", str(firm.pk)) or not _limit(
        RateLimitItemPerHour(5), "firm-hour", str(firm.pk)
    ):
        raise LoginRefused("验证码发送过于频繁，请 1 分钟后再试。")
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        LoginCode.objects.filter(enterprise=firm, used_at__isnull=True).update(used_at=timezone.now())  # one live
        login = LoginCode.objects.create(
            enterprise=firm, code_hash="", ip=ip, expires_at=timezone.now() + datetime.timedelta(minutes=CODE_MINUTES)
        )
        login.code_hash = _code_hash(login.pk, code)
        login.save(update_fields=["code_hash"])
    body = settings.SMS_LOGIN_TEMPLATE_BODY
    sms = OutgoingSms(f"L{login.pk}", firm.contact_mobile, template_params(body, {"code": code}), body)
    call_id = callid.login_call_id(code_id=login.pk)
    result = get_gateway().send(
        [sms], signature=settings.SMS_SIGNATURE, template_code=settings.SMS_LOGIN_TEMPLATE, call_id=call_id
    )[0]
    if result.outcome not in {Outcome.ACCEPTED, Outcome.UNKNOWN}:
        log.warning("登录验证码发送失败（%s）：%s", mask_mobile(firm.contact_mobile), result.error)
        raise LoginRefused("短信发送失败，请稍后再试。")
    return SENT


def login_code_check(*, uscc: str, code: str, ip: str | None) -> Enterprise:
    """The firm whose live code this is; refused alike for a wrong code, an unknown firm or a locked one."""
    wrong = LoginRefused("验证码错误或已过期，请重新获取。")
    uscc, code = uscc.strip().upper(), code.strip()
    if not _limit(RateLimitItemPerHour(60), "check-ip", ip or "-"):
        raise LoginRefused("尝试过于频繁，请稍后再试。")
    firm = Enterprise.objects.filter(uscc=uscc).only("id").first()
    if firm is None:
        raise wrong
    lock = RateLimitItemPerHour(LOCK_AFTER)
    wrong_key = ("login", "wrong", str(firm.pk))
    if limiter().get_window_stats(lock, *wrong_key).remaining == 0:
        raise LoginRefused("验证码错误次数过多，已暂时锁定，请 1 小时后再试。")
    with transaction.atomic():
        login = (
            LoginCode.objects.select_for_update()
            .filter(enterprise=firm, used_at__isnull=True, expires_at__gt=timezone.now(), attempts__lt=MAX_WRONG)
            .order_by("-created_at")
            .first()
        )
        if login and hmac.compare_digest(login.code_hash, _code_hash(login.pk, code)):
            login.used_at = timezone.now()
            login.save(update_fields=["used_at"])
            return Enterprise.objects.get(pk=firm.pk)
        if login:
            login.attempts += 1
            login.save(update_fields=["attempts"])
    limiter().hit(lock, *wrong_key)
    raise wrong


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
