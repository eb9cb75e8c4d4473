"""The run lock: who owns a run directory, provable for as long as the owner lives.

``<run dir>/run.lock`` holds its owner's identity as JSON (PID, process start time from
``/proc/PID/stat`` field 22, and host: boot id and PID namespace), and the owner holds
an exclusive ``flock`` on it for the run's whole life. The kernel drops a flock when its
holder dies, however it dies (SIGKILL included), and a recycled PID never holds it::

    flock held                          -> LIVE: the owner (or a cleanup) is at work
    flock free, owner's PID alive with
      the recorded start time           -> LIVE (a filesystem without flock): left alone
    flock free otherwise                -> ORPHAN: the caller now holds the lock
    no lock file                        -> ABSENT (a run from before locks existed)

>>> lock = RunLock.acquire(Path("reports/r1"))     # doctest: +SKIP
>>> ...                                             # the run
>>> lock.release()
"""

from __future__ import annotations

import enum
import fcntl
import json
import os
from pathlib import Path

from harness.procgroup import identity, identity_state

LOCK_FILE = "run.lock"


class LockState(enum.Enum):
    """What :func:`claim` found."""

    LIVE = "live"
    ORPHAN = "orphan"
    ABSENT = "absent"


class RunLock:
    """An exclusive flock on ``<run dir>/run.lock``, held until :meth:`release`."""

    def __init__(self, path: Path, fd: int):
        self.path, self._fd = path, fd

    @classmethod
    def acquire(cls, run_dir: Path) -> "RunLock":
        """Lock a new run directory for this process and record who it is."""
        path = Path(run_dir) / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock.write_owner()
        return lock

    def write_owner(self) -> None:
        """Record this process as the owner (durably: a crash right after must find it)."""
        data = json.dumps(identity()).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def release(self) -> None:
        """Drop the flock (the file stays, naming its last owner). Safe to call twice."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read_owner(run_dir: Path) -> dict:
    """The identity recorded in a run's lock file ({} when there is none or it is torn)."""
    try:
        return json.loads((Path(run_dir) / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def claim(run_dir: Path) -> tuple[LockState, RunLock | None]:
    """Take an orphaned run's lock for cleaning it; see the module docstring."""
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return LockState.ABSENT, None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return LockState.LIVE, None
    if identity_state(read_owner(run_dir)) == "alive":
        os.close(fd)
        return LockState.LIVE, None
    return LockState.ORPHAN, RunLock(path, fd)
