from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.dev import embedded


class Command(BaseCommand):
    help = (
        "启动、停止或查看内嵌的 PostgreSQL 与 Redis（未设置 DATABASE_URL / REDIS_URL 时使用，数据与套接字在 var/ 下）。"
        "make demo、make test 会先执行 start。"
    )
    requires_system_checks = []  # the "embedded servers started" check is what this command fixes

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action: str, **options):
        var = settings.VAR_DIR
        pg, redis = settings.EMBEDDED_POSTGRES, settings.EMBEDDED_REDIS
        if action == "start":
            try:
                pg_started = pg and embedded.postgres_start(var, settings.DATABASE_NAME)
                redis_started = redis and embedded.redis_start(var)
            except embedded.EmbeddedError as exc:
                raise CommandError(str(exc)) from exc
            pg_state = "已启动" if pg_started else "已在运行"
            redis_state = "已启动" if redis_started else "已在运行"
        elif action == "stop":
            # Stops whatever runs under var/, even when the URLs now point elsewhere.
            pg_state = "已停止" if embedded.postgres_stop(var) else "未运行"
            redis_state = "已停止" if embedded.redis_stop(var) else "未运行"
            pg = redis = True
        else:
            pg_state = "运行中" if embedded.postgres_running(var) else "未运行"
            redis_state = "运行中" if embedded.redis_running(var) else "未运行"
        pg_line = f"内嵌，{pg_state}（{var / 'pgdata'}）" if pg else "外部（DATABASE_URL），无需内嵌服务"
        redis_line = f"内嵌，{redis_state}（{var / 'redis.sock'}）" if redis else "外部（REDIS_URL），无需内嵌服务"
        self.stdout.write(f"PostgreSQL：{pg_line}\nRedis：{redis_line}")
