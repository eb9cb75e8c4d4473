"""noop: passes data through unchanged. The hidden first stage of every link."""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import Stub
from .base import register


@dataclass
class NoopToxic:
    async def pipe(self, stub: Stub) -> None:
        while True:
            c = await stub.recv()
            if c is None:
                stub.close()
                return
            await stub.send(c)


register("noop", NoopToxic)
