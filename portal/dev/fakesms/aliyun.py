"""The fake platform's Aliyun side: RPC requests (``SendBatchSms``, ``SendSms``, ``QuerySendDetails``)
signed with HMAC-SHA1, and receipts in Aliyun's push format."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote_plus

from enterprises.validators import MOBILE_RE
from notifications.gateways.aliyun import pairs_signature, rpc_signature
from notifications.sms_rules import render
from portal.dev.fakesms.state import Accepted, CallTexts


class AliyunApi:
    """Request handling for ``POST /aliyun``, mixed into the server's handler (``state``, ``_reply``, ``_send``)."""

    def _refuse(self, code: str, message: str, request_id: str):
        """Aliyun answers a refused send with HTTP 200 and its reason code."""
        return self._reply(200, {"Code": code, "Message": message, "RequestId": request_id})

    def _aliyun(self, raw: dict[str, str]):
        """``raw``: the form pairs as they arrived, still percent-encoded; values are decoded as needed."""
        creds = self.state.credentials

        def param(name: str, default: str = "") -> str:
            return unquote_plus(raw.get(name, default))

        if param("AccessKeyId") != creds.aliyun_key_id:
            return self._reply(
                404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."}
            )
        if not _aliyun_signed(raw, creds.aliyun_secret):
            self.state.counts["rejected_signatures"] += 1
            return self._reply(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."})
        request_id = str(uuid.uuid4())
        action = param("Action")
        if action == "QuerySendDetails":
            with self.state.lock:
                found = list(self.state.by_mobile.get(param("PhoneNumber"), []))
            records = [
                {
                    "PhoneNum": a.mobile,
                    "SendStatus": 3,
                    "OutId": a.call_id,
                    "Content": a.text,
                    "ErrCode": "DELIVERED",
                    "TemplateCode": a.template,
                    "SendDate": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.at)),
                }
                for a in found
                if a.vendor == "aliyun"
            ]
            return self._reply(
                200,
                {
                    "Code": "OK",
                    "Message": "OK",
                    "RequestId": request_id,
                    "TotalCount": len(records),
                    "SmsSendDetailDTOs": {"SmsSendDetailDTO": records},
                },
            )
        if action not in {"SendBatchSms", "SendSms"}:
            return self._reply(400, {"Code": "InvalidAction.NotFound", "Message": f"unknown action {action}"})
        if action == "SendBatchSms":
            mobiles = json.loads(param("PhoneNumberJson", "[]"))

            def values_and_signs():
                return json.loads(param("TemplateParamJson", "[]")), json.loads(param("SignNameJson", "[]"))

        else:
            mobiles = param("PhoneNumbers").split(",")

            def values_and_signs():
                return [json.loads(param("TemplateParam") or "{}")] * len(mobiles), [param("SignName")] * len(mobiles)

        code = param("TemplateCode")
        body = self.state.templates(code)
        if body is None:
            return self._refuse("isv.SMS_TEMPLATE_ILLEGAL", "模板不存在", request_id)
        limit = 100 if action == "SendBatchSms" else 1000
        if not mobiles or len(mobiles) > limit:
            return self._refuse("isv.MOBILE_COUNT_OVER_LIMIT", "号码数量有误", request_id)
        if any(not MOBILE_RE.match(m) for m in mobiles):
            return self._refuse("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", request_id)
        biz_id = f"{int(time.time())}^{uuid.uuid4().hex[:12]}"
        call_id, now = param("OutId"), time.time()

        def render_all():
            values, signs = values_and_signs()
            return [f"【{s}】" + render(body, v) for v, s in zip(values, signs, strict=False)]

        texts = CallTexts(render_all)

        def items():
            return [Accepted("aliyun", m, call_id, biz_id, code, now, texts, i) for i, m in enumerate(mobiles)]

        answer = {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}
        return self._send("aliyun", answer, mobiles, items)


def _aliyun_signed(raw: dict[str, str], secret: str) -> bool:
    """Check an RPC signature as Aliyun does. Fast path: the pairs as sent are already the canonical
    encoding (as our client sends them); otherwise decode and re-encode, which any valid client passes."""
    given = unquote_plus(raw.get("Signature", ""))
    if pairs_signature(sorted((k, v) for k, v in raw.items() if k != "Signature"), secret) == given:
        return True
    decoded = {unquote_plus(k): unquote_plus(v) for k, v in raw.items()}
    return rpc_signature(decoded, secret) == given


def receipt(a: Accepted) -> dict:
    """One delivery receipt as Aliyun pushes it (SmsReport)."""
    return {
        "phone_number": a.mobile,
        "send_time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.at)),
        "report_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": a.gateway_id,
        "out_id": a.call_id,
    }
