"""The demo's process supervisor: one demo per run directory, and every child stopped however the demo ends.

``make demo`` runs the fake SMS platform, a Celery worker (with beat) and the web server as child processes.
Each child runs in its own session, so stopping its process group stops what it started too (the worker's
pool and beat). The supervisor turns SIGINT (Ctrl+C), SIGTERM and SIGHUP (a closed terminal, ``docker stop``,
a service manager) into the same orderly stop, stops the demo when a child dies, and stops the children on
any exception. A lock in the run directory makes a second demo refuse to start while one runs; the children
of a demo that was killed outright (SIGKILL, where nothing can run) are listed there, and the next demo stops
them before it starts its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import psutil

from portal.dev.processes import stop_group

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_TIMEOUT = 10.0  # seconds a child gets to finish (a worker's running task) before SIGKILL


class Child(Protocol):
    proc: subprocess.Popen | None


class DemoStopped(BaseException):
    """Ends the demo from wherever the main thread is: a stop signal arrived, or a child died (``failed``).
    A BaseException, so no ``except Exception`` on the way swallows it."""

    def __init__(self, reason: str, *, failed: bool = False):
        super().__init__(reason)
        self.reason, self.failed = reason, failed


class DemoAlreadyRunning(Exception):
    pass


class DemoSupervisor:
    """``with DemoSupervisor(run_dir) as demo:`` start children with ``demo.start(name, child, …)``, then
    ``demo.wait()``; leaving the block, by any way, stops every child."""

    def __init__(self, run_dir: Path, *, say: Callable[[str], None] = print, stop_timeout: float = STOP_TIMEOUT):
        self.run_dir = run_dir
        self.lock_path = run_dir / "demo.lock"
        self.state_path = run_dir / "demo-children.json"
        self.say, self.stop_timeout = say, stop_timeout
        self.children: list[tuple[str, Child]] = []
        self._lock_file = None
        self._previous: dict[int, object] = {}
        self._stopping = False

    # --- entering and leaving ---------------------------------------------------------------------------------

    def __enter__(self) -> DemoSupervisor:
        self._claim()
        try:
            self._stop_stale()
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _claim(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise DemoAlreadyRunning(
                f"已有演示环境在运行（进程 {pid}，目录 {self.run_dir}）：请先在它的终端按 Ctrl+C，或执行 kill {pid}。"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle  # held until this process ends; the kernel releases it even after SIGKILL

    def _release(self) -> None:
        if self._lock_file:
            self._lock_file.close()
            self._lock_file = None

    def _on_signal(self, signum, frame) -> None:
        if self._stopping:
            return  # one stop at a time: a second Ctrl+C must not interrupt the first one's clean-up
        self._stopping = True
        raise DemoStopped(f"收到 {signal.Signals(signum).name}")

    # --- children -------------------------------------------------------------------------------------------

    def start(self, name: str, child: Child, *args, **kwargs):
        """Start ``child`` (``child.start(*args, **kwargs)``) as one of the demo's children, listed in the run
        directory so a later demo can stop it should this one be killed outright."""
        self.children.append((name, child))
        result = child.start(*args, **kwargs)
        self._record()
        return result

    def _record(self) -> None:
        entries = []
        for name, child in self.children:
            if child.proc is None:
                continue
            try:
                started = psutil.Process(child.proc.pid).create_time()
            except psutil.NoSuchProcess:
                continue
            entries.append({"name": name, "pid": child.proc.pid, "started": started})
        scratch = self.state_path.with_suffix(".tmp")
        scratch.write_text(json.dumps(entries, ensure_ascii=False))
        scratch.replace(self.state_path)

    def _stop_stale(self) -> None:
        """Stop the children a killed demo left behind: same pid and same start time, so never a stranger
        that has since been given the pid."""
        try:
            entries = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            entries = []
        for entry in entries:
            try:
                process = psutil.Process(entry["pid"])
                if abs(process.create_time() - entry["started"]) > 1:
                    continue
            except (psutil.NoSuchProcess, KeyError, TypeError):
                continue
            self.say(f"停止上次演示遗留的{entry['name']}（进程 {entry['pid']}）…")
            _stop_foreign_group(process, timeout=self.stop_timeout)
        self.state_path.unlink(missing_ok=True)

    def wait(self) -> None:
        """Block until a stop signal arrives or a child dies; either raises DemoStopped."""
        while True:
            for name, child in self.children:
                code = child.proc.poll() if child.proc else None
                if code is not None and not self._stopping:
                    self._stopping = True
                    how = f"被 {signal.Signals(-code).name} 终止" if code < 0 else f"退出码 {code}"
                    raise DemoStopped(f"{name}意外退出（{how}）", failed=True)
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop every child, last started first, with signals ignored meanwhile so nothing interrupts it."""
        self._stopping = True
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        try:
            for name, child in reversed(self.children):
                if child.proc is not None and child.proc.poll() is None:
                    self.say(f"正在停止{name}…")
                stop_group(child.proc, timeout=self.stop_timeout)
            self.state_path.unlink(missing_ok=True)
        finally:
            self._release()
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)


def _stop_foreign_group(process: psutil.Process, *, timeout: float) -> None:
    """stop_group for a process that is not our child (a killed demo's): its group, SIGTERM then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        process.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the leader if it is still there, and whatever is left in its group
    except (ProcessLookupError, PermissionError):
        pass
