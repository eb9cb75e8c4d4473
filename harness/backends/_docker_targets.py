"""What the docker backend resolves ahead of a fault: a service's container and main PID.

A kill is then one ``os.kill`` from the host (the engine is local and we may signal
its processes), not a lookup through the engine's API first. The PID is checked
against its start time before use, so a PID recycled after a restart is never
signalled; the backend resolves again on every start event.
"""

from __future__ import annotations

import os
import signal as signals
import time
from dataclasses import dataclass
from typing import Any

from harness.errors import DriverError
from harness.procgroup import start_time_of


@dataclass(frozen=True)
class ResolvedService:
    """A service's container and its main process, as inspected ahead of a fault."""

    container: Any
    pid: int
    started: int | None
    """The PID's start time (``procgroup.start_time_of``): a recycled PID has another."""

    @classmethod
    def of(cls, container) -> "ResolvedService":
        """Resolve ``container`` (freshly inspected)."""
        pid = int(container.attrs["State"].get("Pid") or 0)
        return cls(container, pid, start_time_of(pid) if pid > 0 else None)

    def current(self) -> bool:
        """True while the resolved PID still names the same live process."""
        return self.pid > 0 and self.started is not None and start_time_of(self.pid) == self.started


def signal_container(target: ResolvedService, signal_name: str) -> tuple[str, float]:
    """Send ``signal_name`` to the container's main process as a crash would; say how, and when."""
    number = int(getattr(signals, signal_name))
    local = os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
    if local and target.current():
        try:
            os.kill(target.pid, number)
            return "host", time.time()
        except PermissionError:
            pass
    result = target.container.exec_run(["bash", "-c", f"kill -{signal_name.removeprefix('SIG')} -1"])
    sent = time.time()
    if result.exit_code not in (0, None, -1, 137):
        raise DriverError(f"could not signal {target.container.name}: neither from the host (pid "
                          f"{target.pid}) nor with docker exec: {result.output!r}. Hint: run the "
                          "harness as root, or use an image with bash")
    return "exec", sent
