"""Bank accounts at rest: encrypted, authenticated, rotatable, and refused without a key."""

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal.payouts import crypto


def test_accounts_round_trip_and_rotate_and_tampering_fails(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    token = crypto.encrypt("6222021234567890123")
    assert "6222021234567890123" not in token and crypto.decrypt(token) == "6222021234567890123"
    assert crypto.encrypt("6222021234567890123") != token  # a fresh nonce every time
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    assert crypto.decrypt(token) == "6222021234567890123"  # old values still read after rotation
    assert crypto.encrypt("1").split("$")[0] != token.split("$")[0]  # new values use the new key
    kid, body = token.split("$")
    tampered = f"{kid}${body[:-4]}{'A' if body[-4] != 'A' else 'B'}{body[-3:]}"
    with pytest.raises(InvalidTag):
        crypto.decrypt(tampered)
    assert crypto.mask_account("6222021234567890123") == "**** **** 0123"


def test_without_a_key_encryption_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY 未设置"):
        crypto.encrypt("6222021234567890123")
