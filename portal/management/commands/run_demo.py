import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "启动 Celery worker（含 beat 定时任务）与 Web 服务，并打印访问地址。Ctrl+C 同时停止两者。"

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        log = settings.VAR_DIR / "celery.log"
        # The demo sends to a file outbox, and at any hour so a push can be watched now; production keeps
        # quiet hours (SMS_QUIET_HOURS, default 21:00–08:00) and a real SMS_BACKEND.
        env = {**os.environ, "SMS_QUIET_HOURS": "off", "SMS_BACKEND": os.environ.get("SMS_BACKEND", "file")}
        settings.SMS_QUIET_HOURS = ()
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--beat", "--concurrency", "2",
             "-Q", ",".join(q.name for q in settings.CELERY_TASK_QUEUES), "--loglevel", "INFO", "--logfile", str(log),
             "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
            env=env,
        )  # fmt: skip
        call_command("demo_push", stdout=self.stdout)
        base = f"http://{addrport}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "惠企直达 演示环境已启动：",
                    f"  企业门户      {base}/",
                    f"  管理后台      {base}/admin/",
                    f"  接口文档      {base}/api/docs/",
                    f"  Celery 日志   {log}",
                    f"  短信发件箱    {settings.VAR_DIR / 'sms-outbox.jsonl'}（演示用文件通道）",
                    "  按 Ctrl+C 停止。",
                    "",
                ]
            )
        )
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
