"""A supervised local process: started in its own session, restarted when it dies.

The process backend's restart policy: when a service exits without being asked to
stop, the supervisor journals the death, waits ``restart_delay`` seconds, starts it
again (``service_restarted``) and journals ``service_healthy`` once its health probe
passes. A death the plan caused (a ``kill`` fault calls ``expect_exit`` before it
signals) is ``service_exited`` with ``planned: true``; any other (a crash, the OOM
killer, someone's ``kill -9``) is ``service_died`` with ``cause: "unplanned"``, which
the report shows.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from harness.errors import JournalWriteError
from harness.journal import Journal
from harness.procgroup import describe_exit, stop_group
from harness.timeline.records import (ServiceDied, ServiceExited, ServiceHealthy, ServiceRestarted,
                                      ServiceStarted)


class SupervisedProcess:
    """One service process, its log file and its restart loop."""

    def __init__(self, *, name: str, command: list[str], env: dict[str, str], log_path: Path,
                 journal: Journal, restart_delay: float, health: Callable[[], bool],
                 cwd: Path | None = None):
        self.name, self.command, self.env, self.cwd = name, command, env, cwd
        self.log_path, self.journal, self.restart_delay, self.health = log_path, journal, restart_delay, health
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        """How many times the supervisor brought the service back."""
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # no spawn may slip in after stop() began
        self._watcher: threading.Thread | None = None
        self._planned: str | None = None  # why the next exit is expected (a kill fault)
        self._spawned_at = 0.0  # epoch seconds of the latest spawn

    @property
    def pid(self) -> int | None:
        """PID of the current process (also its process-group id)."""
        return self.process.pid if self.process else None

    def start(self) -> None:
        """Start the process and the watcher thread that restarts it."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name=f"supervise-{self.name}", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        self._spawned_at = time.time()
        self.journal.emit(ServiceStarted(service=self.name, pid=self.process.pid, command=self.command))

    def expect_exit(self, cause: str) -> None:
        """Mark the next exit as planned (``cause``, e.g. the kill fault's name)."""
        self._planned = cause

    def _watch(self) -> None:
        try:
            self._supervise()
        except JournalWriteError:  # the runner sees journal.failure and ends the run
            return

    def _journal_exit(self, code: int, died_at: float) -> None:
        planned, self._planned = self._planned, None
        if planned is not None:
            self.journal.emit(ServiceExited(service=self.name, pid=self.process.pid, returncode=code,
                                            planned=True, cause=planned))
        else:
            self.journal.emit(ServiceDied(service=self.name, pid=self.process.pid, returncode=code,
                                          died_at=died_at, cause="unplanned",
                                          reason=f"{describe_exit(code)}, not by the plan"))

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            code = self.process.wait()
            died_at = time.time()
            if self._stopping.is_set():
                return
            self._journal_exit(code, died_at)
            if self._stopping.wait(self.restart_delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
            self.restarts += 1
            self.journal.emit(ServiceRestarted(service=self.name, pid=self.process.pid, died_at=died_at,
                                               started_at=self._spawned_at,
                                               down_s=round(self._spawned_at - died_at, 3)))
            self._await_health()

    def _await_health(self) -> None:
        deadline = time.monotonic() + 60
        while not self._stopping.is_set() and time.monotonic() < deadline:
            if self.process.poll() is not None:
                return
            if self.health():
                self.journal.emit(self.healthy())
                return
            time.sleep(0.05)

    def healthy(self) -> ServiceHealthy:
        """The record of a health check that passed just now (``after_s`` since the spawn)."""
        now = time.time()
        return ServiceHealthy(service=self.name, pid=self.pid, healthy_at=now,
                              after_s=round(now - self._spawned_at, 3))

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the service's whole process group (nothing if it is gone:
        ``poll`` cannot tell while the watcher thread is reaping it)."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 5.0) -> None:
        """Stop for good: SIGCONT + SIGTERM, then SIGKILL after ``timeout``; no restart."""
        with self._lock:
            self._stopping.set()
        if self.process is None:
            return
        stop_group(self.process, timeout)
        if self._watcher:
            self._watcher.join(timeout)

