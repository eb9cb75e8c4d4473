"""Helpers of the data-path tests (test_toxics.py, test_link.py): connections, payloads
and Toxiproxy's ``AssertDeltaTime`` made robust to a busy 2-core machine.

Those tests drive real sockets on 127.0.0.1 through the proxy and assert on what a
client or upstream observes: bytes, EOF, RST, and elapsed time with Toxiproxy's own
tolerance (``TOL`` = 10 ms per direction; a few assertions use 2*TOL where two timers
and two threads are involved on a 2-core machine). Timing tests take the best of a few
tries (:func:`settle`) where a late scheduler tick can only make a sample *slower*, so
they stay strict about the value the feature must produce. They run against a real
Toxiproxy too (``TOXIPROXY_URL``); our deliberate deviations are ``ours_only``.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from proxytest_support import TOL, Api, Upstream, assert_delta, connect, echo_rtt

MS = 0.001
#: How early a timed event may come: timers fire on a 1 ms clock, and our start
#: mark precedes the proxy's read of the first byte (so this only absorbs rounding).
EARLY = 0.003


# ---------------------------------------------------------------------- helpers


def proxy_to(api: Api, up: Upstream | str) -> tuple[str, str]:
    """Create a proxy to ``up``; return (name, listen)."""
    p = api.create(up if isinstance(up, str) else up.addr)
    return p["name"], p["listen"]


def pair(listen: str, up: Upstream) -> tuple[socket.socket, socket.socket]:
    """A client connected through the proxy and the upstream's side of it."""
    c = connect(listen)
    return c, up.accept()


def pattern(n: int, salt: int = 0) -> bytes:
    """``n`` bytes that reveal loss and reordering (a position-dependent pattern)."""
    block = bytes((i * 7 + salt + i // 251) & 0xFF for i in range(65536))
    return (block * (n // len(block) + 1))[:n]


def best_rtt(s: socket.socket, tries: int = 3, payload: bytes = b"ping") -> float:
    """Smallest of a few echo round trips (scheduler noise only ever adds time)."""
    return min(echo_rtt(s, payload) for _ in range(tries))


def still_open(s: socket.socket, wait: float = 0.3) -> bool:
    """True when nothing (no data, no EOF, no RST) arrives within ``wait``."""
    s.settimeout(wait)
    try:
        d = s.recv(65536)
    except socket.timeout:
        return True
    finally:
        s.settimeout(5)
    raise AssertionError(f"expected silence, got {'EOF' if not d else repr(d[:40])}")


def recv_reads(s: socket.socket, n: int, timeout: float = 5.0) -> list[tuple[float, bytes]]:
    """Read ``n`` bytes; return each recv's (monotonic time, data)."""
    s.settimeout(timeout)
    out, got = [], 0
    while got < n:
        d = s.recv(65536)
        if not d:
            raise EOFError(f"EOF after {got} of {n} bytes")
        out.append((time.monotonic(), d))
        got += len(d)
    return out


def expect_reset(s: socket.socket, timeout: float = 2.0) -> float:
    """Seconds until the socket reports ECONNRESET (an RST); fails on a plain EOF."""
    s.settimeout(timeout)
    t = time.monotonic()
    try:
        while True:
            if not s.recv(65536):
                raise AssertionError("got a normal EOF (FIN), expected a TCP RST")
    except ConnectionResetError:
        return time.monotonic() - t


def settle(name: str, measure: Callable[[], float], expected: float, tol: float = TOL, tries: int = 3) -> None:
    """Toxiproxy's ``AssertDeltaTime`` made robust to a busy machine.

    Scheduling noise only ever makes a timed event *later*, so a late sample is
    measured again (each ``measure()`` uses a fresh connection) and the smallest is
    judged; an early or in-range sample ends the loop. The tolerance is not widened.
    """
    __tracebackhide__ = True
    samples: list[float] = []
    while len(samples) < tries:
        samples.append(measure())
        if samples[-1] <= expected + tol:
            break
    assert_delta(f"{name} (samples {[round(x * 1000, 1) for x in samples]} ms)", min(samples), expected, tol)


def assert_within(name: str, actual: float, lo: float, hi: float) -> None:
    __tracebackhide__ = True
    if not lo <= actual <= hi:
        raise AssertionError(f"{name}: took {actual * 1000:.1f} ms, expected {lo * 1000:.1f}..{hi * 1000:.1f} ms")


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # re-raised by the test via the box
            box.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def result(t: threading.Thread, box: list[Any], timeout: float = 30.0) -> Any:
    t.join(timeout)
    assert not t.is_alive(), "worker thread did not finish in time"
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


STREAMS = ["upstream", "downstream"]


def one_way(listen: str, up: Upstream, stream: str) -> tuple[socket.socket, socket.socket]:
    """(sender, receiver) for data flowing in ``stream`` through a fresh connection."""
    c, u = pair(listen, up)
    return (c, u) if stream == "upstream" else (u, c)


def timed_transfer(sender: socket.socket, receiver: socket.socket, data: bytes) -> list[tuple[float, bytes]]:
    """Send ``data`` from a thread; return the receiver's timed reads (t relative to start)."""
    t0 = time.monotonic()
    th, box = in_thread(lambda: sender.sendall(data))
    reads = recv_reads(receiver, len(data))
    result(th, box)
    return [(t - t0, d) for t, d in reads]
