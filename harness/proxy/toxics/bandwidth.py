"""bandwidth: limit a direction to ``rate`` KB/s (KB = 1000 bytes).

Deviations from Toxiproxy (docs/proxy-deviations.md): ``rate < 0`` means unlimited
(the real server panics); ``rate == 0`` stalls the link like the real server does.
The timer error is carried forward across the 100 ms pieces too (Toxiproxy carries it
only across chunks), so late wake-ups on a busy machine do not lower the rate.
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
            piece, per_byte = self.rate * 100, 1 / (self.rate * 1000.0)
            sleep += len(p.data) * per_byte
            try:
                while len(p.data) > piece:  # each piece waits what its bytes cost, less any oversleep
                    start = stub.now()
                    await stub.sleep(sleep - (len(p.data) - piece) * per_byte)
                    sleep -= stub.now() - start
                    await stub.send(Chunk(p.data[:piece], p.ts))
                    p = Chunk(p.data[piece:], p.ts)
                start = stub.now()
                await stub.sleep(sleep)
                sleep -= stub.now() - start  # carry the timer error forward
            except Interrupted:
                await stub.send(p)
                raise
            await stub.send(p)


register("bandwidth", BandwidthToxic)
