"""The fake platform's Tencent Cloud side: API 3.0 requests (``SendSms``, ``PullSmsSendStatusByPhoneNumber``)
signed with TC3-HMAC-SHA256, and receipts in Tencent's callback format."""

from __future__ import annotations

import json
import time
import uuid

from enterprises.validators import MOBILE_RE
from notifications.gateways.tencent import tc3_authorization
from notifications.sms_rules import render, template_variables
from portal.dev.fakesms.state import Accepted, CallTexts


class TencentApi:
    """Request handling for ``POST /tencent``, mixed into the server's handler (``state``, ``_reply``, ``_send``)."""

    def _tencent(self, raw: bytes):
        creds = self.state.credentials
        request_id = str(uuid.uuid4())

        def error(code, message):
            return self._reply(
                200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}
            )

        try:
            timestamp = int(self.headers.get("X-TC-Timestamp", "0"))
        except ValueError:
            return error("MissingParameter", "X-TC-Timestamp")
        expected = tc3_authorization(
            secret_id=creds.tencent_secret_id,
            secret_key=creds.tencent_secret_key,
            host=self.headers.get("Host", ""),
            payload=raw.decode(),
            timestamp=timestamp,
        )
        if self.headers.get("Authorization") != expected:
            self.state.counts["rejected_signatures"] += 1
            return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        body = json.loads(raw)
        action = self.headers.get("X-TC-Action")
        if action == "PullSmsSendStatusByPhoneNumber":
            mobile = body.get("PhoneNumber", "")[-11:]
            with self.state.lock:
                found = [a for a in self.state.by_mobile.get(mobile, []) if a.vendor == "tencent"]
            reports = [
                {
                    "SessionContext": a.call_id,
                    "PhoneNumber": f"+86{a.mobile}",
                    "SubscriberNumber": a.mobile,
                    "ReportStatus": "SUCCESS",
                    "Description": "DELIVRD",
                    "UserReceiveTime": int(a.at),
                    "SerialNo": a.gateway_id,
                }
                for a in found
            ]
            return self._reply(200, {"Response": {"PullSmsSendStatusSet": reports, "RequestId": request_id}})
        if action != "SendSms":
            return error("InvalidAction", f"unknown action {action}")
        template = self.state.templates(str(body.get("TemplateId", "")))
        if template is None:
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或不存在")
        numbers = body.get("PhoneNumberSet", [])
        if not numbers or len(numbers) > 200:
            return error("LimitExceeded.PhoneNumberCountLimit", "号码数量超过 200")
        values = dict(zip(template_variables(template), body.get("TemplateParamSet", []), strict=False))
        text = f"【{body.get('SignName', '')}】" + render(template, values)
        statuses, items, now = [], [], time.time()
        same_text = CallTexts(lambda: [text])  # one TemplateParamSet a request: every number gets the same text
        for number in numbers:
            mobile = number.removeprefix("+86")
            serial = uuid.uuid4().hex[:20]
            if MOBILE_RE.match(mobile):
                statuses.append(
                    {
                        "SerialNo": serial,
                        "PhoneNumber": number,
                        "Fee": 1,
                        "Code": "Ok",
                        "Message": "send success",
                        "SessionContext": body.get("SessionContext", ""),
                        "IsoCode": "CN",
                    }
                )
                context, template_id = body.get("SessionContext", ""), str(body["TemplateId"])
                items.append(Accepted("tencent", mobile, context, serial, template_id, now, same_text, 0))
            else:
                statuses.append(
                    {
                        "SerialNo": "",
                        "PhoneNumber": number,
                        "Fee": 0,
                        "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                        "Message": "手机号格式错误",
                        "SessionContext": "",
                        "IsoCode": "CN",
                    }
                )
        answer = {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}
        if not items:
            return self._reply(200, answer)
        return self._send("tencent", answer, [item.mobile for item in items], lambda: items)


def receipt(a: Accepted) -> dict:
    """One delivery receipt as Tencent calls back with it."""
    return {
        "user_receive_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "nationcode": "86",
        "mobile": a.mobile,
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": a.gateway_id,
        "ext": a.call_id,
    }
