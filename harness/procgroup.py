"""Stopping a child that runs in its own session (process group), for good."""

from __future__ import annotations

import os
import signal
import subprocess


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
