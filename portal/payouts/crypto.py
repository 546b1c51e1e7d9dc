"""Receiving bank accounts, encrypted at rest (Fernet: AES-128-CBC with an HMAC, from ``cryptography``).

The key is ``settings.FIELD_ENCRYPTION_KEY`` (several, comma-separated, to rotate: the first encrypts, all
decrypt). Outside development it must be set; pages and logs show an account only masked.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

MISSING = (
    "FIELD_ENCRYPTION_KEY 未设置：生产环境须提供银行账号加密密钥（Fernet 密钥，可用 "
    "cryptography.fernet.Fernet.generate_key() 生成）。"
)


@cache
def _fernet(keys: str) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(MISSING)
    return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])


def encrypt(text: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode() if token else ""


def mask_account(account: str) -> str:
    """``**** **** 1234``: what lists, pages and logs show of an account."""
    return f"**** **** {account[-4:]}" if account else ""


@checks.register(checks.Tags.security, deploy=True)
def encryption_key_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [] if settings.FIELD_ENCRYPTION_KEY else [checks.Error(MISSING, id="payouts.E001")]
