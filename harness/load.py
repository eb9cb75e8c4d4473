"""Load with Locust, in its own process (see ``_locust_entry.py`` for why).

``LoadDriver.start()`` launches ``python -m locust`` headless on the shipped
locustfile and waits for Locust's ``test_start``; the journal's ``load_started``
carries that moment, which is the zero of every fault's ``at``. Every request lands
in ``requests.jsonl`` and, live, in ``journal.events.request`` (``harness.feed``).
Locust exits 1 when any request failed: that is a finding, not a crash
(``--exit-code-on-error 0`` makes only real crashes non-zero).

With ``load.workers: N`` it uses Locust's distributed mode: a master (``--master
--expect-workers N``, bound to loopback on a free port; it runs the load's shape and no
user) and N local worker processes (``--worker``), each journaled as ``load_launched``,
all writing to the one live feed.
Each worker records its requests to its own ``requests-worker-I.jsonl``; when the load
stops they are merged into ``requests.jsonl`` (:mod:`harness.requestmerge`), ordered by
intended start. All processes here share one machine, so one clock: every ``ts`` is
that machine's ``time.time()``. Workers on other hosts (``locust -f
harness/_locust_entry.py --worker --master-host THIS_HOST`` with the same ``CHAOS_*``
environment) would need their clocks synchronised (chrony/NTP) and their request logs
copied into the run directory before the merge; this driver starts only local ones.

:class:`FakeLoadDriver` has the same surface and sends nothing: it "runs" for the
load's duration on a clock (the runner's unit tests, ``run --dry-run``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import DriverError
from harness.feed import FEED_ENV, RequestFeed
from harness.journal import LOAD_EVENTS_FILE, REQUEST_LOG_FILE, Journal, read_jsonl
from harness.model import LoadSpec
from harness.payload import PAYLOAD_ENV, PAYLOAD_FILE
from harness.probes import free_port
from harness.procgroup import stop_group
from harness.requestmerge import WORKER_LOG, merge_worker_logs
from harness.timeline.records import LoadLaunched, LoadStarted, LoadStopped

if TYPE_CHECKING:
    from harness.clock import Clock

START_POLL_S = 0.01
"""How often ``start`` looks for Locust's ``test_start``: faults due at ``0s`` wait on it."""

ENTRY = Path(__file__).with_name("_locust_entry.py")
WORKER_QUIT_S = 10.0
"""How long a worker may take to quit by itself once the master has stopped."""


class LoadDriver:
    """One Locust run against ``host`` with the scenario's load."""

    def __init__(self, *, load: LoadSpec, host: str, locustfile: Path, run_dir: Path,
                 journal: Journal, seed: int = 0, user_class: str = "PipelineUser",
                 flags: tuple[str, ...] = ()):
        self.load, self.host, self.locustfile = load, host, locustfile
        self.user_class, self.flags = user_class, tuple(flags)
        self.run_dir, self.journal, self.seed = Path(run_dir), journal, seed
        self.events_path = self.run_dir / LOAD_EVENTS_FILE
        self.process: subprocess.Popen | None = None
        """Locust's process: the only one, or the master."""
        self.workers: list[subprocess.Popen] = []
        self.started_at: float | None = None
        """Wall-clock time of Locust's test_start: ``at: 0s`` of the scenario."""
        self._stopped = False
        self.feed: RequestFeed | None = None

    def _env(self, role: str, index: int = 0, log: str = REQUEST_LOG_FILE) -> dict[str, str]:
        return {**os.environ, "CHAOS_USER_FILE": str(self.locustfile),
                "CHAOS_SEED": str(self.seed + index),
                "CHAOS_USER_CLASS": self.user_class, "CHAOS_FLAGS": json.dumps(self.flags),
                "CHAOS_LOAD": json.dumps({"users": self.load.users, "spawn_rate": self.load.spawn_rate,
                                          "duration": self.load.duration,
                                          "rate_per_user": self.load.rate_per_user}),
                "CHAOS_REQUEST_LOG": str(self.run_dir / log), PAYLOAD_ENV: str(self.run_dir / PAYLOAD_FILE),
                "CHAOS_LOAD_EVENTS": str(self.events_path), "CHAOS_LOCUST_ROLE": role,
                "CHAOS_WORKER_INDEX": str(index), "CHAOS_WORKERS": str(self.load.workers)}

    def _launch(self, command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
        """Start one Locust process writing to the live feed (each line one atomic pipe write)."""
        env = {**env, FEED_ENV: str(self.feed.write_fd)}
        with open(self.run_dir / "logs" / log_name, "ab") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=self.run_dir, pass_fds=(self.feed.write_fd,))
        self.journal.emit(LoadLaunched(pid=process.pid, command=command))
        return process

    def _launch_all(self, command: list[str]) -> None:
        """Locust alone, or its master and ``load.workers`` local workers."""
        workers = self.load.workers
        if not workers:
            self.process = self._launch(command, self._env("local"), "locust.log")
            return
        port = free_port()
        master = [*command, "--master", "--master-bind-host", "127.0.0.1",
                  "--master-bind-port", str(port), "--expect-workers", str(workers),
                  "--expect-workers-max-wait", "60"]
        self.process = self._launch(master, self._env("master"), "locust.log")
        for index in range(workers):
            worker = [sys.executable, "-m", "locust", "-f", str(ENTRY), "--worker",
                      "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"]
            self.workers.append(self._launch(worker, self._env("worker", index, WORKER_LOG.format(index)),
                                             f"locust-worker-{index}.log"))

    def start(self, timeout: float = 60.0) -> float:
        """Launch Locust (and its workers) and wait until it has started; return the start
        time (epoch)."""
        command = [sys.executable, "-m", "locust", "-f", str(ENTRY), "--headless", "--host", self.host,
                   "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
                   "--stop-timeout", "2"]
        self.feed = RequestFeed(self.journal.events)
        try:
            self._launch_all(command)
        except BaseException:
            self.feed.close()
            raise
        self.feed.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self._event("test_start")
            if started:
                self.started_at = started
                self.journal.emit(LoadStarted(load_ts=started, users=self.load.users,
                                              duration_s=self.load.duration))
                return started
            if self.process.poll() is not None:
                break
            time.sleep(START_POLL_S)
        self.stop()
        raise DriverError(f"Locust did not start (exit {self.process.returncode}); "
                          f"see {self.run_dir / 'logs' / 'locust.log'}")

    def _event(self, name: str) -> float | None:
        if not self.events_path.exists():
            return None
        for event in read_jsonl(self.events_path):
            if event.get("event") == name:
                return event["ts"]
        return None

    def running(self) -> bool:
        """True while Locust is still running."""
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout: float) -> int | None:
        """Wait for Locust to finish on its own; return its exit code or None."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop Locust and its workers (SIGTERM, then SIGKILL), keeping the request log
        (the workers' merged into it); idempotent."""
        if self.process is None:
            return
        stop_group(self.process, 10)
        for worker in self.workers:  # each quits with the master after its last stats report
            try:
                worker.wait(WORKER_QUIT_S)
            except subprocess.TimeoutExpired:
                pass
            stop_group(worker, 10)
        if self.feed is not None:
            self.feed.close()
        if not self._stopped:
            self._stopped = True
            if self.workers:
                merge_worker_logs(self.run_dir)
            self.journal.emit(LoadStopped(returncode=self.process.returncode))


class FakeLoadDriver:
    """The load's surface without Locust: starts at once, runs for the load's duration
    on ``clock``, sends no request (``requests.jsonl`` stays empty)."""

    def __init__(self, *, load: LoadSpec, host: str, locustfile: Path, run_dir: Path | None,
                 journal: Journal, seed: int = 0, clock: "Clock", user_class: str = "PipelineUser",
                 flags: tuple[str, ...] = ()):
        self.load, self.host, self.journal, self.clock = load, host, journal, clock
        self.started_at: float | None = None
        self._stopped = False

    def start(self) -> float:
        """Start "now"; returns the start time (the zero of every fault's ``at``)."""
        self.started_at = self.clock.time()
        self.journal.emit(LoadStarted(load_ts=self.started_at, users=self.load.users,
                                      duration_s=self.load.duration))
        return self.started_at

    def running(self) -> bool:
        """True until the load's duration has passed on the clock (and it was not stopped)."""
        return (self.started_at is not None and not self._stopped
                and self.clock.time() < self.started_at + self.load.duration)

    def stop(self) -> None:
        """Journal ``load_stopped`` once."""
        if self.started_at is not None and not self._stopped:
            self._stopped = True
            self.journal.emit(LoadStopped(returncode=0))
