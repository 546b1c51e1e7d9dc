"""Integration tokens: creating, checking, revoking, and the scopes a token may hold.

A key looks like ``hq_<prefix>_<secret>``. The prefix finds the row; the whole key is compared by its
SHA-256 digest in constant time. Keys are random (256 bits), so a plain digest is enough — there is no
password to guess.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from core.models import IntegrationToken, IntegrationTokenUse

# What a token may be allowed to do. A view names the scope each of its actions needs (``token_scopes``);
# a view that names none refuses every token.
SCOPES = {
    "register:read": "读取企业名录",
    "register:write": "写入企业名录（批量导入、标签）",
    "register:write-contacts": "修改企业联系电话（登录验证码发往该号码，需单独授权）",
    "policies:read": "读取政策",
    "applications:write": "报送申报办理状态",
}
DEFAULT_DAYS = 180
MAX_DAYS = 366


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def integration_token_create(
    *, name: str, user, scopes: list[str], days: int = DEFAULT_DAYS, created_by=None
) -> tuple[IntegrationToken, str]:
    """A new token and its key (shown once, never stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"未知的权限范围：{'、'.join(unknown)}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"有效期应为 1–{MAX_DAYS} 天。")
    prefix = secrets.token_hex(4)
    key = f"hq_{prefix}_{secrets.token_urlsafe(32)}"
    token = IntegrationToken.objects.create(
        name=name, user=user, prefix=prefix, key_hash=_digest(key), scopes=sorted(set(scopes)),
        expires_at=timezone.now() + datetime.timedelta(days=days), created_by=created_by,
    )  # fmt: skip
    return token, key


def integration_token_revoke(*, token: IntegrationToken) -> None:
    IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


class TokenRefused(Exception):
    """The key is unknown, revoked or expired; the message says which, in Chinese."""


def integration_token_check(key: str) -> IntegrationToken:
    """The live token behind ``key``, or TokenRefused."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "hq" or len(parts[1]) != 8:
        raise TokenRefused("令牌格式不正确。")
    token = IntegrationToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.key_hash, _digest(key)):
        raise TokenRefused("令牌无效。")
    if token.revoked_at is not None:
        raise TokenRefused("令牌已吊销。")
    if token.expires_at <= timezone.now():
        raise TokenRefused("令牌已过期，请联系管理员更换。")
    if not token.user.is_active:
        raise TokenRefused("令牌的服务账号已停用。")
    return token


def integration_token_used(*, token: IntegrationToken, method: str, path: str, scope: str, ip: str | None) -> None:
    """Record one use (the audit trail) and when the token was last used."""
    now = timezone.now()
    IntegrationTokenUse.objects.create(token=token, method=method, path=path[:300], scope=scope, ip=ip)
    IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
