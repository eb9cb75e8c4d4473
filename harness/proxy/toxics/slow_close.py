"""slow_close: hold the close of the destination for ``delay`` ms after source EOF."""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import Stub
from .base import register


@dataclass
class SlowCloseToxic:
    delay: int = 0  # ms

    async def pipe(self, stub: Stub) -> None:
        while True:
            c = await stub.recv()
            if c is None:
                # Interrupted here: the stage exits; the end of stream is sticky, so
                # the re-linked chain sees it again and closes.
                await stub.sleep(self.delay / 1000.0)
                stub.close()
                return
            await stub.send(c)


register("slow_close", SlowCloseToxic)
