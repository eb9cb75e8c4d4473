"""latency: delay every chunk by ``latency`` ms +/- ``jitter`` ms, measured from arrival."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..stub import Interrupted, Stub
from .base import register


@dataclass
class LatencyToxic:
    latency: int = 0  # ms
    jitter: int = 0  # ms; the delay is uniform in [latency - jitter, latency + jitter)

    buffer_size: ClassVar[int] = 1024  # chunks queued in front: latency never caps throughput

    def delay(self, rng) -> float:
        ms = self.latency
        if self.jitter > 0:
            ms += rng.randrange(self.jitter * 2) - self.jitter
        return ms / 1000.0

    async def pipe(self, stub: Stub) -> None:
        async for c in stub.chunks():
            sleep = self.delay(stub.rng) - (stub.now() - c.ts)
            try:
                await stub.sleep(sleep)
            except Interrupted:
                await stub.send(c)  # never drop data: forward at once, then stop
                raise
            c.ts += sleep  # chained latency toxics add up
            await stub.send(c)


register("latency", LatencyToxic)
