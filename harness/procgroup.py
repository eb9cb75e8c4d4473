"""Child processes in their own session (process group): stopping them for good, and
knowing a journaled process again by its PID and command line."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def stop_group(process: subprocess.Popen, timeout: float) -> bool:
    """SIGCONT + SIGTERM the process's group, SIGKILL it after ``timeout``; reap it.

    Returns True if the process was still running. Safe to call twice.
    """
    if process.poll() is not None:
        return False
    for signum in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    return True


def cmdline_of(pid: int) -> list[str] | None:
    """The command line of a live process, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw if part]


def runs(pid: int, command: list[str] | None) -> bool:
    """True if ``pid`` is alive and still runs ``command`` (never trust a bare PID)."""
    return bool(command) and cmdline_of(pid) == list(command)


def start_time_of(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/PID/stat`` field 22), or None.

    With the PID it names one process for good: a recycled PID has another start time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and ')'
    return int(fields[19]) if fields[0] != "Z" else None  # field 3 is fields[0]: 22 is [19]


def host_id() -> str:
    """This boot of this machine and PID namespace: where a PID means something."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return "unknown"
    return f"{boot}/{namespace}"


def identity(pid: int | None = None) -> dict[str, object]:
    """``{"pid", "start_time", "host"}`` of a live process (default: this one)."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "start_time": start_time_of(pid), "host": host_id()}


def identity_state(owner: dict[str, object]) -> str:
    """``alive``, ``dead`` or ``unknown``: is the process ``identity()`` recorded still there?

    Dead means known dead: same host, and no process with that PID (and that start time,
    when recorded). A PID from another machine, boot or PID namespace is ``unknown``; so
    is a dead PID with no host recorded. A live PID with no host recorded counts as alive.
    """
    try:
        pid = int(owner.get("pid") or 0)
    except (TypeError, ValueError):
        return "unknown"
    host, started = owner.get("host"), owner.get("start_time")
    if pid <= 0 or (host and host != host_id()):
        return "unknown"
    now = start_time_of(pid)
    if now is not None and (started in (None, "") or str(now) == str(started)):
        return "alive"
    return "dead" if host else "unknown"
