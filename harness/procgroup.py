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


def describe_exit(returncode: int) -> str:
    """``killed by SIGKILL`` or ``exited with code 1``, from a Popen return code."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


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
