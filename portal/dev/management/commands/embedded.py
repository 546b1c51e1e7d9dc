from django.conf import settings
from django.core.management.base import BaseCommand

from portal.dev import embedded


class Command(BaseCommand):
    help = "查看或停止内嵌的 PostgreSQL 与 Redis（仅在未设置 DATABASE_URL / REDIS_URL 时使用）。"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args, action: str, **options):
        if action == "status":
            pg = "内嵌（var/pgdata）" if settings.EMBEDDED_POSTGRES else "外部（DATABASE_URL）"
            redis = "内嵌（var/redis.sock）" if settings.EMBEDDED_REDIS else "外部（REDIS_URL）"
            self.stdout.write(f"PostgreSQL：{pg}\nRedis：{redis}")
            return
        stopped_pg = embedded.postgres_stop(settings.VAR_DIR)
        stopped_redis = embedded.redis_stop(settings.VAR_DIR)
        self.stdout.write(
            f"PostgreSQL：{'已停止' if stopped_pg else '未运行'}；Redis：{'已停止' if stopped_redis else '未运行'}"
        )
