import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from notifications.gateways import get_gateway
from portal.dev.processes import CeleryWorker, FakePlatform


class Command(BaseCommand):
    help = (
        "启动模拟短信平台、Celery worker（含 beat 定时任务）与 Web 服务，发起演示推送并打印访问地址。Ctrl+C 全部停止。"
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        base = f"http://{addrport}"
        var = settings.VAR_DIR
        outbox = var / "sms-outbox.jsonl"
        # The demo sends through the fake platform as if it were Aliyun (signed requests, receipts posted back
        # to this server), and at any hour so a push can be watched now; production keeps quiet hours.
        platform = FakePlatform({**os.environ}, outbox=outbox, receipts_to=base, log=var / "fake-sms.log")
        platform.start(var / "fake-sms.port")
        # Links in the SMS point at this server unless a registered domain is configured.
        sms_env = {**platform.backend_env(), "SMS_QUIET_HOURS": "off",
                   "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", base)}  # fmt: skip
        settings.PORTAL_BASE_URL = sms_env["PORTAL_BASE_URL"]
        os.environ.update(sms_env)  # this process (web: login codes) sends through the same platform
        for name, value in platform.backend_env().items():
            setattr(settings, name, value)
        settings.SMS_QUIET_HOURS = ()
        get_gateway.cache_clear()
        worker = CeleryWorker({**os.environ}, beat_file=var / "celerybeat-schedule", log=var / "celery.log").start()
        try:
            call_command("demo_push", stdout=self.stdout)
            self.stdout.write(
                "\n".join(
                    [
                        "",
                        "惠企直达 演示环境已启动：",
                        f"  企业门户      {base}/",
                        f"  管理后台      {base}/admin/",
                        f"  接口文档      {base}/api/docs/",
                        f"  模拟短信平台  {platform.url}/_fake/stats（收到的短信见 {platform.url}/_fake/messages）",
                        f"  短信发件箱    {outbox}",
                        f"  Celery 日志   {var / 'celery.log'}",
                        "  按 Ctrl+C 停止。",
                        "",
                    ]
                )
            )
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.stop()
            platform.stop()
