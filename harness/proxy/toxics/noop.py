"""noop: passes data through unchanged. The hidden first stage of every link."""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import Stub
from .base import register


@dataclass
class NoopToxic:
    async def pipe(self, stub: Stub) -> None:
        async for c in stub.chunks():
            await stub.send(c)


register("noop", NoopToxic)
