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
        try:
            pg_state, redis_state = self.act(action)
        except embedded.EmbeddedError as exc:
            raise CommandError(str(exc)) from exc
        var = settings.VAR_DIR
        pg = settings.EMBEDDED_POSTGRES or action == "stop"  # stop ends whatever runs under var/, URLs or not
        redis = settings.EMBEDDED_REDIS or action == "stop"
        pg_line = f"内嵌，{pg_state}（{var / 'pgdata'}）" if pg else "外部（DATABASE_URL），无需内嵌服务"
        redis_line = f"内嵌，{redis_state}（{var / 'redis.sock'}）" if redis else "外部（REDIS_URL），无需内嵌服务"
        self.stdout.write(f"PostgreSQL：{pg_line}\nRedis：{redis_line}")

    def act(self, action: str) -> tuple[str, str]:
        """Do ``action``; return the state word for PostgreSQL and for Redis."""
        var = settings.VAR_DIR
        if action == "start":
            pg = settings.EMBEDDED_POSTGRES and embedded.postgres_start(var, settings.DATABASE_NAME)
            redis = settings.EMBEDDED_REDIS and embedded.redis_start(var)
            done, not_done = "已启动", "已在运行"
        elif action == "stop":
            try:
                pg = embedded.postgres_stop(var)
            finally:  # Redis stops even when PostgreSQL would not
                redis = embedded.redis_stop(var)
            done, not_done = "已停止", "未运行"
        else:
            pg, redis = embedded.postgres_running(var), embedded.redis_running(var)
            done, not_done = "运行中", "未运行"
        return (done if pg else not_done), (done if redis else not_done)
