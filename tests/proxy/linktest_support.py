"""Helpers of the data-path tests (test_toxics.py, test_link.py): connections, payloads
and Toxiproxy's ``AssertDeltaTime`` made robust to a busy 2-core machine.

Those tests drive real sockets on 127.0.0.1 through the proxy and assert on what a
client or upstream observes: bytes, EOF, RST, and elapsed time with Toxiproxy's own
tolerance (``TOL`` = 10 ms per direction; a few assertions use 2*TOL where two timers
and two threads are involved on a 2-core machine). No decision rests on one timed
sample of a busy machine:

* a tolerance check measures quantities that scheduling noise can only make *larger*
  (a delay, the size of a read that swallowed two pieces) and judges the smallest over
  a few repeats (:func:`settle`, :func:`settle_many`); the tolerance is not widened;
* whether a toxic applied to a connection is told by a latency so large that noise
  cannot fake or hide it (:func:`delayed`: 500 ms against a 250 ms bound), and on our
  server also by the seed's known rolls (:func:`seeded_rolls`);
* "it did not hang" checks use bounds seconds away from what a hang would take.

They run against a real Toxiproxy too (``TOXIPROXY_URL``); our deliberate deviations
(and the seed) are ``ours_only``. ``scripts/stress-test.sh`` runs them under a CPU burner.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from proxytest_support import SEED, TOL, Api, Upstream, connect, echo_rtt

MS = 0.001
#: The most times a timed measurement is taken (a repeat only follows a late sample).
TRIES = 10
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


def settle_many(name: str, measure: Callable[[], dict[str, float]], limits: dict[str, tuple[float, float]],
                tries: int = TRIES) -> None:
    """Judge each timed quantity by its smallest value over a few repeats.

    ``measure()`` makes its noise-proof assertions (bytes, order, EOF) at once and
    returns ``{label: value}`` for quantities that scheduling noise can only make
    larger; ``limits`` gives each label's ``(lo, hi)``. A late sample is measured again
    (each ``measure()`` uses a fresh connection) until one has every value within its
    ``hi``; then each label's smallest value must lie in ``[lo, hi]``. The limits are
    not widened, and a value below ``lo`` (too early) fails whatever the repeats.
    """
    __tracebackhide__ = True
    samples: list[dict[str, float]] = []
    while len(samples) < tries:
        samples.append(measure())
        if all(samples[-1][label] <= hi for label, (_, hi) in limits.items()):
            break
    for label, (lo, hi) in limits.items():
        values = [sample[label] for sample in samples]
        if not lo <= min(values) <= hi:
            show = (lambda v: f"{v:g}") if label.endswith("(B)") else (lambda v: f"{v * 1000:.1f} ms")
            raise AssertionError(f"{name}: {label} was {show(min(values))}, expected {show(lo)}..{show(hi)} "
                                 f"(best of {[show(v) for v in values]})")


def settle(name: str, measure: Callable[[], float], expected: float, tol: float = TOL, tries: int = TRIES) -> None:
    """Toxiproxy's ``AssertDeltaTime`` (|elapsed - expected| <= tol) on the best of a few
    ``measure()`` s (see :func:`settle_many`)."""
    __tracebackhide__ = True
    settle_many(name, lambda: {"elapsed": measure()}, {"elapsed": (expected - tol, expected + tol)}, tries)


#: The latency that tells a toxic connection from a clean one, and the bound a clean
#: round trip stays under: noise would have to add 250 ms to blur the two.
TELL_LATENCY_MS = 500
CLEAN_BOUND = TELL_LATENCY_MS / 2000


def delayed(rtt: float) -> bool:
    """Was this round trip delayed by a ``TELL_LATENCY_MS`` latency toxic? Fails when
    it is neither clearly clean nor clearly delayed."""
    __tracebackhide__ = True
    if rtt >= TELL_LATENCY_MS * MS - EARLY:
        return True
    assert rtt < CLEAN_BOUND, f"a round trip took {rtt * 1000:.0f} ms: neither clean nor {TELL_LATENCY_MS} ms late"
    return False


def parallel_rtts(listen: str, connections: int, echoes: int) -> list[list[float]]:
    """Open ``connections`` connections one after another, then run ``echoes`` round
    trips on every one of them at once; each connection's round trips, in opening order."""
    socks = [connect(listen, timeout=10) for _ in range(connections)]
    try:
        workers = [in_thread(lambda s=s: [echo_rtt(s) for _ in range(echoes)]) for s in socks]
        return [result(t, box) for t, box in workers]
    finally:
        for s in socks:
            s.close()


def _stage_rng(seed: int, proxy: str, index: int, stream: str, toxic: str, serial: int) -> Any:
    """The generator our server gives toxic number ``serial`` (per proxy, from 1) on the
    proxy's connection ``index`` (from 0), after its toxicity roll (drawn first)."""
    from harness.proxy.seeding import Seeder

    rng = Seeder(seed).rng(proxy, index, stream, toxic, serial)
    rng.random()
    return rng


def seeded_rolls(proxy: str, toxic: str, toxicity: float, connections: int, *, seed: int = SEED,
                 stream: str = "downstream", serial: int = 1) -> list[bool]:
    """Our server's toxicity rolls for the first ``connections`` connections of a proxy
    (the seed makes them known in advance)."""
    from harness.proxy.seeding import Seeder

    return [Seeder(seed).rng(proxy, index, stream, toxic, serial).random() < toxicity
            for index in range(connections)]


def seeded_delays(proxy: str, toxic: str, latency: int, jitter: int, chunks: int, *, seed: int = SEED,
                  stream: str = "downstream", serial: int = 1) -> list[float]:
    """The delays (s) our latency toxic draws for the first ``chunks`` chunks of a
    proxy's first connection."""
    from harness.proxy.toxics.latency import LatencyToxic

    rng = _stage_rng(seed, proxy, 0, stream, toxic, serial)
    return [LatencyToxic(latency=latency, jitter=jitter).delay(rng) for _ in range(chunks)]


def seeded_cuts(proxy: str, toxic: str, size: int, average_size: int, size_variation: int, index: int, *,
                seed: int = SEED, stream: str = "downstream", serial: int = 1) -> list[int]:
    """Where our slicer cuts a ``size``-byte chunk, the first on connection ``index``."""
    from harness.proxy.toxics.slicer import SlicerToxic

    rng = _stage_rng(seed, proxy, index, stream, toxic, serial)
    return SlicerToxic(average_size=average_size, size_variation=size_variation).cuts(size, rng)


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
