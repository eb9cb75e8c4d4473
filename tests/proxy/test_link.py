"""Link plumbing conformance (spec §3, §4.3-§4.5, §8): connections, toxicity, live
toxic changes and chains, as a client or upstream observes them (see linktest_support.py)."""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest

from proxytest_support import (
    REAL,
    TOL,
    Api,
    Upstream,
    connect,
    echo_rtt,
    port_refuses,
    recv_all,
    recv_exactly,
    wait_eof,
)
from linktest_support import (
    EARLY,
    STREAMS,
    TELL_LATENCY_MS,
    delayed,
    expect_reset,
    in_thread,
    one_way,
    pair,
    parallel_rtts,
    pattern,
    proxy_to,
    result,
    seeded_rolls,
    settle,
    timed_transfer,
)


# ---------------------------------------------------------------------- plumbing (§3, §8)


def test_plumbing_messages_pass_intact(api: Api, echo: Upstream) -> None:
    _, listen = proxy_to(api, echo)
    with connect(listen) as c:
        c.sendall(b"hello world")
        assert recv_exactly(c, 11) == b"hello world"
        big = pattern(64 * 1024)
        c.sendall(big)
        assert recv_exactly(c, len(big)) == big
        c.sendall(b"two ")
        time.sleep(0.02)
        c.sendall(b"parts")
        assert recv_exactly(c, 9) == b"two parts"


def test_upstream_down_gives_eof_quickly(api: Api) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()  # nothing listens there now
    _, listen = proxy_to(api, dead)
    with connect(listen) as c:
        assert wait_eof(c, 2.0) < 0.5


def test_client_shut_wr_loses_the_reply(api: Api, upstream: Upstream) -> None:
    """§3.2: no half-close. After the client's FIN the proxy closes both sockets."""
    _, listen = proxy_to(api, upstream)
    c, u = pair(listen, upstream)
    with c, u:
        c.sendall(b"request")
        assert recv_exactly(u, 7) == b"request"
        c.shutdown(socket.SHUT_WR)
        assert wait_eof(u, 2.0) < 0.5  # the upstream sees the end of the stream
        try:
            u.sendall(b"late reply")  # the proxy has fully closed its upstream socket
        except OSError:
            pass
        c.settimeout(2)
        assert recv_all(c) == b""


def test_upstream_shut_wr_closes_client_fully(api: Api, upstream: Upstream) -> None:
    _, listen = proxy_to(api, upstream)
    c, u = pair(listen, upstream)
    with c, u:
        u.sendall(b"bye")
        u.shutdown(socket.SHUT_WR)
        c.settimeout(2)
        assert recv_all(c) == b"bye"  # data first, then EOF
        try:
            c.sendall(b"too late")  # a half-closing proxy would still forward this
        except OSError:
            pass
        u.settimeout(2)
        assert recv_all(u) == b""  # nothing arrives; the proxy closed this socket too


def test_enabled_false_closes_refuses_and_keeps_toxics(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", latency=60)
    with connect(listen) as c:
        assert echo_rtt(c) >= 0.06 - EARLY
        api.set_enabled(name, False)
        assert wait_eof(c, 2.0) < 0.5
    assert port_refuses(listen)
    back = api.set_enabled(name, True)
    assert back["listen"] == listen  # the same resolved address again
    with connect(listen) as c:
        settle("latency after re-enable", lambda: echo_rtt(c), 0.06)


def test_delete_closes_connections(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    with connect(listen) as c:
        echo_rtt(c)
        assert api.req("DELETE", f"/proxies/{name}").status_code == 204
        api.created.discard(name)
        assert wait_eof(c, 2.0) < 0.5
    assert port_refuses(listen)


def test_stalled_link_pushes_back_on_the_sender(api: Api, upstream: Upstream) -> None:
    """A link that cannot forward stops reading its source (bounded memory).

    Through a stalled link (bandwidth 0) a client can only fill the kernel's socket
    buffers (a few MB); a proxy that kept reading would swallow hundreds of MB a second.
    The client starts sending the moment it connects, while the upstream is still being
    dialled.
    """
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "bandwidth", stream="upstream", rate=0)
    with connect(listen) as c:
        c.setblocking(False)
        block, pushed = bytes(1 << 20), 0
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                pushed += c.send(block)
            except BlockingIOError:
                time.sleep(0.002)
        upstream.accept().close()
    assert pushed < 48e6, f"the proxy accepted {pushed / 1e6:.0f} MB into a stalled link"


def test_proxy_adds_little_latency_without_toxics(api: Api, echo: Upstream) -> None:
    """TestProxyLatency (< 300 µs per hop): the fastest round trip through the proxy is
    within 1 ms of the fastest direct one (interleaved; noise only adds time, so the
    minimum over 150 of each is what the proxy itself costs)."""
    _, listen = proxy_to(api, echo)
    with connect(listen) as c, connect(echo.addr) as d:
        direct, proxied = [], []
        for _ in range(150):
            direct.append(echo_rtt(d, b"x" * 64))
            proxied.append(echo_rtt(c, b"x" * 64))
    extra = min(proxied) - min(direct)
    assert extra < 0.001, f"fastest round trip +{extra * 1e6:.0f} µs through the proxy"


# ---------------------------------------------------------------------- toxicity (§4.4)


@pytest.mark.parametrize(("toxicity", "hit"), [(0, False), (1, True)])
def test_toxicity_zero_never_one_always(api: Api, echo: Upstream, toxicity: float, hit: bool) -> None:
    """Five connections (their round trips run at once), a latency that noise cannot fake."""
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", toxicity=toxicity, latency=TELL_LATENCY_MS)
    rtts = parallel_rtts(listen, connections=5, echoes=1)
    assert [delayed(r) for (r,) in rtts] == [hit] * 5


def test_toxicity_is_rolled_per_connection(api: Api, echo: Upstream) -> None:
    """0.5: some connections get the toxic, others not; each one is all or nothing.

    A toxic round trip takes 500 ms and a clean one stays under 250 ms, so noise cannot
    swap them (24 connections, their round trips at once). On our server the rolls are
    also known from the seed, and must be exactly the connections that were delayed.
    """
    name, listen = proxy_to(api, echo)
    toxic = api.toxic(name, "latency", toxicity=0.5, latency=TELL_LATENCY_MS)
    seen = []
    for rtts in parallel_rtts(listen, connections=24, echoes=3):
        hits = {delayed(r) for r in rtts}
        assert len(hits) == 1, "toxicity was rolled per chunk, not per connection"
        seen.append(hits.pop())
    assert 0 < sum(seen) < len(seen), seen
    if not REAL:
        assert seen == seeded_rolls(name, toxic["name"], 0.5, len(seen))


# ---------------------------------------------------------------------- live changes (§3.2, §4.5)


def test_removing_latency_forwards_the_held_chunks_at_once(api: Api, upstream: Upstream) -> None:
    """§4.5: an interrupted latency forwards its in-flight chunks instead of sleeping."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "latency", name="slow", latency=3000)
    c, u = pair(listen, upstream)
    with c, u:
        u.sendall(b"first")
        time.sleep(0.02)
        u.sendall(b"second")
        time.sleep(0.1)
        t = time.monotonic()
        api.remove_toxic(name, "slow")
        assert recv_exactly(c, 11) == b"firstsecond"
        assert time.monotonic() - t < 1.0  # now, not after the 3 s latency


def test_bandwidth_update_applies_mid_stream(api: Api, upstream: Upstream) -> None:
    """At 100 KB/s 200 KB would take 2 s; raised to 100 000 KB/s after 0.3 s, it ends soon.

    Noise only delays reads: at most 30 000 B can have come in the first 0.29 s at
    100 KB/s, and the first 10 000 B piece (due at 0.1 s) has 190 ms to spare.
    """
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "bandwidth", name="bw", rate=100)
    data = pattern(200_000)
    snd, rcv = one_way(listen, upstream, "downstream")
    with snd, rcv:
        t = time.monotonic()
        th, box = in_thread(lambda: timed_transfer(snd, rcv, data))
        time.sleep(0.3)
        api.update_toxic(name, "bw", {"attributes": {"rate": 100_000}})
        reads = result(th, box)
    assert b"".join(d for _, d in reads) == data
    slow = sum(len(d) for at, d in reads if at < 0.29)
    assert 10_000 <= slow <= 30_000, f"{slow} B in the first 0.29 s at 100 KB/s"
    assert time.monotonic() - t < 1.2  # not the 2 s the old rate would take


def test_toxics_apply_to_open_connections(api: Api, echo: Upstream) -> None:
    """Added, updated and removed toxics take effect on a connection that is open."""
    name, listen = proxy_to(api, echo)
    with connect(listen) as c:
        rtt = lambda: echo_rtt(c)  # noqa: E731
        settle("no toxic", rtt, 0.0)
        api.toxic(name, "latency", name="up", stream="upstream", latency=50)
        api.toxic(name, "latency", name="down", stream="downstream", latency=50)
        settle("50 up + 50 down, added live", rtt, 0.100, 2 * TOL)
        api.update_toxic(name, "down", {"attributes": {"latency": 20}})
        settle("after update to 20", rtt, 0.070, 2 * TOL)
        api.remove_toxic(name, "up")
        settle("after removing upstream", rtt, 0.020)
        assert api.req("POST", "/reset").status_code == 204  # removes all toxics
        settle("after a reset", rtt, 0.0)
        api.toxic(name, "latency", name="again", latency=40)  # re-added after a reset
        settle("re-added", rtt, 0.040)


def test_no_byte_dropped_or_reordered_under_toxic_churn(api: Api, echo: Upstream) -> None:
    """TestNoDataDropped: stream through echo while toxics come and go in both directions.

    The sender streams a position-dependent pattern for as long as the churn lasts
    (so every change happens mid-stream); the receiver must get exactly that stream.
    """
    name, listen = proxy_to(api, echo)
    block = pattern(1 << 20, salt=3)
    stop = threading.Event()
    sent = [0]

    def send(c: socket.socket) -> None:
        while not stop.is_set():
            off = sent[0] % len(block)  # len(block) is a multiple of 16 KiB
            c.sendall(block[off : off + 16384])
            sent[0] += 16384
            time.sleep(0.001)  # ~10 MB/s: keeps the test short, the stream continuous

    def receive(c: socket.socket) -> bytes:
        buf = bytearray()
        idle_since = time.monotonic()
        while not (stop.is_set() and not sender.is_alive() and len(buf) >= sent[0]):
            if not select.select([c], [], [], 0.05)[0]:  # re-check the end condition
                assert time.monotonic() - idle_since < 10, f"stalled after {len(buf)} bytes"
                continue
            idle_since = time.monotonic()
            d = c.recv(65536)
            if not d:
                raise EOFError(f"EOF after {len(buf)} bytes")
            buf += d
        return bytes(buf)

    with connect(listen, timeout=20) as c:
        sender, sbox = in_thread(lambda: send(c))
        receiver, rbox = in_thread(lambda: receive(c))
        try:
            for i in range(60):
                api.toxic(name, "latency", name="lat_up", stream="upstream", latency=1000)
                api.toxic(name, "bandwidth", name="bw_down", stream="downstream", rate=20_000)
                api.toxic(name, "latency", name="lat_down", stream="downstream", latency=5, jitter=5)
                api.toxic(name, "slicer", name="cut_up", stream="upstream", average_size=4096, size_variation=2048)
                api.update_toxic(name, "bw_down", {"attributes": {"rate": 10_000 + i}})
                api.update_toxic(name, "lat_up", {"attributes": {"latency": 500}})
                api.remove_toxic(name, "lat_up")
                api.update_toxic(name, "lat_down", {"attributes": {"latency": 1}})
                api.remove_toxic(name, "bw_down")
                api.remove_toxic(name, "cut_up")
                api.remove_toxic(name, "lat_down")
        finally:
            stop.set()
        result(sender, sbox)
        got = result(receiver, rbox)
    assert sent[0] >= 40 * 16384, "the stream was too short to overlap the churn"
    expected = (block * (sent[0] // len(block) + 1))[: sent[0]]
    assert len(got) == len(expected)
    assert got == expected


def test_round_trips_while_noop_toxics_come_and_go(api: Api, echo: Upstream) -> None:
    """§8: 100 echo round trips while noop toxics are added and removed concurrently."""
    name, listen = proxy_to(api, echo)
    stop = threading.Event()

    def churn() -> int:
        n = 0
        while not stop.is_set():
            stream = STREAMS[n % 2]
            api.toxic(name, "noop", name=f"noop{n}", stream=stream)
            api.remove_toxic(name, f"noop{n}")
            n += 1
        return n

    th, box = in_thread(churn)
    try:
        with connect(listen) as c:
            for k in range(100):
                msg = b"round trip %d" % k
                c.sendall(msg)
                assert recv_exactly(c, len(msg)) == msg
    finally:
        stop.set()
    assert result(th, box) > 0


# ---------------------------------------------------------------------- chains (§4.3)


@pytest.mark.parametrize("latency_first", [True, False])
def test_chain_order_is_insertion_order(api: Api, upstream: Upstream, latency_first: bool) -> None:
    """latency -> reset_peer resets after the delay; reset_peer -> latency at once."""
    name, listen = proxy_to(api, upstream)
    lat = {"type": "latency", "name": "lat", "stream": "upstream", "latency": 100}
    rst = {"type": "reset_peer", "name": "rst", "stream": "upstream", "timeout": 0}
    for t in (lat, rst) if latency_first else (rst, lat):
        t = dict(t)
        api.toxic(name, t.pop("type"), **t)

    def measure() -> float:
        c, u = pair(listen, upstream)
        with c, u:
            t0 = time.monotonic()
            c.sendall(b"x")
            expect_reset(c)
            return time.monotonic() - t0

    settle("reset after the chain", measure, 0.100 if latency_first else 0.0)
