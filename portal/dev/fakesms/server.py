"""The fake platform's HTTP server: routes, fault injection around each send, and the receipt poster."""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests

from portal.dev.fakesms import aliyun, tencent
from portal.dev.fakesms.aliyun import AliyunApi
from portal.dev.fakesms.state import State
from portal.dev.fakesms.tencent import TencentApi

log = logging.getLogger("portal.dev.fakesms")
RECEIPTS = {"aliyun": aliyun.receipt, "tencent": tencent.receipt}


class Handler(AliyunApi, TencentApi, BaseHTTPRequestHandler):
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
        for vendor, receipt in RECEIPTS.items():
            payload = [receipt(a) for a in batch if a.vendor == vendor]
            if not payload:
                continue
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
