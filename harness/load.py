"""Load with Locust, in its own process (see ``_locust_entry.py`` for why).

``LoadDriver.start()`` launches ``python -m locust`` headless on the shipped
locustfile and waits for Locust's ``test_start``; the journal's ``load_started``
carries that moment, which is the zero of every fault's ``at``. Every request lands
in ``requests.jsonl`` and, live, in ``journal.events.request`` (``harness.feed``).
Locust exits 1 when any request failed: that is a finding, not a crash (``--exit-code-on-error 0`` makes only real crashes non-zero).

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
from harness.procgroup import stop_group
from harness.timeline.records import LoadLaunched, LoadStarted, LoadStopped

if TYPE_CHECKING:
    from harness.clock import Clock

START_POLL_S = 0.01
"""How often ``start`` looks for Locust's ``test_start``: faults due at ``0s`` wait on it."""

ENTRY = Path(__file__).with_name("_locust_entry.py")


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
        self.started_at: float | None = None
        """Wall-clock time of Locust's test_start: ``at: 0s`` of the scenario."""
        self._stopped = False
        self.feed: RequestFeed | None = None

    def start(self, timeout: float = 60.0) -> float:
        """Launch Locust and wait until it has started; return the start time (epoch)."""
        env = {**os.environ, "CHAOS_USER_FILE": str(self.locustfile), "CHAOS_SEED": str(self.seed),
               "CHAOS_USER_CLASS": self.user_class, "CHAOS_FLAGS": json.dumps(self.flags),
               "CHAOS_LOAD": json.dumps({"users": self.load.users, "spawn_rate": self.load.spawn_rate,
                                     "duration": self.load.duration,
                                     "rate_per_user": self.load.rate_per_user}),
               "CHAOS_REQUEST_LOG": str(self.run_dir / REQUEST_LOG_FILE),
               "CHAOS_LOAD_EVENTS": str(self.events_path)}
        self.feed = RequestFeed(self.journal.events)
        env[FEED_ENV] = str(self.feed.write_fd)
        command = [sys.executable, "-m", "locust", "-f", str(ENTRY), "--headless", "--host", self.host,
                   "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
                   "--stop-timeout", "2"]
        try:
            with open(self.run_dir / "logs" / "locust.log", "ab") as log:
                self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True,
                                                cwd=self.run_dir, pass_fds=(self.feed.write_fd,))
        except BaseException:
            self.feed.close()
            raise
        self.feed.start()
        self.journal.emit(LoadLaunched(pid=self.process.pid, command=command))
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
        """Stop Locust (SIGTERM, then SIGKILL), keeping its request log; idempotent."""
        if self.process is None:
            return
        stop_group(self.process, 10)
        if self.feed is not None:
            self.feed.close()
        if not self._stopped:
            self._stopped = True
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
