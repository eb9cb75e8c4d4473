"""The plumbing a toxic sees: chunks, channels and the per-connection :class:`Stub`.

A direction of a connection (a *link*) is a chain of stages, as in Toxiproxy::

    source -> [noop] -> [toxic 1] -> ... -> [toxic N] -> writer -> destination
              stub 0     stub 1               stub N

Each stage is one asyncio task running ``toxic.pipe(stub)``; stages are joined by
:class:`Channel` s (bounded FIFO queues of :class:`Chunk`; ``None`` marks the end of
the stream). A toxic only ever uses these calls::

    async for chunk in stub.chunks():  # each Chunk; the end of stream closes the stage
    chunk = await stub.recv()          # a Chunk, or None at end of stream
    await stub.sleep(seconds)          # interruptible
    await stub.send(chunk)             # never drops data
    stub.close()                       # end this stage's output (closes the connection)

**Interrupts** (the invariant that lets toxics be added, updated and removed on live
connections without dropping or reordering bytes): :meth:`Stub.interrupt` sets a flag
and wakes the stage. ``recv`` and ``sleep`` then raise :class:`Interrupted`; a toxic
that holds a chunk must ``send`` it before letting the exception escape. ``send``
never raises: when interrupted while the output is full it appends past the bound,
so an interrupt can never deadlock on a stalled neighbour.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from typing import Any, Callable

__all__ = ["Chunk", "Channel", "Stub", "Interrupted", "TIMED_OUT", "MAX_SLEEP"]

#: Longest single sleep (seconds); larger toxic values are clamped (about 115 days).
MAX_SLEEP = 1e7
#: Timers fire on a 1 ms clock under uvloop: a remaining wait below this is "done".
_SLACK = 0.0005

monotonic = time.monotonic
#: For a stage built without a seeded generator (the hidden noop, which draws
#: nothing): ``random.Random()`` reads the OS entropy pool, 10+ us per link.
_UNSEEDED = random.Random()


def _armed(delay: float) -> float:
    """The timer to arm for a wait of ``delay`` seconds so that it does not fire late.

    Linux lets an epoll timeout expire up to 0.1% of its length late (the poll/select
    timer slack, capped at 100 ms): 1 ms on a 1 s latency toxic. Long waits therefore
    aim that much early; the callers re-check the deadline and arm a short timer for
    the rest.
    """
    return delay - min(delay * 0.0011, 0.1) if delay > 0.01 else delay


class Interrupted(Exception):
    """Raised inside a toxic's ``pipe`` when its stage must stop (update/add/remove)."""


class _TimedOut:
    def __repr__(self) -> str:
        return "TIMED_OUT"


#: Returned by ``Stub.recv(until=...)`` when the deadline passed first.
TIMED_OUT: Any = _TimedOut()


class Chunk:
    """Bytes read from the source in one go, stamped with the monotonic read time."""

    __slots__ = ("data", "ts")

    def __init__(self, data: bytes | memoryview, ts: float) -> None:
        self.data = data
        self.ts = ts

    def __repr__(self) -> str:
        return f"Chunk({len(self.data)}B @ {self.ts:.6f})"


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class Channel:
    """A bounded single-consumer FIFO of chunks; ``close()`` is sticky end-of-stream.

    ``cap`` is a soft bound: producers that must not block (the socket reader, an
    interrupted ``send``) may push past it. ``on_space`` is called when a pop brings
    the length below ``cap`` (used to resume reading the source socket).
    """

    __slots__ = ("items", "cap", "closed", "getter", "putters", "on_space")

    def __init__(self, cap: int = 0) -> None:
        self.items: deque[Chunk] = deque()
        self.cap = cap if cap > 0 else 1
        self.closed = False
        self.getter: asyncio.Future | None = None
        self.putters: deque[asyncio.Future] = deque()
        self.on_space: Callable[[], None] | None = None

    def push(self, chunk: Chunk) -> None:
        """Append without waiting (past the bound if need be); dropped once closed."""
        if self.closed:
            return
        self.items.append(chunk)
        g = self.getter
        if g is not None and not g.done():
            g.set_result(None)

    def pop(self) -> Chunk:
        """Take the oldest chunk (there must be one); wake a producer waiting for room."""
        c = self.items.popleft()
        if len(self.items) < self.cap:
            while self.putters:
                p = self.putters.popleft()
                if not p.done():
                    p.set_result(None)
                    break
            if self.on_space is not None:
                self.on_space()
        return c

    def close(self) -> None:
        """Mark the end of stream; queued chunks can still be read."""
        if not self.closed:
            self.closed = True
            g = self.getter
            if g is not None and not g.done():
                g.set_result(None)

    def readable(self) -> bool:
        """True when ``get`` would not wait (an item is queued or the stream ended)."""
        return bool(self.items) or self.closed

    async def wait_readable(self) -> None:
        """Wait until :meth:`readable` (as the consumer: one waiter at a time)."""
        while not self.readable():
            fut = asyncio.get_running_loop().create_future()
            self.getter = fut
            try:
                await fut
            finally:
                self.getter = None

    async def get(self) -> Chunk | None:
        """Next chunk, or ``None`` once closed and drained (plain consumer: the writer)."""
        while not self.items:
            if self.closed:
                return None
            await self.wait_readable()
        return self.pop()


class Stub:
    """Per-connection, per-stage handle given to ``toxic.pipe`` (Toxiproxy's ToxicStub)."""

    __slots__ = ("input", "output", "state", "rng", "closed", "task", "_interrupt", "_waiter", "_loop")

    def __init__(self, inp: Channel, out: Channel, rng: random.Random | None = None) -> None:
        self.input = inp
        self.output = out
        #: Per-connection toxic state (``limit_data`` byte counter), kept across runs.
        self.state: Any = None
        #: Seeded random source for this connection, direction and toxic.
        self.rng = rng if rng is not None else _UNSEEDED
        self.closed = False
        self.task: asyncio.Task | None = None
        self._interrupt = False
        self._waiter: asyncio.Future | None = None
        self._loop = asyncio.get_running_loop()

    now = staticmethod(monotonic)

    # ------------------------------------------------------------------ toxic API
    async def recv(self, until: float | None = None) -> Any:
        """Next chunk; ``None`` at end of stream; ``TIMED_OUT`` once ``until`` passed."""
        ch = self.input
        while True:
            if self._interrupt:
                raise Interrupted
            if ch.items:
                return ch.pop()
            if ch.closed:
                return None
            handle = None
            fut = self._loop.create_future()
            if until is not None:
                delay = until - monotonic()
                if delay <= _SLACK:
                    return TIMED_OUT
                handle = self._loop.call_later(_armed(delay), _wake, fut)
            ch.getter = fut
            self._waiter = fut
            try:
                await fut
            finally:
                ch.getter = None
                self._waiter = None
                if handle is not None:
                    handle.cancel()

    def chunks(self) -> "Stub":
        """``async for c in stub.chunks():`` each chunk until the end of stream, which
        closes this stage (``close``) and ends the loop; ``Interrupted`` escapes it."""
        return self

    def __aiter__(self) -> "Stub":
        return self

    async def __anext__(self) -> Chunk:
        c = await self.recv()
        if c is None:
            self.close()
            raise StopAsyncIteration
        return c

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (<= 0 returns at once); raise Interrupted if interrupted."""
        if self._interrupt:
            raise Interrupted
        if seconds <= 0:
            return
        deadline = monotonic() + min(seconds, MAX_SLEEP)
        while True:
            delay = deadline - monotonic()
            if delay <= _SLACK:
                return
            fut = self._loop.create_future()
            handle = self._loop.call_later(_armed(delay), _wake, fut)
            self._waiter = fut
            try:
                await fut
            finally:
                self._waiter = None
                handle.cancel()
            if self._interrupt:
                raise Interrupted

    async def send(self, chunk: Chunk) -> None:
        """Forward ``chunk`` downstream; waits for room unless interrupted."""
        ch = self.output
        while len(ch.items) >= ch.cap and not self._interrupt and not ch.closed:
            fut = self._loop.create_future()
            ch.putters.append(fut)
            self._waiter = fut
            try:
                await fut
            finally:
                self._waiter = None
                try:
                    ch.putters.remove(fut)
                except ValueError:
                    pass
        ch.push(chunk)

    def close(self) -> None:
        """End this stage: closes its output, which ends the link and the connection."""
        if not self.closed:
            self.closed = True
            self.output.close()

    # ------------------------------------------------------------------ link API
    async def interrupt(self) -> bool:
        """Stop the running toxic; False if the stage had closed instead (Go semantics)."""
        if self.closed:
            return False
        task = self.task
        if task is not None and not task.done():
            self._interrupt = True
            w = self._waiter
            if w is not None and not w.done():
                w.set_result(None)
            await asyncio.wait((task,))
            self._interrupt = False
        return not self.closed

    def idle(self) -> bool:
        """True when the stage waits on an empty input (safe to dismantle the chain)."""
        return self._waiter is not None and self._waiter is self.input.getter and not self.input.items
