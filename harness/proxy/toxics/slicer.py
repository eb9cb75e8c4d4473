"""slicer: cut each chunk into ~``average_size`` byte pieces (+/- ``size_variation``),
sleeping ``delay`` microseconds after each piece.

Deviations (docs/proxy-deviations.md): when ``average_size + size_variation < 1`` the
real server recurses until it crashes; here the chunk is forwarded unsliced. Split
points are kept strictly inside the chunk, so a large variation cannot produce the
negative-length pieces that crash the real server either. A late wake-up shortens the
next sleep (the timer error is carried forward, as the bandwidth toxic does), so the
pieces keep their pace on a busy machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import Chunk, Interrupted, Stub
from .base import register


@dataclass
class SlicerToxic:
    average_size: int = 0  # bytes
    size_variation: int = 0  # bytes
    delay: int = 0  # microseconds

    def cuts(self, size: int, rng) -> list[int]:
        """Piece boundaries ``[0, ..., size]`` by Toxiproxy's recursive bisection."""
        avg, var = self.average_size, self.size_variation
        if avg + var < 1:
            return [0, size]
        out, todo = [0], [(0, size)]
        while todo:
            start, end = todo.pop()
            if (end - start) - avg <= var:
                out.append(end)
                continue
            mid = start + (end - start) // 2
            if var > 0:
                mid += rng.randrange(var * 2) - var
            mid = min(max(mid, start + 1), end - 1)
            todo.append((mid, end))
            todo.append((start, mid))
        return out

    async def pipe(self, stub: Stub) -> None:
        overslept = 0.0  # the timer error carried forward (at most one delay): shortens the next sleep
        async for c in stub.chunks():
            cuts = self.cuts(len(c.data), stub.rng)
            for i in range(1, len(cuts)):
                await stub.send(Chunk(c.data[cuts[i - 1] : cuts[i]], c.ts))
                try:
                    start, delay = stub.now(), self.delay / 1e6
                    await stub.sleep(delay - overslept)
                    overslept = min(delay, max(0.0, overslept + (stub.now() - start) - delay))
                except Interrupted:
                    if cuts[i] < len(c.data):
                        await stub.send(Chunk(c.data[cuts[i] :], c.ts))
                    raise


register("slicer", SlicerToxic)
