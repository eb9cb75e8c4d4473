"""The per-connection pump: one :class:`Connection`, two :class:`HalfLink` s.

::

    client socket --(upstream link)--> upstream socket
    client socket <-(downstream link)-- upstream socket

Each half link runs in one of two modes:

* **fast path** (no toxics in its direction): ``data_received`` writes straight into
  the destination transport; back-pressure pauses the source when the destination's
  write buffer is above its high-water mark. No task, no queue, no copy.
* **toxic path**: the chain of :mod:`.stub` stages (hidden noop first), and a writer
  task draining the last channel into the destination.

Switching is seamless: fast -> toxic happens synchronously when the first toxic is
added (everything read so far is already in the transport buffer, in order);
toxic -> fast only once the chain is empty and idle after the last toxic is removed.

Closing follows Toxiproxy: there is no half-close. When a link's source ends, the
chain drains and the writer fully closes the destination; the other link then sees
its source end and closes the other socket.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
import struct
from typing import TYPE_CHECKING, Any

from .stub import Channel, Chunk, Interrupted, Stub, monotonic
from .toxics import CleanupToxic, NoopToxic, buffer_size_of

if TYPE_CHECKING:  # pragma: no cover
    from .state import Proxy, ToxicWrapper

__all__ = ["Direction", "Connection", "HalfLink", "ClientSide"]

log = logging.getLogger("harness.proxy.link")

#: Chunk size on the toxic path (Toxiproxy's io.Copy buffer): per-chunk toxics see
#: the same granularity as on the real server.
CHUNK = 32 * 1024
#: Chunks queued in front of the hidden noop before the source is paused.
FIRST_CAP = 4
#: Destination write-buffer high-water mark (bytes) before the source is paused.
HIGH_WATER = 256 * 1024

_PAUSE_DST = 1
_PAUSE_CHAN = 2
_LINGER0 = struct.pack("ii", 1, 0)
_NOOP = NoopToxic()


class Direction(enum.IntEnum):
    """``upstream`` is client -> server; ``downstream`` is server -> client."""

    UPSTREAM = 0
    DOWNSTREAM = 1

    def __str__(self) -> str:
        return self.name.lower()


class _NoopWrapper:
    """The hidden first stage of every chain (never listed, never rolled)."""

    name = "noop"
    type = "noop"
    toxic = _NOOP
    toxicity = 1.0
    serial = -1


NOOP_WRAPPER: Any = _NoopWrapper()


class _Side(asyncio.Protocol):
    """One socket of a connection. ``out`` reads from it, ``inn`` writes to it."""

    __slots__ = ("conn", "transport", "out", "inn", "lost", "early", "early_eof")

    def __init__(self, conn: "Connection | None") -> None:
        self.conn = conn
        self.transport: Any = None
        self.out: HalfLink | None = None
        self.inn: HalfLink | None = None
        self.lost = False
        # uvloop starts reading right *after* connection_made (ignoring the pause made
        # there), so data (or EOF) can arrive before both links exist: keep it here
        # and feed it once wired (no byte lost).
        self.early: list[bytes] = []
        self.early_eof = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.pause_reading()  # until both sockets and both links exist
        transport.set_write_buffer_limits(high=HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        if self.out is None:
            # Not wired yet: pause again (see above), or a fast client could pour
            # unbounded data into memory while the upstream is being dialled.
            self.early.append(data)
            self.transport.pause_reading()
            return
        self.out.feed(data)

    def eof_received(self) -> bool:
        if self.out is not None:
            self.out.source_done()
        else:
            self.early_eof = True
        return True  # keep the socket writable: the other link closes it

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.out is not None:
            self.out.source_done()
        if self.inn is not None:
            self.inn.dst_lost()
        if self.conn is not None:
            self.conn.side_lost()

    def pause_writing(self) -> None:
        if self.inn is not None:
            self.inn.dst_pause()

    def resume_writing(self) -> None:
        if self.inn is not None:
            self.inn.dst_resume()


class ClientSide(_Side):
    """Accepted client socket: creates the :class:`Connection` and dials upstream."""

    __slots__ = ("proxy",)

    def __init__(self, proxy: "Proxy") -> None:
        super().__init__(None)
        self.proxy = proxy

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.conn = Connection(self.proxy, self)


class Connection:
    """A client connection and its upstream connection, pumped by two half links."""

    __slots__ = ("proxy", "index", "client", "upstream", "links", "closed", "finished", "dial_task")

    def __init__(self, proxy: "Proxy", client: _Side) -> None:
        self.proxy = proxy
        self.index = proxy.next_connection_index()
        self.client = client
        self.upstream: _Side | None = None
        self.links: tuple[HalfLink, ...] = ()
        self.closed = False
        self.finished = False
        proxy.connections.add(self)
        self.dial_task: asyncio.Task | None = asyncio.get_running_loop().create_task(self._dial())

    async def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = self.proxy.upstream_target()
            _, up = await loop.create_connection(lambda: _Side(self), host, port)
        except asyncio.CancelledError:
            self._finish()
            raise
        except Exception as exc:  # refused, unresolvable, bad address: client sees EOF
            log.info("proxy %s: upstream %s unreachable: %s", self.proxy.name, self.proxy.upstream, exc)
            if not self.client.lost:
                self.client.transport.close()
            self._finish()
            return
        finally:
            self.dial_task = None
        if self.closed or self.client.lost:
            up.transport.abort()
            self._finish()
            return
        if up.lost:  # closed before we could wire it: behave like a failed dial
            self.client.transport.close()
            self._finish()
            return
        self.upstream = up
        up_link = HalfLink(self, Direction.UPSTREAM, self.client, up)
        down_link = HalfLink(self, Direction.DOWNSTREAM, up, self.client)
        self.client.out, self.client.inn = up_link, down_link
        up.out, up.inn = down_link, up_link
        self.links = (up_link, down_link)
        self.proxy.toxics.start_links(self.links)
        for side in (self.client, up):
            for chunk in side.early:
                side.out.feed(chunk)
            side.early.clear()
            if side.early_eof:
                side.out.source_done()
        for side in (self.client, up):
            if not side.out.paused:  # feeding the early data may have paused it
                side.transport.resume_reading()

    def side_lost(self) -> None:
        """A socket closed: the connection is finished once both are (or the dial failed)."""
        if self.dial_task is not None:
            return  # the dial finishes the connection itself
        if self.client.lost and (self.upstream is None or self.upstream.lost):
            self._finish()

    def abort(self) -> None:
        """Close both sockets now (proxy disabled or deleted): clients see EOF."""
        self.closed = True
        for side in (self.client, self.upstream):
            if side is not None and not side.lost and side.transport is not None:
                side.transport.abort()
        if self.dial_task is not None:
            self.dial_task.cancel()
        else:
            self._finish()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for link in self.links:
            link.kill()
        self.proxy.connection_finished(self)


class HalfLink:
    """One direction of one connection (Toxiproxy's ToxicLink)."""

    __slots__ = (
        "conn", "direction", "src", "dst", "stubs", "wrappers", "input", "output", "writer",
        "paused", "dst_paused", "drain", "src_done", "dst_dead", "dead", "want_fast",
        "received", "sent", "__weakref__",
    )  # fmt: skip

    def __init__(self, conn: Connection, direction: Direction, src: _Side, dst: _Side) -> None:
        self.conn = conn
        self.direction = direction
        self.src = src
        self.dst = dst
        self.stubs: list[Stub] | None = None  # None: fast path
        self.wrappers: list[Any] | None = None
        self.input: Channel | None = None
        self.output: Channel | None = None
        self.writer: asyncio.Task | None = None
        self.paused = 0
        self.dst_paused = False
        self.drain: asyncio.Future | None = None
        self.src_done = False
        self.dst_dead = False
        self.dead = False
        self.want_fast = False
        self.received = 0
        self.sent = 0

    # ------------------------------------------------------------------ start / mode
    def start(self, wrappers: list["ToxicWrapper"]) -> None:
        """Begin on the fast path, or with the toxic chain ``wrappers`` (in order)."""
        if wrappers:
            self._build(wrappers, at_start=True)

    def _build(self, wrappers: list[Any], *, at_start: bool) -> None:
        first = Channel(FIRST_CAP)
        first.on_space = self._on_space
        final = Channel(0)
        stubs = [Stub(first, final)]
        for w in wrappers:
            stubs.append(self._new_stub(w, final))
            stubs[-2].output = stubs[-1].input
        ws: list[Any] = [NOOP_WRAPPER, *wrappers]
        self.input, self.output, self.stubs, self.wrappers = first, final, stubs, ws
        for stub, w in zip(stubs, ws):
            if at_start and getattr(w.toxic, "resets_connection", False):
                self._linger0()
            self._run(stub, w)
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())
        self._resume(_PAUSE_DST)

    def _try_fast(self) -> bool:
        """Drop the (noop-only) chain once it is empty and idle; back to the fast path."""
        stubs = self.stubs
        if stubs is None or len(stubs) != 1 or self.dead or self.src_done:
            return False
        noop = stubs[0]
        out = self.output
        if self.input.items or out.items or out.closed or not noop.idle():  # type: ignore[union-attr]
            return False
        noop.task.cancel()  # type: ignore[union-attr]
        if self.writer is not None and self.writer is not asyncio.current_task():
            self.writer.cancel()
        self.stubs = self.wrappers = self.input = self.output = self.writer = None
        self.want_fast = False
        self._resume(_PAUSE_CHAN)
        if self.dst_paused:
            self._pause(_PAUSE_DST)
        return True

    def _new_stub(self, w: Any, out: Channel) -> Stub:
        """A stage for toxic ``w`` writing to ``out``: its own input queue, seeded
        generator and (for a stateful toxic) fresh per-connection state."""
        p = self.conn.proxy
        rng = p.seeder.rng(p.name, self.conn.index, str(self.direction), w.name, w.serial)
        stub = Stub(Channel(buffer_size_of(w.toxic)), out, rng)
        if hasattr(w.toxic, "new_state"):
            stub.state = w.toxic.new_state()
        return stub

    def _linger0(self) -> None:
        for side in (self.src, self.dst):
            try:
                side.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER0)
            except (OSError, AttributeError):  # pragma: no cover - closed under us
                pass

    def _run(self, stub: Stub, w: Any) -> None:
        if not self.dead:
            stub.task = asyncio.get_running_loop().create_task(self._stage(stub, w))

    async def _stage(self, stub: Stub, w: Any) -> None:
        toxic = w.toxic
        if w is not NOOP_WRAPPER and not stub.rng.random() < w.toxicity:
            toxic = _NOOP  # toxicity roll: once per connection and stage start
        try:
            await toxic.pipe(stub)
        except Interrupted:
            pass
        except Exception as exc:  # a toxic bug must not stall the connection
            self.conn.proxy.report_error(f"toxic {w.name!r} ({w.type}) failed: {exc!r}", exc)
            try:
                await _NOOP.pipe(stub)
            except Interrupted:
                pass

    # ------------------------------------------------------------------ source events
    def feed(self, data: bytes) -> None:
        """Data read from the source (hot path): write it through, or queue it in chunks."""
        n = len(data)
        self.received += n
        if self.stubs is None:
            if not self.dst_dead:
                self.dst.transport.write(data)
                self.sent += n
            return
        ch = self.input
        ts = monotonic()
        if n <= CHUNK:
            ch.push(Chunk(data, ts))  # type: ignore[union-attr]
        else:
            mv = memoryview(data)
            for off in range(0, n, CHUNK):
                ch.push(Chunk(mv[off : off + CHUNK], ts))  # type: ignore[union-attr]
        if len(ch.items) >= ch.cap:  # type: ignore[union-attr]
            self._pause(_PAUSE_CHAN)

    def source_done(self) -> None:
        """The source ended (EOF or lost): close the destination once the chain drains."""
        if self.src_done or self.dead:
            return
        self.src_done = True
        if self.stubs is None:
            self._close_dst()
        else:
            self.input.close()  # type: ignore[union-attr]

    def _on_space(self) -> None:
        if self.paused & _PAUSE_CHAN:
            self._resume(_PAUSE_CHAN)

    def _pause(self, bit: int) -> None:
        if not self.paused and not self.src.lost:
            try:
                self.src.transport.pause_reading()
            except Exception:  # pragma: no cover - transport closing
                pass
        self.paused |= bit

    def _resume(self, bit: int) -> None:
        if not self.paused & bit:
            return
        self.paused &= ~bit
        if not self.paused and not self.src.lost:
            try:
                self.src.transport.resume_reading()
            except Exception:  # pragma: no cover - transport closing
                pass

    # ------------------------------------------------------------------ destination events
    def dst_pause(self) -> None:
        """The destination's write buffer passed ``HIGH_WATER``: stop the writer, or the
        source itself on the fast path."""
        self.dst_paused = True
        if self.stubs is None:
            self._pause(_PAUSE_DST)

    def dst_resume(self) -> None:
        """The destination's write buffer drained: resume writing (and reading)."""
        self.dst_paused = False
        self._wake_writer()
        self._resume(_PAUSE_DST)

    def dst_lost(self) -> None:
        """The destination socket is gone: the writer stops writing and waiting."""
        self.dst_dead = True
        self._wake_writer()

    def _wake_writer(self) -> None:
        d = self.drain
        if d is not None and not d.done():
            d.set_result(None)

    def _close_dst(self) -> None:
        if not self.dst_dead and not self.dst.lost:
            self.dst.transport.close()

    async def _write_loop(self) -> None:
        out = self.output
        loop = asyncio.get_running_loop()
        while True:
            c = await out.get()  # type: ignore[union-attr]
            if c is None:
                break
            data = c.data
            if data and not self.dst_dead:
                self.dst.transport.write(data)
                self.sent += len(data)
                while self.dst_paused and not self.dst_dead:
                    self.drain = loop.create_future()
                    try:
                        await self.drain
                    finally:
                        self.drain = None
            if self.want_fast and self._try_fast():
                return
        self._close_dst()

    # ------------------------------------------------------------------ live toxic changes
    async def add_toxic(self, w: "ToxicWrapper") -> None:
        """Append a stage for ``w`` to the live chain (leaving the fast path if on it)."""
        if self.dead or self.src_done and self.stubs is None:
            return
        if self.stubs is None:
            self._build([w], at_start=False)
            return
        self.want_fast = False
        stubs, wrappers = self.stubs, self.wrappers
        i = len(stubs)
        new = self._new_stub(w, stubs[i - 1].output)
        stubs.append(new)
        wrappers.append(w)  # type: ignore[union-attr]
        if await stubs[i - 1].interrupt() and not self.dead:
            stubs[i - 1].output = new.input
            self._run(new, w)
            self._run(stubs[i - 1], wrappers[i - 1])  # type: ignore[index]
        else:  # the link already closed: make the new stage match
            new.output = new.input
            new.close()

    async def update_toxic(self, w: "ToxicWrapper") -> None:
        """Restart ``w``'s stage with its new attributes (its state and queue are kept)."""
        idx = self._index(w)
        if idx is None:
            return
        stub = self.stubs[idx]  # type: ignore[index]
        if await stub.interrupt() and not self.dead:
            self._run(stub, w)

    async def remove_toxic(self, w: "ToxicWrapper") -> None:
        """Take ``w``'s stage out of the live chain without dropping or reordering bytes."""
        idx = self._index(w)
        if idx is None:
            return
        stubs, wrappers = self.stubs, self.wrappers
        stub = stubs[idx]  # type: ignore[index]
        if not await stub.interrupt() or self.dead:
            return
        if isinstance(w.toxic, CleanupToxic):
            w.toxic.cleanup(stub)
            if stub.closed:  # e.g. timeout: the connection closes; leave the chain as is
                return
        prev = stubs[idx - 1]  # type: ignore[index]
        await self._unblock_and_interrupt(prev, stub)
        if stub.closed or self.dead:
            return
        while stub.input.items:  # empty the removed stage's buffer, in order
            stub.output.push(stub.input.pop())
        prev.output = stub.output
        del stubs[idx]  # type: ignore[union-attr]
        del wrappers[idx]  # type: ignore[union-attr]
        self._run(prev, wrappers[idx - 1])  # type: ignore[index]
        if len(stubs) == 1:  # type: ignore[arg-type]
            self.want_fast = True
            self._try_fast()

    async def _unblock_and_interrupt(self, prev: Stub, stub: Stub) -> None:
        """Interrupt ``prev`` while forwarding whatever it pushes into ``stub``'s input.

        If ``prev`` closed instead, keep flushing until the end of stream reaches us.
        """
        loop = asyncio.get_running_loop()
        stop = loop.create_task(prev.interrupt())
        inp = stub.input
        while True:
            if stop.done() and stop.result():
                return
            if not inp.readable():
                waiter = loop.create_task(inp.wait_readable())
                await asyncio.wait({waiter} if stop.done() else {waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                continue
            if not inp.items:  # closed and drained: propagate the end of stream
                stub.close()
                await asyncio.wait({stop})
                return
            stub.output.push(inp.pop())

    def _index(self, w: Any) -> int | None:
        if self.dead or self.wrappers is None:
            return None
        for i, x in enumerate(self.wrappers):
            if x is w:
                return i
        return None

    # ------------------------------------------------------------------ teardown
    def kill(self) -> None:
        """Cancel every task of this link (connection gone); record its byte counts."""
        if self.dead:
            return
        self.dead = True
        for stub in self.stubs or ():
            if stub.task is not None:
                stub.task.cancel()
        if self.writer is not None:
            self.writer.cancel()
        self.conn.proxy.link_finished(self)
