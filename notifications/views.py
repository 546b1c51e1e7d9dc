"""Webhooks the SMS vendors call: delivery receipts and replies. Authenticated by a secret path segment,
read and answered by the vendor's own adapter; anything else is refused with the reason, without touching
a message."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from core.client_address import client_address
from notifications import receipts
from notifications.gateways import Gateway, callback_gateway
from notifications.gateways.callbacks import CallbackRefused, loads
from notifications.tasks import record_receipts

log = logging.getLogger("notifications.sms")


def _received(request, vendor: str, secret: str, read: str):
    """The vendor's adapter and the callback it read (``read``: its parse_receipts or parse_replies), or
    the refusal to answer with: unknown vendor (404), wrong secret (403), unreadable body (400)."""
    gateway: type[Gateway] | None = callback_gateway(vendor)
    if gateway is None:
        raise Http404
    expected = settings.SMS_WEBHOOK_SECRET.encode()
    if not expected or not hmac.compare_digest(secret.encode(), expected):
        log.warning("拒绝了一个密钥错误的短信回调（%s，来自 %s）", vendor, client_address(request))
        return gateway, None, JsonResponse(gateway.callback_answer("回调密钥错误。"), status=403)
    try:
        return gateway, getattr(gateway, read)(loads(request.body)), None
    except CallbackRefused as refused:
        return gateway, None, JsonResponse(gateway.callback_answer(str(refused)), status=400)


@csrf_exempt
@require_POST
def receipt_webhook(request, vendor: str, secret: str):
    gateway, parsed, refusal = _received(request, vendor, secret, "parse_receipts")
    if refusal:
        return refusal
    try:
        record_receipts.delay(receipts.receipts_as_json(parsed))
    except OperationalError:  # the queue is down: record them here rather than lose them
        receipts.receipts_record(receipts=parsed)
    return JsonResponse(gateway.callback_answer())


@csrf_exempt
@require_POST
def reply_webhook(request, vendor: str, secret: str):
    gateway, parsed, refusal = _received(request, vendor, secret, "parse_replies")
    if refusal:
        return refusal
    receipts.replies_record(vendor=vendor, replies=parsed)
    return JsonResponse(gateway.callback_answer())
