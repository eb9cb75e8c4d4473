"""Helpers shared by the fault-proxy tests (imported by conftest and the test modules)."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import uuid
from typing import Any

import pytest
import requests

TOXIPROXY_URL = os.environ.get("TOXIPROXY_URL", "").rstrip("/")
REAL = bool(TOXIPROXY_URL)

ours_only = pytest.mark.skipif(REAL, reason="checks our server only (TOXIPROXY_URL is set)")
#: Timing tolerance (s) per direction, as in Toxiproxy's own tests.
TOL = 0.010
#: The seed of our session server (conftest ``proxy_server``): its random choices are known.
SEED = 20260101


class Api:
    """A thin client over ``requests`` that deletes what it created."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.s = requests.Session()
        self.s.headers["User-Agent"] = "chaos-harness-tests"
        self.created: set[str] = set()

    def req(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, **kw: Any) -> requests.Response:
        if raw is not None:
            kw["data"] = raw
        elif body is not None:
            kw["json"] = body
        return self.s.request(method, self.url + path, timeout=30, **kw)

    def get(self, path: str) -> requests.Response:
        return self.req("GET", path)

    def name(self, prefix: str = "t") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    def create(self, upstream: str, name: str | None = None, listen: str = "127.0.0.1:0", **extra: Any) -> dict:
        name = name or self.name()
        r = self.req("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream, **extra})
        assert r.status_code == 201, r.text
        self.created.add(name)
        return r.json()

    def toxic(self, proxy: str, type: str, *, stream: str | None = None, name: str | None = None,
              toxicity: float | None = None, **attributes: int) -> dict:  # fmt: skip
        body: dict[str, Any] = {"type": type, "attributes": attributes}
        if stream is not None:
            body["stream"] = stream
        if name is not None:
            body["name"] = name
        if toxicity is not None:
            body["toxicity"] = toxicity
        r = self.req("POST", f"/proxies/{proxy}/toxics", body)
        assert r.status_code == 200, r.text
        return r.json()

    def update_toxic(self, proxy: str, toxic: str, body: dict) -> dict:
        r = self.req("PATCH", f"/proxies/{proxy}/toxics/{toxic}", body)
        assert r.status_code == 200, r.text
        return r.json()

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        r = self.req("DELETE", f"/proxies/{proxy}/toxics/{toxic}")
        assert r.status_code == 204, r.text

    def set_enabled(self, proxy: str, enabled: bool) -> dict:
        r = self.req("PATCH", f"/proxies/{proxy}", {"enabled": enabled})
        assert r.status_code == 200, r.text
        return r.json()

    def cleanup(self) -> None:
        for name in self.created:
            self.s.delete(f"{self.url}/proxies/{name}", timeout=30)
        self.created.clear()
        self.s.close()


class Upstream:
    """A loopback TCP server. ``echo=True`` echoes; otherwise tests drive accepted sockets."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.accepted: queue.Queue[socket.socket] = queue.Queue()
        self._all: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self._all.append(c)
            if self.echo:
                threading.Thread(target=self._echo, args=(c,), daemon=True).start()
            else:
                self.accepted.put(c)

    @staticmethod
    def _echo(c: socket.socket) -> None:
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()

    def accept(self, timeout: float = 2.0) -> socket.socket:
        c = self.accepted.get(timeout=timeout)
        c.settimeout(5)
        return c

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for c in self._all:
            try:
                c.close()
            except OSError:
                pass


# ---------------------------------------------------------------------- helpers


def hostport(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def connect(listen: str, timeout: float = 5.0) -> socket.socket:
    c = socket.create_connection(hostport(listen), timeout=timeout)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def recv_exactly(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += d
    return bytes(buf)


def recv_all(s: socket.socket, limit: int = 1 << 24) -> bytes:
    """Everything until EOF (bounded by the socket timeout and ``limit``)."""
    buf = bytearray()
    while len(buf) < limit:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return bytes(buf)


def wait_eof(s: socket.socket, timeout: float = 2.0) -> float:
    """Seconds until EOF (data is discarded). Raises on timeout."""
    s.settimeout(timeout)
    t = time.monotonic()
    while s.recv(65536):
        pass
    return time.monotonic() - t


def echo_rtt(s: socket.socket, payload: bytes = b"ping") -> float:
    """One round trip through an echo upstream; fails unless ``payload`` comes back intact."""
    __tracebackhide__ = True
    t = time.monotonic()
    s.sendall(payload)
    got = recv_exactly(s, len(payload))
    took = time.monotonic() - t
    assert got == payload, f"echoed {got[:40]!r}, sent {payload[:40]!r}"
    return took


def assert_forwards(listen: str, payload: bytes = b"ping") -> None:
    """A fresh connection to ``listen`` gets ``payload`` echoed back (the proxy forwards)."""
    __tracebackhide__ = True
    with connect(listen) as c:
        echo_rtt(c, payload)


def assert_delta(name: str, actual: float, expected: float, delta: float) -> None:
    """Toxiproxy's ``AssertDeltaTime``: |actual - expected| <= delta (seconds)."""
    __tracebackhide__ = True
    if abs(actual - expected) > delta:
        raise AssertionError(f"{name}: took {actual * 1000:.1f} ms, expected {expected * 1000:.1f} ± {delta * 1000:.1f} ms")


def port_refuses(listen: str) -> bool:
    try:
        socket.create_connection(hostport(listen), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_until(pred: Any, timeout: float = 2.0, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
