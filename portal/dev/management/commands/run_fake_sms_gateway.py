import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from notifications.models import SmsTemplate
from portal.dev.fakesms import Credentials, Faults, State, serve


def registered_templates():
    """Template code → body, from the portal's templates (the 'registered' ones), looked up once each."""
    known, lock = {}, threading.Lock()

    def lookup(code: str):
        if code == settings.SMS_LOGIN_TEMPLATE:
            return settings.SMS_LOGIN_TEMPLATE_BODY
        with lock:
            if code not in known:
                close_old_connections()
                known[code] = SmsTemplate.objects.filter(code=code).values_list("body", flat=True).first()
            return known[code]

    return lookup


class Command(BaseCommand):
    help = "启动模拟短信平台（阿里云 / 腾讯云接口，校验签名、记录短信、注入故障、回推回执），供演示、测试与基准使用。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025, help="0 表示任选空闲端口")
        parser.add_argument("--port-file", help="启动后把实际端口写入此文件")
        parser.add_argument("--receipts-to", help="门户地址，如 http://127.0.0.1:8000；给出则向其回推送达回执")
        parser.add_argument("--outbox", help="把收到的每条短信追加写入此 JSON lines 文件")
        parser.add_argument("--error-rate", type=float, default=0.0, help="以 HTTP 503 拒绝的调用比例")
        parser.add_argument("--timeout-rate", type=float, default=0.0, help="受理后迟迟不应答（客户端超时）的调用比例")
        parser.add_argument("--timeout-seconds", type=float, default=15.0)
        parser.add_argument("--latency-ms", type=float, default=0.0)
        parser.add_argument("--duplicate-receipts", action="store_true", help="每条回执投递两次")

    def handle(self, *args, **options):
        receipt_urls = {}
        if options["receipts_to"]:
            base = options["receipts_to"].rstrip("/")
            receipt_urls = {
                v: f"{base}/hooks/sms/{v}/{settings.SMS_WEBHOOK_SECRET}/receipts" for v in ("aliyun", "tencent")
            }
        state = State(
            credentials=Credentials(
                settings.SMS_ALIYUN_ACCESS_KEY_ID or "fake-aliyun-id",
                settings.SMS_ALIYUN_ACCESS_KEY_SECRET or "fake-aliyun-secret",
                settings.SMS_TENCENT_SECRET_ID or "fake-tencent-id",
                settings.SMS_TENCENT_SECRET_KEY or "fake-tencent-key",
            ),
            templates=registered_templates(),
            receipt_urls=receipt_urls,
            outbox=Path(options["outbox"]) if options["outbox"] else None,
            faults=Faults(
                error_rate=options["error_rate"],
                timeout_rate=options["timeout_rate"],
                timeout_seconds=options["timeout_seconds"],
                latency_ms=options["latency_ms"],
                duplicate_receipts=options["duplicate_receipts"],
            ),
        )
        server, stop = serve(state, options["host"], options["port"])
        port = server.server_address[1]
        if options["port_file"]:
            Path(options["port_file"]).write_text(str(port))
        self.stdout.write(
            f"模拟短信平台已启动：http://{options['host']}:{port}/aliyun 与 /tencent，统计见 /_fake/stats"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            server.server_close()
