"""Signing a firm in with an SMS code: codes sent to its registered mobile, checked, rate-limited.

Every refusal is shown as is and never says whether a firm exists.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from limits import RateLimitItemPerHour, RateLimitItemPerMinute

from enterprises.models import Enterprise
from enterprises.validators import mask_mobile, validate_uscc
from notifications.gateways import Outcome, OutgoingSms, callid, get_gateway
from notifications.gateways.throttle import limiter
from notifications.sms_rules import template_params
from portal.models import LoginCode

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
    enterprise = Enterprise.objects.filter(uscc=uscc).only("id", "contact_mobile").first()
    if enterprise is None or not enterprise.contact_mobile:
        return SENT
    if not _limit(RateLimitItemPerMinute(1), "firm", str(enterprise.pk)) or not _limit(
        RateLimitItemPerHour(5), "firm-hour", str(enterprise.pk)
    ):
        raise LoginRefused("验证码发送过于频繁，请 1 分钟后再试。")
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        LoginCode.objects.filter(enterprise=enterprise, used_at__isnull=True).update(used_at=timezone.now())  # one live
        expires_at = timezone.now() + datetime.timedelta(minutes=CODE_MINUTES)
        login = LoginCode.objects.create(enterprise=enterprise, code_hash="", ip=ip, expires_at=expires_at)
        login.code_hash = _code_hash(login.pk, code)
        login.save(update_fields=["code_hash"])
    body = settings.SMS_LOGIN_TEMPLATE_BODY
    sms = OutgoingSms(f"L{login.pk}", enterprise.contact_mobile, template_params(body, {"code": code}), body)
    call_id = callid.login_call_id(code_id=login.pk)
    result = get_gateway().send(
        [sms], signature=settings.SMS_SIGNATURE, template_code=settings.SMS_LOGIN_TEMPLATE, call_id=call_id
    )[0]
    if result.outcome not in {Outcome.ACCEPTED, Outcome.UNKNOWN}:
        log.warning("登录验证码发送失败（%s）：%s", mask_mobile(enterprise.contact_mobile), result.error)
        raise LoginRefused("短信发送失败，请稍后再试。")
    return SENT


def login_code_check(*, uscc: str, code: str, ip: str | None) -> Enterprise:
    """The firm whose live code this is; refused alike for a wrong code, an unknown firm or a locked one."""
    wrong = LoginRefused("验证码错误或已过期，请重新获取。")
    uscc, code = uscc.strip().upper(), code.strip()
    if not _limit(RateLimitItemPerHour(60), "check-ip", ip or "-"):
        raise LoginRefused("尝试过于频繁，请稍后再试。")
    enterprise = Enterprise.objects.filter(uscc=uscc).only("id").first()
    if enterprise is None:
        raise wrong
    lock = RateLimitItemPerHour(LOCK_AFTER)
    wrong_key = ("login", "wrong", str(enterprise.pk))
    if limiter().get_window_stats(lock, *wrong_key).remaining == 0:
        raise LoginRefused("验证码错误次数过多，已暂时锁定，请 1 小时后再试。")
    with transaction.atomic():
        login = (
            LoginCode.objects.select_for_update()
            .filter(enterprise=enterprise, used_at__isnull=True, expires_at__gt=timezone.now(), attempts__lt=MAX_WRONG)
            .order_by("-created_at")
            .first()
        )
        if login and hmac.compare_digest(login.code_hash, _code_hash(login.pk, code)):
            login.used_at = timezone.now()
            login.save(update_fields=["used_at"])
            return Enterprise.objects.get(pk=enterprise.pk)
        if login:
            login.attempts += 1
            login.save(update_fields=["attempts"])
    limiter().hit(lock, *wrong_key)
    raise wrong
