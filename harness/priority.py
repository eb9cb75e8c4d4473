"""CPU priority for what a fault's timing depends on.

A fault must take effect within a few milliseconds of its planned time on a machine
whose cores are shared with the pipeline, the load generator and whatever else runs.
Under load a process that wakes up may wait several milliseconds for a core, and with
the kernel's autogroups (``/proc/sys/kernel/sched_autogroup_enabled``, on by default)
a plain nice value only counts inside its own session. So:

* the embedded fault proxy server (its own session) gets a higher priority for its
  whole autogroup (``/proc/PID/autogroup``) and for itself (``setpriority``);
* the thread making a fault's call runs real-time (``SCHED_FIFO``, the lowest RT
  priority) for the wait before the call and the call itself, then returns to normal
  scheduling (the look-ups and snapshots made ahead run normally). It sleeps, spins
  for at most ``harness.clock.SPIN_S``, then blocks on the call; the kernel's RT
  throttling bounds it in any case, and a process it starts does not inherit it.
  Meanwhile Python's thread switch interval is 0.2 ms instead of 5 ms, so that the
  thread does not wait for the GIL that another thread (the live request feed, which
  parses every request) holds: each blocking step of the call gives the GIL up and
  takes it back.

Best effort: the priorities need privilege (root or ``CAP_SYS_NICE``); without it everything
runs at its normal priority, as before.

>>> with time_critical():   # doctest: +SKIP
...     make_the_call()
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

SWITCH_S = 0.0002
"""Python's thread switch interval inside :func:`time_critical` (normally 5 ms): how long
the fault's thread may wait for the GIL that another thread (the live request feed)
holds."""
PROXY_NICE = -10
"""Nice value of the embedded proxy server's autogroup and process (0 is normal)."""


def raise_priority(pid: int, nice: int = PROXY_NICE) -> bool:
    """Give process ``pid`` (one the harness started, alone in its session) the nice
    value ``nice``, for its autogroup too; False if not permitted."""
    done = False
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/autogroup", "w") as autogroup:
            autogroup.write(str(nice))
        done = True
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, nice)
        done = True
    return done


@contextlib.contextmanager
def time_critical() -> Iterator[None]:
    """Run the block with the calling thread real-time (``SCHED_FIFO`` 1, best effort)
    and a short thread switch interval; both restored after."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_S)
    try:
        try:  # a process started meanwhile must not inherit it: SCHED_RESET_ON_FORK
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(1))
        except (OSError, AttributeError):
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    finally:
        sys.setswitchinterval(interval)
