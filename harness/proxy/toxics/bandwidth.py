"""bandwidth: limit a direction to ``rate`` KB/s (KB = 1000 bytes).

Deviation from Toxiproxy (docs/proxy-deviations.md): ``rate < 0`` means unlimited
(the real server panics); ``rate == 0`` stalls the link like the real server does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import Chunk, Interrupted, Stub
from .base import register

_SLICE = 0.1  # seconds: chunks longer than rate*100 bytes leave in 100 ms pieces


@dataclass
class BandwidthToxic:
    rate: int = 0  # KB/s

    async def pipe(self, stub: Stub) -> None:
        sleep = 0.0
        async for p in stub.chunks():
            if self.rate < 0:
                await stub.send(p)
                continue
            if self.rate == 0:
                try:
                    await stub.sleep(float("inf"))  # Toxiproxy: stalls until interrupted
                except Interrupted:
                    await stub.send(p)
                    raise
            piece = self.rate * 100
            sleep += len(p.data) / (self.rate * 1000.0)
            try:
                while len(p.data) > piece:
                    await stub.sleep(_SLICE)
                    await stub.send(Chunk(p.data[:piece], p.ts))
                    p = Chunk(p.data[piece:], p.ts)
                    sleep -= _SLICE
                start = stub.now()
                await stub.sleep(sleep)
                sleep -= stub.now() - start  # carry the timer error forward
            except Interrupted:
                await stub.send(p)
                raise
            await stub.send(p)


register("bandwidth", BandwidthToxic)
