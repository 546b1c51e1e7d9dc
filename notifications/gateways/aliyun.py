"""Aliyun SMS (Dysmsapi 2017-05-25): ``SendBatchSms`` with RPC signature version 1.0 (HMAC-SHA1).

``SendBatchSms`` takes up to 100 numbers a call, each with its own signature name and template
parameters, and one ``OutId`` for the call, which receipts and ``QuerySendDetails`` echo back.
Receipts (SmsReport) and replies (SmsUp) are pushed to us as JSON arrays; the answer is
``{"code": 0, "msg": "接收成功"}``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import uuid
from json.encoder import encode_basestring

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from notifications.gateways import Gateway, Outcome, OutgoingSms, SendResult, StuckSms, callbacks, callid, results_for
from notifications.gateways.callbacks import Receipt, Reply
from notifications.gateways.http import CallFailed, post

API_VERSION = "2017-05-25"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
# Worth another try later: the platform's own trouble and flow control of the account.
TEMPORARY_CODES = {
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError",
    "SignatureNonceUsed",
}
# Caused by one number of the batch: resend the numbers one by one to find it.
NUMBER_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DAY_LIMIT_CONTROL",
    "isv.OUT_OF_SERVICE",
}


_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
# UTF-8 bytes seen as Latin-1 characters, so str.translate (C speed) can map each byte to its %XX; a list
# indexed by byte is a third faster to look up than a dict, which counts at a million messages a push.
_ESCAPES = [chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in range(256)]


def percent_encode(value: str) -> str:
    """POP percent-encoding: RFC 3986 unreserved characters stay, everything else is %XX of UTF-8."""
    return value.encode().decode("latin-1").translate(_ESCAPES)


def encoded_pairs(params: dict[str, str], *, encoded: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The parameters as sorted, percent-encoded (key, value) pairs, the canonical order of an RPC request;
    ``encoded`` holds values already percent-encoded."""
    pairs = [(percent_encode(k), percent_encode(v)) for k, v in params.items() if k != "Signature"]
    pairs += (encoded or {}).items()
    return sorted(pairs)


def pairs_signature(pairs: list[tuple[str, str]], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of an RPC request: HMAC-SHA1 over the canonical query, encoded once more. The
    pairs are encoded already, so encoding again only turns % into %25 and the separators = and & into
    %3D and %26: done per value rather than over the whole string, a few hundred kilobytes a second."""
    canonical = "%26".join(f"{k}%3D{v.replace('%', '%25')}" for k, v in pairs)
    digest = hmac.new(f"{secret}&".encode(), f"{method}&%2F&{canonical}".encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def rpc_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of an RPC request with these (unencoded) parameters."""
    return pairs_signature(encoded_pairs(params), secret, method)


class _EncodedLiterals(dict):
    """JSON string literal, percent-encoded, per text: each distinct text escaped and encoded once."""

    def __missing__(self, text: str) -> str:
        encoded = self[text] = percent_encode(encode_basestring(text))
        return encoded


def encoded_json_objects(items: list[dict[str, str]]) -> str:
    """``percent_encode(json.dumps(items, ensure_ascii=False, separators=(",", ":")))`` for a list of flat
    objects of strings, assembled from encoded pieces: keys, a policy's title and counts repeat across a
    call's hundred messages and are escaped and encoded once."""
    literal = _EncodedLiterals()
    objects = ("%2C".join(f"{literal[k]}%3A{literal[v]}" for k, v in item.items()) for item in items)
    return "%5B%7B" + "%7D%2C%7B".join(objects) + "%7D%5D" if items else "%5B%5D"


def encoded_json_strings(texts: list[str]) -> str:
    """``percent_encode(json.dumps(texts, ensure_ascii=False, separators=(",", ":")))``, the same way: a
    call's hundred copies of the signature are encoded once."""
    literal = _EncodedLiterals()
    return "%5B" + "%2C".join(literal[text] for text in texts) + "%5D"


class AliyunGateway(Gateway):
    name = "aliyun"
    batch_size = 100

    def __init__(self, *, endpoint: str | None = None, key_id: str | None = None, secret: str | None = None):
        self.endpoint = endpoint or settings.SMS_ALIYUN_ENDPOINT
        self.key_id = key_id or settings.SMS_ALIYUN_ACCESS_KEY_ID
        self.secret = secret or settings.SMS_ALIYUN_ACCESS_KEY_SECRET
        if not (self.key_id and self.secret):
            raise ImproperlyConfigured(
                "SMS_BACKEND=aliyun 需要设置 SMS_ALIYUN_ACCESS_KEY_ID 与 SMS_ALIYUN_ACCESS_KEY_SECRET。"
            )

    def _call(self, action: str, params: dict[str, str], encoded: dict[str, str] | None = None) -> dict:
        params = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            **params,
        }
        pairs = encoded_pairs(params, encoded=encoded)
        signature = percent_encode(pairs_signature(pairs, self.secret))
        body = "&".join(f"{k}={v}" for k, v in pairs) + f"&Signature={signature}"
        return post(self.name, self.endpoint, data=body.encode(), headers=FORM)

    def send(self, messages: list[OutgoingSms], *, signature, template_code, call_id) -> list[SendResult]:
        # The batch parameters (a few hundred bytes a message) are encoded as they are built.
        encoded = {
            "PhoneNumberJson": encoded_json_strings([m.mobile for m in messages]),
            "SignNameJson": encoded_json_strings([signature] * len(messages)),
            "TemplateParamJson": encoded_json_objects([m.params for m in messages]),
        }
        try:
            answer = self._call("SendBatchSms", {"TemplateCode": template_code, "OutId": call_id}, encoded)
        except CallFailed as failed:
            return results_for(messages, failed.outcome, error=failed.reason)
        code = answer.get("Code", "")
        if code == "OK":
            return results_for(messages, Outcome.ACCEPTED, gateway_id=answer.get("BizId", ""))
        reason = f"{code}：{answer.get('Message', '')}"
        if code in TEMPORARY_CODES:
            return results_for(messages, Outcome.TEMPORARY, error=reason)
        if code in NUMBER_CODES and len(messages) > 1:
            # The call was refused as a whole, so nothing went out: resending singly cannot duplicate.
            resend = functools.partial(self.send, signature=signature, template_code=template_code)
            return [r for i, m in enumerate(messages) for r in resend([m], call_id=callid.part(call_id, i))]
        return results_for(messages, Outcome.PERMANENT, error=reason)

    def accepted(self, stuck: list[StuckSms]) -> dict[str, bool]:
        """``QuerySendDetails`` per number on the day of the call: did a record carry the call's OutId?"""
        found = {}
        for sms in stuck:
            try:
                answer = self._call(
                    "QuerySendDetails",
                    {
                        "PhoneNumber": sms.mobile,
                        "SendDate": timezone.localtime(sms.sent_at).strftime("%Y%m%d"),
                        "PageSize": "50",
                        "CurrentPage": "1",
                    },
                )
            except CallFailed:
                continue  # cannot tell now; the watchdog asks again on its next round
            if answer.get("Code") != "OK":
                continue
            records = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO", [])
            found[sms.out_id] = any(callid.whole(r.get("OutId", "")) == sms.call_id for r in records)
        return found

    takes_callbacks = True

    @classmethod
    def parse_receipts(cls, payload) -> list[Receipt]:
        """SmsReport: [{phone_number, success, err_code, err_msg, biz_id, out_id, report_time, …}]."""
        return callbacks.read_each(payload, _receipt, what="回执")

    @classmethod
    def parse_replies(cls, payload) -> list[Reply]:
        """SmsUp: [{phone_number, content, …}]."""
        return callbacks.read_each(payload, _reply, what="上行短信")

    @classmethod
    def callback_answer(cls, refusal: str = "") -> dict:
        return {"code": 1, "msg": refusal} if refusal else {"code": 0, "msg": "接收成功"}


def _receipt(item: dict) -> Receipt:
    ok = callbacks.field(item, "success") in (True, "true", "True", 1)
    error = f"{callbacks.text(item, 'err_code', default='')}：{callbacks.text(item, 'err_msg', default='')}"
    return Receipt(
        callid.whole(callbacks.text(item, "out_id", default="")),
        callbacks.mobile(callbacks.field(item, "phone_number")),
        ok,
        "" if ok else error[:200],
        callbacks.text(item, "biz_id", default="")[: callbacks.GATEWAY_ID_LENGTH],
        callbacks.local_time(callbacks.field(item, "report_time", default=None) or 0),
    )


def _reply(item: dict) -> Reply:
    return Reply(callbacks.mobile(callbacks.field(item, "phone_number")), callbacks.text(item, "content"))
