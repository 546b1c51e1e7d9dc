"""Webhooks the SMS vendors call: delivery receipts and replies. Authenticated by a secret path segment,
answered in the format each vendor expects; anything else is refused without touching a message."""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from notifications import receipts
from notifications.tasks import record_receipts

log = logging.getLogger("notifications.sms")
ANSWERS = {
    "aliyun": ({"code": 0, "msg": "接收成功"}, lambda msg: {"code": 1, "msg": msg}),
    "tencent": ({"result": 0, "errmsg": "OK"}, lambda msg: {"result": 1, "errmsg": msg}),
}


def _received(request, vendor: str, secret: str, parse):
    """The parsed callback, or the refusal to answer with: unknown vendor, wrong secret, bad body."""
    if vendor not in ANSWERS:
        raise Http404
    refuse = ANSWERS[vendor][1]
    if not hmac.compare_digest(secret.encode(), settings.SMS_WEBHOOK_SECRET.encode()):
        log.warning("拒绝了一个密钥错误的短信回调（%s，来自 %s）", vendor, request.META.get("REMOTE_ADDR"))
        return None, JsonResponse(refuse("unauthorized"), status=403)
    try:
        return parse(vendor, json.loads(request.body)), None
    except (ValueError, KeyError, TypeError):
        return None, JsonResponse(refuse("invalid callback"), status=400)


@csrf_exempt
@require_POST
def receipt_webhook(request, vendor: str, secret: str):
    parsed, refusal = _received(request, vendor, secret, receipts.parse_receipts)
    if refusal:
        return refusal
    try:
        record_receipts.delay(receipts.receipts_as_json(parsed))
    except OperationalError:  # the queue is down: record them here rather than lose them
        receipts.receipts_record(receipts=parsed)
    return JsonResponse(ANSWERS[vendor][0])


@csrf_exempt
@require_POST
def reply_webhook(request, vendor: str, secret: str):
    parsed, refusal = _received(request, vendor, secret, receipts.parse_replies)
    if refusal:
        return refusal
    receipts.replies_record(vendor=vendor, replies=parsed)
    return JsonResponse(ANSWERS[vendor][0])
