"""Tencent Cloud SMS (``SendSms`` 2021-01-11) with TC3-HMAC-SHA256 request signing.

One request carries up to 200 numbers but a single ``TemplateParamSet``, so messages are grouped by
identical parameters; per-firm links make every group one number. ``SessionContext`` carries the
call id, which receipts (``ext``) and ``PullSmsSendStatusByPhoneNumber`` echo back. Receipts are
posted to us as a JSON array, a reply as one JSON object; the answer is ``{"result": 0, "errmsg": "OK"}``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from notifications.gateways import Gateway, Outcome, OutgoingSms, SendResult, StuckSms, callbacks, callid, results_for
from notifications.gateways.callbacks import CallbackRefused, Receipt, Reply
from notifications.gateways.http import CallFailed, post

API_VERSION = "2021-01-11"
SERVICE = "sms"
CONTENT_TYPE = "application/json; charset=utf-8"
TEMPORARY_PREFIXES = (
    "InternalError",
    "RequestLimitExceeded",
    "ResourceUnavailable",
    "LimitExceeded.AppCountryOrRegionDailyLimit",
)
RECEIPT_WAIT = datetime.timedelta(minutes=30)  # a number with no status report after this was not sent


def tc3_authorization(
    *, secret_id: str, secret_key: str, host: str, payload: str, timestamp: int, service: str = SERVICE
) -> str:
    """The ``Authorization`` header: canonical request → string to sign → date/service-scoped key."""
    date = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}",
            f"host:{host}",
            "",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing_key = sign(sign(sign(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def _e164(mobile: str) -> str:
    return mobile if mobile.startswith("+") else f"+86{mobile}"


class TencentGateway(Gateway):
    name = "tencent"
    batch_size = 200

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        secret_id: str | None = None,
        secret_key: str | None = None,
        app_id: str | None = None,
    ):
        self.endpoint = endpoint or settings.SMS_TENCENT_ENDPOINT
        self.secret_id = secret_id or settings.SMS_TENCENT_SECRET_ID
        self.secret_key = secret_key or settings.SMS_TENCENT_SECRET_KEY
        self.app_id = app_id or settings.SMS_TENCENT_APP_ID
        if not (self.secret_id and self.secret_key and self.app_id):
            raise ImproperlyConfigured(
                "SMS_BACKEND=tencent 需要设置 SMS_TENCENT_SECRET_ID、SMS_TENCENT_SECRET_KEY 与 SMS_TENCENT_APP_ID。"
            )
        self.host = urlsplit(self.endpoint).netloc

    def _call(self, action: str, body: dict) -> dict:
        payload = json.dumps(body, ensure_ascii=False)
        timestamp = int(time.time())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                host=self.host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": action,
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": settings.SMS_TENCENT_REGION,
        }
        return post(self.name, self.endpoint, data=payload.encode(), headers=headers).get("Response", {})

    def send(self, messages: list[OutgoingSms], *, signature, template_code, call_id) -> list[SendResult]:
        groups: dict[tuple, list[OutgoingSms]] = {}
        for sms in messages:
            groups.setdefault(tuple(sorted(sms.params.items())), []).append(sms)
        results = []
        for i, group in enumerate(groups.values()):
            results += self._send_group(
                group, signature, template_code, callid.part(call_id, i) if len(groups) > 1 else call_id
            )
        return results

    def _send_group(self, group: list[OutgoingSms], signature, template_code, call_id) -> list[SendResult]:
        params = group[0].params
        body = {
            "PhoneNumberSet": [_e164(m.mobile) for m in group],
            "SmsSdkAppId": self.app_id,
            "SignName": signature,
            "TemplateId": template_code,
            "TemplateParamSet": [str(params[name]) for name in params],
            "SessionContext": call_id,
        }
        try:
            answer = self._call("SendSms", body)
        except CallFailed as failed:
            return results_for(group, failed.outcome, error=failed.reason)
        if "Error" in answer:
            code, message = answer["Error"].get("Code", ""), answer["Error"].get("Message", "")
            outcome = Outcome.TEMPORARY if code.startswith(TEMPORARY_PREFIXES) else Outcome.PERMANENT
            return results_for(group, outcome, error=f"{code}：{message}")
        by_phone = {s.get("PhoneNumber"): s for s in answer.get("SendStatusSet", [])}
        results = []
        for sms in group:
            status = by_phone.get(_e164(sms.mobile))
            if status is None:
                results.append(SendResult(sms.out_id, Outcome.UNKNOWN, error="短信平台未返回该号码的发送状态"))
            elif status.get("Code") == "Ok":
                results.append(SendResult(sms.out_id, Outcome.ACCEPTED, gateway_id=status.get("SerialNo", "")))
            else:
                code = status.get("Code", "")
                outcome = Outcome.TEMPORARY if code.startswith(TEMPORARY_PREFIXES) else Outcome.PERMANENT
                results.append(SendResult(sms.out_id, outcome, error=f"{code}：{status.get('Message', '')}"[:200]))
        return results

    def accepted(self, stuck: list[StuckSms]) -> dict[str, bool]:
        """Status reports by number since the call; no report long after the call means it was not sent."""
        found, now = {}, timezone.now()
        for sms in stuck:
            try:
                answer = self._call(
                    "PullSmsSendStatusByPhoneNumber",
                    {
                        "BeginTime": int(sms.sent_at.timestamp()) - 60,
                        "EndTime": int(now.timestamp()),
                        "Offset": 0,
                        "Limit": 100,
                        "PhoneNumber": _e164(sms.mobile),
                        "SmsSdkAppId": self.app_id,
                    },
                )
            except CallFailed:
                continue
            if "Error" in answer:
                continue
            reports = answer.get("PullSmsSendStatusSet", [])
            if any(callid.whole(r.get("SessionContext", "")) == sms.call_id for r in reports):
                found[sms.out_id] = True
            elif now - sms.sent_at > RECEIPT_WAIT:
                found[sms.out_id] = False
        return found

    takes_callbacks = True

    @classmethod
    def parse_receipts(cls, payload) -> list[Receipt]:
        """Status callback: [{mobile, report_status (SUCCESS/FAIL), errmsg, sid, ext, user_receive_time, …}]."""
        return callbacks.read_each(payload, _receipt, what="回执")

    @classmethod
    def parse_replies(cls, payload) -> list[Reply]:
        """Reply callback: one {mobile, text, …} a call."""
        if not isinstance(payload, dict):
            raise CallbackRefused("上行短信应为 JSON 对象。")
        return callbacks.read_each([payload], _reply, what="上行短信")

    @classmethod
    def callback_answer(cls, refusal: str = "") -> dict:
        return {"result": 1, "errmsg": refusal} if refusal else {"result": 0, "errmsg": "OK"}


def _receipt(item: dict) -> Receipt:
    ok = callbacks.field(item, "report_status") == "SUCCESS"
    return Receipt(
        callid.whole(callbacks.text(item, "ext", default="")),
        callbacks.mobile(callbacks.field(item, "mobile")),
        ok,
        "" if ok else callbacks.text(item, "errmsg", default="")[:200],
        callbacks.text(item, "sid", default="")[: callbacks.GATEWAY_ID_LENGTH],
        callbacks.local_time(callbacks.field(item, "user_receive_time", default=None) or 0),
    )


def _reply(item: dict) -> Reply:
    return Reply(callbacks.mobile(callbacks.field(item, "mobile")), callbacks.text(item, "text"))
