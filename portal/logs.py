"""Secrets never reach a log line: the webhook secret sits in the callback URLs the vendors call, so access
logs and Django's request errors would otherwise print it."""

from __future__ import annotations

import logging

REDACTED = "***"


def redact(text: str) -> str:
    from django.conf import settings

    secret = getattr(settings, "SMS_WEBHOOK_SECRET", "")
    return text.replace(secret, REDACTED) if secret and secret in text else text


class RedactSecrets(logging.Filter):
    """A logging filter that rewrites the formatted message with the secrets taken out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
