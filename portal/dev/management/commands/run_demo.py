import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal.dev.processes import CeleryWorker, FakePlatform, WebServer
from portal.dev.supervisor import DemoAlreadyRunning, DemoStopped, DemoSupervisor


class Command(BaseCommand):
    help = (
        "启动模拟短信平台、Celery worker（含 beat 定时任务）与 Web 服务，发起演示推送并打印访问地址。"
        "Ctrl+C、关闭终端或 SIGTERM 都会停止全部子进程；同一目录同时只能运行一个演示。"
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--run-dir", type=Path, help="演示的锁、日志、短信发件箱与 beat 计划所在目录（默认 var/）")

    def say(self, text: str) -> None:
        """Write a line, or nothing when the terminal is gone (SIGHUP after closing it)."""
        try:
            self.stdout.write(text)
            self.stdout.flush()
        except (OSError, ValueError):
            pass

    def handle(self, *args, addrport: str, run_dir: Path | None, **options):
        try:
            with DemoSupervisor(run_dir or settings.VAR_DIR, say=self.say) as demo:
                self.start_children(demo, addrport)
                demo.wait()
        except DemoAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        except DemoStopped as stop:
            if stop.failed:
                raise CommandError(f"{stop.reason}，演示环境已全部停止。") from None
            self.say(f"{stop.reason}，演示环境已全部停止。")

    def start_children(self, demo: DemoSupervisor, addrport: str) -> None:
        base = f"http://{addrport}"
        var = demo.run_dir
        outbox = var / "sms-outbox.jsonl"
        # The demo sends through the fake platform as if it were Aliyun (signed requests, receipts posted back
        # to this server), and at any hour so a push can be watched now; production keeps quiet hours.
        platform = FakePlatform({**os.environ}, outbox=outbox, receipts_to=base, log=var / "fake-sms.log")
        demo.start("模拟短信平台", platform, var / "fake-sms.port")
        # Links in the SMS point at this server unless a registered domain is configured.
        sms_env = {**platform.backend_env(), "SMS_QUIET_HOURS": "off",
                   "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", base)}  # fmt: skip
        os.environ.update(sms_env)  # the worker and the web server (login codes) send through the same platform
        settings.PORTAL_BASE_URL = sms_env["PORTAL_BASE_URL"]
        settings.SMS_QUIET_HOURS = ()  # the launch below plans now, whatever the hour
        worker = CeleryWorker({**os.environ}, beat_file=var / "celerybeat-schedule", log=var / "celery.log")
        demo.start("Celery worker", worker)
        call_command("demo_push", stdout=self.stdout)
        web = WebServer({**os.environ}, addrport)
        demo.start("Web 服务", web)
        self.say(
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
                    "  按 Ctrl+C 停止（关闭终端或 SIGTERM 也会停止全部子进程）。",
                    "",
                ]
            )
        )
