"""reset_peer: on the first chunk (or EOF), wait ``timeout`` ms, then reset the connection.

The TCP RST comes from SO_LINGER 0, which the link sets on both sockets when the toxic
is present at connection start (added later, the connection just closes with FIN, as
in Toxiproxy). The triggering data is discarded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from ..stub import MAX_SLEEP, Stub
from .base import register


@dataclass
class ResetToxic:
    timeout: int = 0  # ms

    #: Read by the link: a connection that starts with this toxic in its chain gets
    #: SO_LINGER 0 on both sockets, so its close is an RST (Toxiproxy's SetLinger(0)).
    resets_connection: ClassVar[bool] = True

    async def pipe(self, stub: Stub) -> None:
        await stub.recv()  # a chunk or the end of stream; interruptible while idle
        if self.timeout > 0:
            await asyncio.sleep(min(self.timeout / 1000.0, MAX_SLEEP))  # not interruptible
        stub.close()


register("reset_peer", ResetToxic)
