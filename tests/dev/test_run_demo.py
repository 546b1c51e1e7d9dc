"""``make demo``'s last step, ``run_demo``, on a tiny city: however the demo ends, none of its processes (fake SMS
platform, Celery worker with its pool and beat, web server) outlives it, and two demos never run at once."""

import io
import signal
import subprocess
import sys

import psutil
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from portal.dev.processes import BASE_DIR, PrivateRedis, child_env, free_port, wait_until

pytestmark = pytest.mark.slow


def alive(processes: list[psutil.Process]) -> list[str]:
    """The processes still running code (a zombie waiting for its parent to reap it runs nothing)."""
    running = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return running


def gone(processes: list[psutil.Process]) -> bool:
    return not alive(processes)


class Demo:
    """``manage.py run_demo`` in its own session, as ``make demo`` runs it, with its output in a file."""

    def __init__(self, env: dict, run_dir, log):
        self.env, self.run_dir, self.log = env, run_dir, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Demo":
        args = [sys.executable, "manage.py", "run_demo", f"127.0.0.1:{free_port()}", "--run-dir", str(self.run_dir)]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                args, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._ready, 180, "演示环境启动")
        # Web server, fake platform, worker, its two pool processes and beat (the worker starts in the background).
        wait_until(lambda: len(self.children()) >= 6, 60, "Celery worker 启动进程池与 beat")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"run_demo 提前退出（{self.proc.returncode}）：\n{self.output()}")
        return "演示环境已启动" in self.output()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def children(self) -> list[psutil.Process]:
        """Everything the demo started, down to the worker's pool processes and beat."""
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop_with(self, signum: int, timeout: float = 90) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def demo_city(committed_db):
    """A city of 60 firms and 30 policies, and the superuser whose name the demo push goes out under."""
    call_command("seed_demo", enterprises=60, policies=30, seed=3, stdout=io.StringIO())
    User.objects.create_superuser("admin", password="demo-test-password")


@pytest.fixture
def demos(demo_city, tmp_path):
    """``demos()`` starts a demo on its own Redis (so no other worker takes its tasks) and the test database,
    all sharing one run directory, as repeated ``make demo`` runs do. Whatever a failing test leaves is killed."""
    redis = PrivateRedis().start()
    env = child_env(REDIS_URL=redis.url)
    started: list[Demo] = []
    seen: list[psutil.Process] = []

    def start() -> Demo:
        demo = Demo(env, tmp_path / "run", tmp_path / f"demo-{len(started)}.log").start()
        started.append(demo)
        seen.extend(demo.children())
        return demo

    yield start
    for demo in started:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait()
    for process in seen:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    redis.stop()


def assert_runs_the_whole_demo(children: list[psutil.Process]) -> None:
    commands = [" ".join(p.cmdline()) for p in children]
    for part in ("run_fake_sms_gateway", "celery", "runserver"):
        assert any(part in command for command in commands), (part, commands)
    assert len(children) >= 6  # the worker's pool processes and beat too


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_demo_stopped_by_a_signal_leaves_no_process_running(demos, signum):
    demo = demos()
    children = demo.children()
    assert_runs_the_whole_demo(children)

    assert demo.stop_with(signum) == 0
    assert alive(children) == []
    assert f"收到 {signal.Signals(signum).name}，演示环境已全部停止。" in demo.output()


def test_a_second_demo_refuses_while_one_runs_and_stops_what_a_killed_one_left(demos, tmp_path):
    first = demos()
    first_children = first.children()

    # Another `make demo` meanwhile: refused with the reason, and the first one's processes untouched.
    second = subprocess.run(
        [sys.executable, "manage.py", "run_demo", f"127.0.0.1:{free_port()}", "--run-dir", str(first.run_dir)],
        cwd=BASE_DIR, env=first.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert second.returncode != 0
    assert f"已有演示环境在运行（进程 {first.proc.pid}" in second.stderr
    assert len(alive(first_children)) == len(first_children)

    # Killed outright, the first demo cannot stop anything: its worker and platform are still there...
    first.proc.kill()
    first.proc.wait()
    assert alive(first_children) != []
    # ...and the next demo stops them before it starts its own, so two workers never run.
    third = demos()
    assert "停止上次演示遗留的" in third.output()
    wait_until(lambda: gone(first_children), 30, "上次演示遗留的进程退出")
    third_children = third.children()
    assert_runs_the_whole_demo(third_children)
    assert third.stop_with(signal.SIGTERM) == 0
    assert alive(third_children) == []


def test_a_child_that_dies_stops_the_whole_demo(demos):
    demo = demos()
    children = demo.children()
    worker = next(p for p in children if p.ppid() == demo.proc.pid and "celery" in " ".join(p.cmdline()))

    psutil.Process(worker.pid).kill()
    assert demo.proc.wait(timeout=90) == 1
    assert alive(children) == []
    assert "Celery worker意外退出" in demo.output()
