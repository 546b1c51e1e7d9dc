"""Signing a firm in with an SMS code: codes sent to its registered mobile, checked, rate-limited.

Every answer is the same for a registered and an unregistered USCC: the limits count the USCC typed, not
the firm, and a code that could not be sent is logged, not announced. Wrong codes are counted per USCC
and client address, so a stranger can lock only themselves out: after a few, each further try needs the
picture's digits (``human_check``), and ten an hour lock that client out of that USCC for the hour. Codes
are limited the same way, per USCC and client (one a minute, five an hour), under a ceiling per USCC that
keeps its mobile from being flooded. A firm's own guesses are bounded besides: five wrong tries void a code.
Without Redis (where the limits live) sign-in answers "busy" rather than failing.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.errors import StorageError
from redis.exceptions import RedisError

from core.client_address import client_key
from enterprises.models import Enterprise
from enterprises.validators import mask_mobile, validate_uscc
from notifications.gateways import Outcome, OutgoingSms, callid, get_gateway
from notifications.gateways.throttle import limiter
from notifications.sms_rules import template_params
from portal.models import LoginCode

log = logging.getLogger("portal.login")
CODE_MINUTES = 5
MAX_WRONG = 5  # wrong codes before a code is void
HUMAN_CHECK_AFTER = 3  # wrong codes an hour (this USCC, this client) before every further try needs the check
LOCK_AFTER = 10  # wrong codes an hour (this USCC, this client) before that client is locked out for the hour
SENT = "如该统一社会信用代码已在平台登记手机号，验证码已发送到登记的手机，5 分钟内有效。"
BUSY = "服务繁忙，请稍后再试。"
NEEDS_CHECK = "请先正确输入图片中的数字，再提交验证码。"


class LoginRefused(Exception):
    """Shown to the user as is: it never says whether a firm exists. ``human_check``: the next try needs the
    picture's digits; ``busy``: the service cannot answer now (Redis unreachable)."""

    def __init__(self, message: str, *, human_check: bool = False, busy: bool = False):
        super().__init__(message)
        self.human_check, self.busy = human_check, busy


def _code_hash(code_id: int, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _limit(item, *key: str) -> bool:
    """One more hit within the limit? Shared by every web process through Redis, one namespace per database."""
    return limiter().hit(item, "login", *key)


def _busy_without_redis(service):
    """The limits live in Redis: while it cannot be reached, sign-in says "busy" instead of failing."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except (RedisError, StorageError):
            log.warning("登录限流存储（Redis）不可用，登录暂不可用", exc_info=True)
            raise LoginRefused(BUSY, busy=True) from None

    return wrapper


USCC_CODES_PER_HOUR = 10  # codes an hour to one firm's mobile, whoever asks


def _wrong_key(uscc: str, client: str | None) -> tuple[str, ...]:
    return ("login", "wrong", uscc[:18], client_key(client))


@_busy_without_redis
def login_code_send(*, uscc: str, ip: str | None) -> str:
    """Send a sign-in code to the firm's registered mobile; returns the message to show.

    Rate-limited per client address and per USCC (registered or not). The answer is the same whether or
    not the firm exists, has a mobile, or the code could be sent.
    """
    uscc = uscc.strip().upper()
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        raise LoginRefused(exc.messages[0]) from None
    if not _limit(RateLimitItemPerHour(20), "ip", client_key(ip)):
        raise LoginRefused("请求过于频繁，请稍后再试。")
    # Per USCC and client: a stranger asking for a firm's codes uses up only their own allowance, never the
    # firm's. Per USCC across all clients, a ceiling keeps the firm's mobile from being flooded and bounds
    # the guesses a spread-out attacker gets.
    client = client_key(ip)
    if not _limit(RateLimitItemPerMinute(1), "uscc", uscc, client):
        raise LoginRefused("验证码发送过于频繁，请 1 分钟后再试。")
    if not _limit(RateLimitItemPerHour(5), "uscc-hour", uscc, client):
        raise LoginRefused("本小时内已多次获取验证码，请 1 小时后再试。")
    if not _limit(RateLimitItemPerHour(USCC_CODES_PER_HOUR), "uscc-all", uscc):
        raise LoginRefused("该信用代码本小时内获取验证码次数已达上限，请 1 小时后再试。")
    enterprise = Enterprise.objects.filter(uscc=uscc).only("id", "contact_mobile").first()
    if enterprise is None or not enterprise.contact_mobile:
        return SENT
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
        # Not announced: "sending failed" would tell a stranger that this USCC has a mobile on file.
        log.warning("登录验证码发送失败（%s）：%s", mask_mobile(enterprise.contact_mobile), result.error)
    return SENT


@_busy_without_redis
def login_code_check(*, uscc: str, code: str, ip: str | None, human_checked: bool = False) -> Enterprise:
    """The firm whose live code this is; refused alike for a wrong code, an unknown firm or a locked one.

    ``human_checked``: the visitor answered the picture's digits rightly with this try; needed once this
    client has given HUMAN_CHECK_AFTER wrong codes for this USCC within the hour.
    """
    uscc, code = uscc.strip().upper()[:18], code.strip()
    if not _limit(RateLimitItemPerHour(60), "check-ip", client_key(ip)):
        raise LoginRefused("尝试过于频繁，请稍后再试。")
    lock = RateLimitItemPerHour(LOCK_AFTER)
    wrong_key = _wrong_key(uscc, ip)
    wrong_so_far = LOCK_AFTER - limiter().get_window_stats(lock, *wrong_key).remaining
    if wrong_so_far >= LOCK_AFTER:
        raise LoginRefused("验证码错误次数过多，已暂时锁定，请 1 小时后再试。")
    if wrong_so_far >= HUMAN_CHECK_AFTER and not human_checked:
        raise LoginRefused(NEEDS_CHECK, human_check=True)
    enterprise = Enterprise.objects.filter(uscc=uscc).only("id").first()
    if enterprise is not None:
        with transaction.atomic():
            login = (
                LoginCode.objects.select_for_update()
                .filter(
                    enterprise=enterprise, used_at__isnull=True, expires_at__gt=timezone.now(), attempts__lt=MAX_WRONG
                )
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
    raise LoginRefused("验证码错误或已过期，请重新获取。", human_check=wrong_so_far + 1 >= HUMAN_CHECK_AFTER)


def login_human_check_needed(*, uscc: str, ip: str | None) -> bool:
    """Whether this client's next try for this USCC needs the picture's digits (False without Redis)."""
    try:
        stats = limiter().get_window_stats(RateLimitItemPerHour(LOCK_AFTER), *_wrong_key(uscc.strip().upper(), ip))
    except (RedisError, StorageError):
        return False
    return LOCK_AFTER - stats.remaining >= HUMAN_CHECK_AFTER
