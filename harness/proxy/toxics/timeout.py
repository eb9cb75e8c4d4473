"""timeout: drop all data; close the connection after ``timeout`` ms without data.

The timer starts with the stage and, as in Toxiproxy (whose ``time.After`` sits inside
its select loop), restarts at every chunk it drops: a direction that keeps receiving
data is never closed. ``timeout == 0`` drops data and never closes. Removing the toxic
from a live connection closes that connection (``cleanup``), as in Toxiproxy.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import TIMED_OUT, Stub
from .base import register


@dataclass
class TimeoutToxic:
    timeout: int = 0  # ms

    async def pipe(self, stub: Stub) -> None:
        while True:
            until = stub.now() + self.timeout / 1000.0 if self.timeout > 0 else None
            c = await stub.recv(until=until)
            if c is None or c is TIMED_OUT:
                stub.close()
                return
            # Drop the data on the ground; the next wait starts afresh.

    def cleanup(self, stub: Stub) -> None:
        stub.close()


register("timeout", TimeoutToxic)
