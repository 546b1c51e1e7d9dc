"""A fake SMS platform speaking the Aliyun (RPC, ``SendBatchSms``) and Tencent Cloud (TC3, ``SendSms``)
APIs, for the demo, the tests and the benchmark.

It checks every request's signature as the vendors do, renders the message from the registered
template (the portal's SmsTemplate rows), records each accepted message, answers the vendors' send
detail queries, posts delivery receipts back in each vendor's format, and injects latency, 5xx errors
and timeouts on request. ``GET /_fake/stats`` and ``GET /_fake/messages`` show what it received;
``POST /_fake/faults`` changes the faults while it runs.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import requests

from enterprises.validators import MOBILE_RE
from notifications.gateways.aliyun import pairs_signature, rpc_signature
from notifications.gateways.tencent import tc3_authorization
from notifications.sms import render, template_variables

log = logging.getLogger("notifications.fakegateway")


@dataclass
class Faults:
    error_rate: float = 0.0  # share of calls answered with HTTP 503 (nothing recorded), at random
    error_every: int = 0  # or exactly every n-th send call answered with HTTP 503
    timeout_rate: float = 0.0  # share of calls accepted, then answered too late for the client
    timeout_seconds: float = 15.0
    latency_ms: float = 0.0
    duplicate_receipts: bool = False  # post every receipt twice, as vendors sometimes do


@dataclass
class Credentials:
    aliyun_key_id: str
    aliyun_secret: str
    tencent_secret_id: str
    tencent_secret_key: str


class CallTexts:
    """The texts of one call's messages, rendered only when someone reads them (most never are: a push
    of a million messages is counted, not read, and decoding every call would dominate the platform)."""

    def __init__(self, render_all):
        self._render_all = render_all
        self._texts: list[str] | None = None
        self._lock = threading.Lock()

    def __getitem__(self, index: int) -> str:
        with self._lock:
            if self._texts is None:
                self._texts = self._render_all()
            return self._texts[index]


@dataclass(slots=True)
class Accepted:
    vendor: str
    mobile: str
    call_id: str
    gateway_id: str
    template: str
    at: float
    texts: CallTexts
    index: int

    @property
    def text(self) -> str:
        return self.texts[self.index]

    def as_dict(self) -> dict:
        return {"vendor": self.vendor, "mobile": self.mobile, "call_id": self.call_id, "gateway_id": self.gateway_id,
                "template": self.template, "at": self.at, "text": self.text}  # fmt: skip


@dataclass
class State:
    credentials: Credentials
    templates: callable  # template code -> body, or None when not registered
    receipt_urls: dict[str, str] = field(default_factory=dict)
    outbox: Path | None = None
    faults: Faults = field(default_factory=Faults)
    lock: threading.RLock = field(default_factory=threading.RLock)
    counts: Counter = field(default_factory=Counter)
    receipts: queue.Queue = field(default_factory=queue.Queue)
    # Accepted calls wait in _pending until someone reads by_mobile: a push of a million messages is
    # counted (with set operations, per call) and rarely read, and one object per message made as it
    # arrived cost the platform a fifth of its time.
    _pending: list = field(default_factory=list, init=False)
    _by_mobile: dict[str, list[Accepted]] = field(default_factory=dict, init=False)
    _seen: set[str] = field(default_factory=set, init=False)
    _twice: set[str] = field(default_factory=set, init=False)

    @property
    def by_mobile(self) -> dict[str, list[Accepted]]:
        """Every accepted message, by mobile number."""
        with self.lock:
            for make_items in self._pending:
                for item in make_items():
                    self._by_mobile.setdefault(item.mobile, []).append(item)
            self._pending.clear()
            return self._by_mobile

    def accept(self, vendor: str, mobiles: list[str], make_items) -> None:
        """One accepted call's messages: ``make_items()`` gives them as Accepted, when they are needed."""
        needed = bool(self.outbox or self.receipt_urls.get(vendor))
        items = make_items() if needed else None
        with self.lock:
            repeated = self._seen.intersection(mobiles)
            if len(set(mobiles)) < len(mobiles):  # a number twice in one call
                repeated.update(m for m, n in Counter(mobiles).items() if n > 1)
            self._seen.update(mobiles)
            self._twice.update(repeated)
            self.counts["mobiles_with_more_than_one"] = len(self._twice)  # polled during a city-wide push
            self.counts["accepted"] += len(mobiles)
            self.counts["last_accept_at"] = time.time()
            self._pending.append(make_items if items is None else lambda: items)
            if self.outbox:
                with open(self.outbox, "a", encoding="utf-8") as out:
                    for item in items:
                        out.write(json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
        if self.receipt_urls.get(vendor):
            for item in items:
                self.receipts.put(item)

    def reset(self) -> None:
        with self.lock:
            self._pending.clear()
            self._by_mobile.clear()
            self._seen.clear()
            self._twice.clear()
            self.counts.clear()

    def stats(self) -> dict:
        """Counts so far, among them how many numbers received more than one message."""
        with self.lock:
            return {
                "accepted": 0,
                "rejected_signatures": 0,
                "injected_errors": 0,
                "injected_timeouts": 0,
                "mobiles_with_more_than_one": 0,
                **self.counts,
                "mobiles": len(self._seen),
            }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' endpoints
    disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart (delayed ACK)
    state: State

    def log_message(self, fmt, *args):  # quiet: a push makes thousands of calls
        log.debug(fmt, *args)

    def _reply(self, status: int, payload) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        if url.path == "/_fake/stats":
            return self._reply(200, self.state.stats())
        if url.path == "/_fake/messages":
            with self.state.lock:
                mobiles = [query["mobile"]] if "mobile" in query else list(self.state.by_mobile)
                found = [a.as_dict() for m in mobiles for a in self.state.by_mobile.get(m, [])]
            return self._reply(200, found)
        return self._reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path.rstrip("/")
        if path == "/_fake/faults":
            for key, value in json.loads(body or b"{}").items():
                setattr(self.state.faults, key, value)
            return self._reply(200, self.state.faults.__dict__)
        if path == "/_fake/reset":
            self.state.reset()
            return self._reply(200, {"ok": True})
        faults = self.state.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if path == "/aliyun":
            return self._aliyun(dict(pair.partition("=")[::2] for pair in body.decode().split("&") if pair))
        if path == "/tencent":
            return self._tencent(body)
        return self._reply(404, {"error": "not found"})

    # --- fault injection around a send ------------------------------------------------------------------
    def _send(self, vendor: str, answer_ok, mobiles: list[str], make_items):
        faults = self.state.faults
        roll = random.random()
        with self.state.lock:
            self.state.counts["send_calls"] += 1
            nth = self.state.counts["send_calls"]
        if roll < faults.error_rate or (faults.error_every and nth % faults.error_every == 0):
            self.state.counts["injected_errors"] += 1
            return self._reply(503, {"Code": "ServiceUnavailable", "Message": "injected"})
        self.state.accept(vendor, mobiles, make_items)
        if roll < faults.error_rate + faults.timeout_rate:
            self.state.counts["injected_timeouts"] += 1
            time.sleep(faults.timeout_seconds)  # accepted, but the client gives up before the answer
        return self._reply(200, answer_ok)

    # --- Aliyun -------------------------------------------------------------------------------------------
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

    # --- Tencent ------------------------------------------------------------------------------------------
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


def _aliyun_signed(raw: dict[str, str], secret: str) -> bool:
    """Check an RPC signature as Aliyun does. Fast path: the pairs as sent are already the canonical
    encoding (as our client sends them); otherwise decode and re-encode, which any valid client passes."""
    given = unquote_plus(raw.get("Signature", ""))
    if pairs_signature(sorted((k, v) for k, v in raw.items() if k != "Signature"), secret) == given:
        return True
    decoded = {unquote_plus(k): unquote_plus(v) for k, v in raw.items()}
    return rpc_signature(decoded, secret) == given


def _post_receipts(state: State, stop: threading.Event) -> None:
    """Deliver receipts in batches, each vendor in its own format, as the platforms do."""
    session = requests.Session()
    while not stop.is_set():
        batch = []
        try:
            batch.append(state.receipts.get(timeout=0.2))
            while len(batch) < 500:
                batch.append(state.receipts.get_nowait())
        except queue.Empty:
            pass
        for vendor in ("aliyun", "tencent"):
            items = [a for a in batch if a.vendor == vendor]
            if not items:
                continue
            if vendor == "aliyun":
                payload = [
                    {
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
                    for a in items
                ]
            else:
                payload = [
                    {
                        "user_receive_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "nationcode": "86",
                        "mobile": a.mobile,
                        "report_status": "SUCCESS",
                        "errmsg": "DELIVRD",
                        "description": "用户短信送达成功",
                        "sid": a.gateway_id,
                        "ext": a.call_id,
                    }
                    for a in items
                ]
            for _ in range(2 if state.faults.duplicate_receipts else 1):
                try:
                    session.post(state.receipt_urls[vendor], json=payload, timeout=10)
                    state.counts["receipts_posted"] += len(payload)
                except requests.RequestException as exc:
                    log.warning("回执投递失败：%s", exc)


def serve(state: State, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Event]:
    """Start the server (port 0: any free port) and the receipt poster; returns the server and a stop flag."""
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    stop = threading.Event()
    threading.Thread(target=_post_receipts, args=(state, stop), daemon=True).start()
    return server, stop
