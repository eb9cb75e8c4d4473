"""limit_data: close the connection once ``bytes`` bytes have passed in this direction."""

from __future__ import annotations

from dataclasses import dataclass

from ..stub import Stub
from .base import register


class _Sent:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0  # bytes forwarded on this connection, kept across updates


@dataclass
class LimitDataToxic:
    bytes: int = 0

    def new_state(self) -> _Sent:
        return _Sent()

    async def pipe(self, stub: Stub) -> None:
        state: _Sent = stub.state
        remaining = self.bytes - state.n
        async for c in stub.chunks():
            remaining = max(remaining, 0)
            if remaining < len(c.data):
                c.data = c.data[:remaining]
            if len(c.data) > 0:
                await stub.send(c)
                state.n += len(c.data)
                remaining = self.bytes - state.n
            if remaining <= 0:
                stub.close()
                return


register("limit_data", LimitDataToxic)
