"""Ties the pieces together: :class:`ProxyServer`, the CLI and a thread runner.

Phases of a server's life, in order: bind the API socket -> populate ``--config`` (errors
are only logged, as in ``toxiproxy-server``) -> serve -> on SIGINT/SIGTERM or
``stop()``: close the API, stop every proxy (closing all its connections).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import signal
import sys
import threading
from typing import Any

from .addr import is_loopback_host, join_host_port
from .api import VERSION, Api
from .errors import ApiError
from .httpserver import HttpServer
from .metrics import Metrics
from .schemas import parse_populate
from .state import ProxyCollection, ServerContext

__all__ = ["ProxyServer", "ProxyServerHandle", "serve_main", "run_in_thread", "new_event_loop"]

log = logging.getLogger("harness.proxy")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is importable, else the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ProxyServer:
    """The API server and its proxies, on the running event loop.

    Example::

        server = ProxyServer(seed=7)
        host, port = await server.start("127.0.0.1", 0)
        ...
        await server.close()
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        proxy_metrics: bool = False,
        runtime_metrics: bool = False,
        default_proxy_host: str | None = None,
    ) -> None:
        self._seed = seed
        self._metrics = Metrics(proxy_metrics=proxy_metrics, runtime_metrics=runtime_metrics)
        self._default_proxy_host = default_proxy_host
        self.ctx: ServerContext | None = None
        self.collection: ProxyCollection | None = None
        self.http: HttpServer | None = None
        self.host = ""
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 8474) -> tuple[str, int]:
        # An empty proxy listen host binds loopback when the API itself is on loopback
        # (safe by default); otherwise every interface, like Toxiproxy.
        default = self._default_proxy_host
        if default is None:
            default = "127.0.0.1" if is_loopback_host(host) else ""
        self.ctx = ServerContext(seed=self._seed, default_host=default, metrics=self._metrics)
        self.collection = ProxyCollection(self.ctx)
        self.http = HttpServer(Api(self.collection, self.ctx))
        self.host, self.port = await self.http.start(host, port)
        return self.host, self.port

    @property
    def url(self) -> str:
        return "http://" + join_host_port(self.host, self.port)

    @property
    def seed(self) -> int:
        assert self.ctx is not None
        return self.ctx.seeder.seed

    async def populate_file(self, path: str) -> None:
        """``-config FILE``: populate like ``POST /populate``; failures are logged."""
        assert self.collection is not None
        try:
            with open(path, "rb") as f:
                entries = parse_populate(f.read())
        except OSError as exc:
            log.error("config %s: %s", path, exc)
            return
        except ApiError as exc:
            log.error("config %s: %s", path, exc.message)
            return
        done, err = await self.collection.populate(entries)
        log.info("config %s: populated %d proxies", path, len(done))
        if err is not None:
            log.error("config %s: %s", path, err.message)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.collection is not None:
            self.collection.close()
        await asyncio.sleep(0)  # let connection_lost callbacks run


# ---------------------------------------------------------------------- CLI

_BOOL_FLAGS = ("proxy-metrics", "runtime-metrics", "version", "help")


def _normalise(argv: list[str]) -> list[str]:
    """Accept Go-style ``-port 8474`` / ``-port=8474`` / ``-proxy-metrics=true`` too."""
    out = []
    for arg in argv:
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and arg[1].isalpha():
            arg = "-" + arg
        name, eq, value = arg.partition("=")
        if eq and name[2:] in _BOOL_FLAGS:
            if value.lower() in ("1", "t", "true"):
                out.append(name)
            continue
        out.append(arg)
    return out


def _port(text: str) -> int:
    """``--port``: 0-65535 (the resolver would silently take 99999 as 34463)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= port <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"invalid port {text}: must be 0-65535")
    return port


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m harness.proxy",
        description="Toxiproxy-API-compatible fault proxy (behaves like toxiproxy-server 2.12.0).",
    )
    p.add_argument("--host", default="127.0.0.1", help="API host (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8474, help="API port; 0 picks a free one (default 8474)")
    p.add_argument("--config", help="JSON file of proxies to populate at startup")
    p.add_argument("--seed", type=int, help="seed every random choice (toxicity, jitter, slicer)")
    p.add_argument("--proxy-metrics", action="store_true", help="serve /metrics with proxy byte counters")
    p.add_argument("--runtime-metrics", action="store_true", help="serve /metrics with process metrics")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _raise_fd_limit() -> None:
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # pragma: no cover - not permitted
        pass


def _configure_logging() -> None:
    level = os.environ.get("LOG_LEVEL", "info").upper()
    level = {"TRACE": "DEBUG", "PANIC": "CRITICAL", "FATAL": "CRITICAL", "WARN": "WARNING"}.get(level, level)
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        stream=sys.stderr,
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}',
    )


def serve_main(argv: list[str] | None = None) -> int:
    """Run the API server in the foreground until SIGINT/SIGTERM; returns an exit code."""
    args = _parser().parse_args(_normalise(list(sys.argv[1:] if argv is None else argv)))
    if args.version:
        print(f"toxiproxy-server version {VERSION}")
        return 0
    _configure_logging()
    _raise_fd_limit()
    server = ProxyServer(seed=args.seed, proxy_metrics=args.proxy_metrics, runtime_metrics=args.runtime_metrics)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        try:
            host, port = await server.start(args.host, args.port)
        except OSError as exc:
            print(f"listen tcp {join_host_port(args.host, args.port)}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if args.config:
            await server.populate_file(args.config)
        print(f"listening on {server.url}", flush=True)
        log.info("API HTTP server starting on %s (seed %d)", server.url, server.seed)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not main thread
                pass
        await stop.wait()
        log.info("shutting down")
        await server.close()
        return 0

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main())


# ---------------------------------------------------------------------- thread runner


class ProxyServerHandle:
    """A server running on its own event loop in a background thread.

    Example::

        with run_in_thread(seed=1) as srv:
            requests.get(srv.url + "/version")
    """

    def __init__(self, server: ProxyServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.server = server
        self.loop = loop
        self._thread = thread
        self.host = server.host
        self.port = server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def errors(self) -> list[str]:
        """Unexpected internal errors recorded by the server (empty when healthy)."""
        assert self.server.ctx is not None
        return list(self.server.ctx.errors)

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self.server.close(), timeout)
        except Exception:  # pragma: no cover - loop already gone
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> "ProxyServerHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(host: str = "127.0.0.1", port: int = 0, seed: int | None = None, **options: Any) -> ProxyServerHandle:
    """Start a :class:`ProxyServer` in a daemon thread; return once it is listening."""
    server = ProxyServer(seed=seed, **options)
    loop = new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start(host, port))
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name=f"harness-proxy-{port}", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        raise failure[0]
    return ProxyServerHandle(server, loop, thread)
