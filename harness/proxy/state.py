"""Proxies, their toxic collections and the proxy collection (the server's state).

Mirrors Toxiproxy's ``proxy.go``, ``toxic_collection.go`` and ``proxy_collection.go``.
Everything runs on one event loop; locks only serialise API operations that await
(binding, interrupting live links): one lock for the collection, one per proxy.
Lock order: the collection's, then a proxy's, never the reverse. Whatever stops or
starts a proxy already in the collection holds that proxy's lock (the final
``close()`` aside).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, AsyncIterator, Iterable

from .addr import AddrError, bind_listener, parse_port, resolve_tcp, split_host_port, BACKLOG
from .errors import ERR_PROXY_ALREADY_STARTED, ERR_PROXY_EXISTS, ERR_PROXY_NOT_FOUND, ApiError
from .link import ClientSide, Connection, Direction, HalfLink
from .metrics import Metrics
from .seeding import Seeder

__all__ = ["ServerContext", "ToxicWrapper", "ToxicCollection", "Proxy", "ProxyCollection"]

log = logging.getLogger("harness.proxy")


class ServerContext:
    """What every proxy shares: seed, metrics, the default listen host, error log."""

    def __init__(self, *, seed: int | None = None, default_host: str = "127.0.0.1", metrics: Metrics | None = None):
        self.seeder = Seeder(seed)
        self.default_host = default_host
        self.metrics = metrics or Metrics()
        #: Unexpected internal errors (toxic bugs, handler crashes), newest last.
        self.errors: deque[str] = deque(maxlen=100)

    def report_error(self, message: str, exc: BaseException | None = None) -> None:
        self.errors.append(message)
        log.error("%s", message, exc_info=exc)


class ToxicWrapper:
    """A toxic as the API sees it: common fields around the typed toxic (``ToxicWrapper``)."""

    __slots__ = ("name", "type", "stream", "direction", "toxicity", "toxic", "serial")

    def __init__(self, *, name: str, type: str, stream: str, direction: Direction, toxicity: float, toxic: Any, serial: int):
        self.name = name
        self.type = type
        #: As sent by the client (case kept: "UpStream" is echoed as such).
        self.stream = stream
        self.direction = direction
        self.toxicity = toxicity
        self.toxic = toxic
        self.serial = serial

    def __repr__(self) -> str:
        return f"<ToxicWrapper {self.name} {self.type} {self.direction} {self.toxic}>"


class ToxicCollection:
    """The toxic chains of one proxy and the live links they apply to."""

    def __init__(self, proxy: "Proxy") -> None:
        self.proxy = proxy
        #: Per direction, in chain order; the hidden noop is not listed.
        self.chain: tuple[list[ToxicWrapper], list[ToxicWrapper]] = ([], [])
        self.links: set[HalfLink] = set()
        self._serial = 0

    def all(self) -> list[ToxicWrapper]:
        """Upstream toxics in chain order, then downstream ones (the API order)."""
        return self.chain[Direction.UPSTREAM] + self.chain[Direction.DOWNSTREAM]

    def find(self, name: str) -> ToxicWrapper | None:
        for w in self.all():
            if w.name == name:
                return w
        return None

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def start_links(self, links: Iterable[HalfLink]) -> None:
        for link in links:
            self.links.add(link)
            link.start(list(self.chain[link.direction]))

    async def _each_link(self, direction: Direction, op: str, w: ToxicWrapper) -> None:
        links = [link for link in self.links if link.direction == direction]
        if not links:
            return
        results = await asyncio.gather(*(getattr(link, op)(w) for link in links), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                self.proxy.ctx.report_error(f"{op} {w.name!r} on a live link failed: {r!r}", r)

    async def add(self, w: ToxicWrapper) -> None:
        self.chain[w.direction].append(w)
        await self._each_link(w.direction, "add_toxic", w)

    async def update(self, w: ToxicWrapper, toxic: Any, toxicity: float) -> None:
        w.toxic = toxic
        w.toxicity = toxicity
        await self._each_link(w.direction, "update_toxic", w)

    async def remove(self, w: ToxicWrapper) -> None:
        chain = self.chain[w.direction]
        for i, x in enumerate(chain):
            if x is w:
                del chain[i]
                break
        else:
            return
        await self._each_link(w.direction, "remove_toxic", w)

    async def reset(self) -> None:
        for chain in self.chain:
            while chain:
                await self.remove(chain[0])


class Proxy:
    """One listener forwarding every accepted connection to ``upstream``."""

    def __init__(self, ctx: ServerContext, name: str, listen: str, upstream: str) -> None:
        self.ctx = ctx
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics = ToxicCollection(self)
        self.connections: set[Connection] = set()
        self.lock = asyncio.Lock()
        self._server: asyncio.AbstractServer | None = None
        self._next_index = 0

    @property
    def seeder(self) -> Seeder:
        return self.ctx.seeder

    def __repr__(self) -> str:
        return f"<Proxy {self.name} {self.listen} -> {self.upstream} enabled={self.enabled}>"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind ``listen`` and accept; ``listen`` becomes the real bound address."""
        if self.enabled:
            raise ERR_PROXY_ALREADY_STARTED
        sock, bound = await bind_listener(self.listen, default_host=self.ctx.default_host)
        try:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(lambda: ClientSide(self), sock=sock, backlog=BACKLOG)
        except BaseException:
            sock.close()
            raise
        self.listen = bound
        self.enabled = True
        log.info("proxy %s listening on %s -> %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Close the listener and every connection (clients see EOF). Idempotent."""
        if not self.enabled:
            return
        self.enabled = False
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.abort()
        log.info("proxy %s stopped", self.name)

    async def differs(self, listen: str, upstream: str) -> bool:
        """Go's ``Differs``: listen compared after resolution, upstream verbatim."""
        try:
            resolved = await resolve_tcp(listen)
        except AddrError as exc:
            raise ApiError(str(exc), 500) from None
        return not (self.listen == resolved and self.upstream == upstream)

    async def update(self, *, listen: str, upstream: str, enabled: bool) -> None:
        if await self.differs(listen, upstream):
            self.stop()
            self.listen = listen
            self.upstream = upstream
        if enabled != self.enabled:
            if enabled:
                await self.start()
            else:
                self.stop()

    # ------------------------------------------------------------------ used by links
    def upstream_target(self) -> tuple[str, int]:
        host, port = split_host_port(self.upstream)
        return host or "127.0.0.1", parse_port(port)

    def next_connection_index(self) -> int:
        self._next_index += 1
        return self._next_index - 1

    def connection_finished(self, conn: Connection) -> None:
        self.connections.discard(conn)

    def link_finished(self, link: HalfLink) -> None:
        self.toxics.links.discard(link)
        self.ctx.metrics.link_ended((str(link.direction), self.listen, self.name, self.upstream), link.received, link.sent)

    def report_error(self, message: str, exc: BaseException | None = None) -> None:
        self.ctx.report_error(f"proxy {self.name}: {message}", exc)


class ProxyCollection:
    """All proxies by name."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise ERR_PROXY_NOT_FOUND from None

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Proxy]:
        """The proxy ``name`` with its lock held; 404 if it was removed or replaced
        while we waited for the lock.

        Why: an update that waited behind a ``DELETE`` (or a populate replacing the
        proxy) would otherwise start a proxy no longer in the collection, leaving a
        listener that nothing can stop.
        """
        proxy = self.get(name)
        async with proxy.lock:
            if self.proxies.get(name) is not proxy:
                raise ERR_PROXY_NOT_FOUND
            yield proxy

    def sorted(self) -> list[Proxy]:
        return [self.proxies[k] for k in sorted(self.proxies)]

    async def add(self, proxy: Proxy, start: bool) -> None:
        async with self.lock:
            if proxy.name in self.proxies:
                raise ERR_PROXY_EXISTS
            if start:
                await proxy.start()
            self.proxies[proxy.name] = proxy

    async def populate(self, entries: list[tuple[str, str, str, bool]]) -> tuple[list[Proxy], ApiError | None]:
        """``AddOrReplace`` each entry in order; stop at the first failure.

        Returns the proxies processed so far and the error, if any (they stay).
        """
        done: list[Proxy] = []
        async with self.lock:
            for name, listen, upstream, enabled in entries:
                try:
                    existing = self.proxies.get(name)
                    if existing is not None:
                        async with existing.lock:  # let a running update finish first
                            if not await existing.differs(listen, upstream):
                                done.append(existing)
                                continue
                            existing.stop()
                    proxy = Proxy(self.ctx, name, listen, upstream)
                    if enabled:
                        await proxy.start()
                    self.proxies[name] = proxy
                    done.append(proxy)
                except ApiError as exc:
                    return done, exc
        return done, None

    async def remove(self, name: str) -> None:
        async with self.lock:
            proxy = self.get(name)
            async with proxy.lock:  # let a running update finish, then stop what it started
                proxy.stop()
            del self.proxies[name]

    async def reset(self) -> None:
        """Start every disabled proxy, then remove all toxics (``POST /reset``)."""
        async with self.lock:
            for proxy in self.sorted():
                async with proxy.lock:
                    if not proxy.enabled:
                        await proxy.start()
                    await proxy.toxics.reset()

    def close(self) -> None:
        for proxy in list(self.proxies.values()):
            proxy.stop()
