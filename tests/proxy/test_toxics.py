"""Toxic conformance (spec §5, §8): what each toxic does to bytes and time
(see linktest_support.py)."""

from __future__ import annotations

import itertools
import random
import socket
import time
from typing import Any

import pytest

from proxytest_support import (
    REAL,
    TOL,
    Api,
    Upstream,
    connect,
    echo_rtt,
    ours_only,
    recv_all,
    recv_exactly,
    wait_eof,
)
from linktest_support import (
    EARLY,
    MS,
    STREAMS,
    expect_reset,
    in_thread,
    one_way,
    pair,
    pattern,
    proxy_to,
    recv_reads,
    result,
    seeded_cuts,
    seeded_delays,
    settle,
    settle_many,
    still_open,
    timed_transfer,
)


# ---------------------------------------------------------------------- latency (§5.1)


@pytest.mark.parametrize("stream", STREAMS)
def test_latency_one_direction(api: Api, echo: Upstream, stream: str) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", stream=stream, latency=100)
    with connect(listen) as c:
        settle(f"{stream} latency 100", lambda: echo_rtt(c), 0.100)


def test_latency_both_directions_add_up(api: Api, echo: Upstream) -> None:
    """TestFullstreamLatencyBiased: up and down latencies add over a round trip."""
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", stream="upstream", latency=70)
    api.toxic(name, "latency", stream="downstream", latency=30)
    with connect(listen) as c:
        settle("70 up + 30 down", lambda: echo_rtt(c), 0.100, 2 * TOL)


def test_two_chained_latencies_add_up(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", name="first", latency=80)
    api.toxic(name, "latency", name="second", latency=80)
    with connect(listen) as c:
        settle("80 + 80 chained", lambda: echo_rtt(c), 0.160)


def test_latency_zero_and_negative_do_not_delay(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", name="zero", latency=0)
    api.toxic(name, "latency", name="negative", stream="upstream", latency=-100)
    with connect(listen) as c:
        settle("latency 0 and -100", lambda: echo_rtt(c), 0.0)  # a -100 read as 100 would show


def test_latency_jitter_stays_in_bounds_and_varies(api: Api, echo: Upstream) -> None:
    """delay is uniform in [latency - jitter, latency + jitter), sampled per chunk.

    Noise only lengthens a round trip, so every sample must reach its lower bound. On
    our server the 16 delays are known from the seed: each round trip must reach its
    own delay, and the best one must come within TOL of it (the proxy adds nothing).
    Against a real Toxiproxy the draws are unknown: the bounds are checked on the
    smallest sample and the spread.
    """
    name, listen = proxy_to(api, echo)
    toxic = api.toxic(name, "latency", latency=60, jitter=40)
    with connect(listen) as c:
        rtts = [echo_rtt(c) for _ in range(16)]
    shown = [round(r * 1000) for r in rtts]
    assert min(rtts) >= 0.020 - EARLY, shown
    assert min(rtts) <= 0.100 + TOL, shown
    assert max(rtts) - min(rtts) >= 0.020, f"no jitter seen: {shown}"
    if not REAL:
        drawn = seeded_delays(name, toxic["name"], 60, 40, len(rtts))
        assert all(0.020 <= d < 0.100 for d in drawn)
        late = [r - d for r, d in zip(rtts, drawn)]
        assert min(late) >= -EARLY, f"a round trip came before its delay: {shown} vs {[round(d * 1000) for d in drawn]}"
        assert min(late) <= TOL, f"every round trip came > {TOL * 1000:.0f} ms after its delay: {shown}"


def test_latency_is_per_chunk_from_arrival(api: Api, upstream: Upstream) -> None:
    """Two writes 50 ms apart through latency 100 arrive ~100 and ~150 ms (not 200)."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "latency", latency=100)

    def measure() -> dict[str, float]:
        c, u = pair(listen, upstream)
        with c, u:
            c.settimeout(2)
            t0 = time.monotonic()
            u.sendall(b"a")
            time.sleep(0.05)
            t1 = time.monotonic()
            u.sendall(b"b")
            assert c.recv(1) == b"a"
            ta = time.monotonic()
            assert c.recv(1) == b"b"
            tb = time.monotonic()
        # the second from its own arrival: not queued behind the first one
        return {"first chunk": ta - t0, "second chunk": tb - t1}

    settle_many("latency 100, writes 50 ms apart", measure,
                {"first chunk": (0.100 - EARLY, 0.100 + TOL), "second chunk": (0.100 - TOL, 0.100 + TOL)})


def test_latency_does_not_cap_throughput(api: Api, echo: Upstream) -> None:
    """TestLatencyToxicBandwidth: chunks wait side by side (1024-chunk buffer).

    8 MiB through latency 100 take ~0.1 s plus transfer time; were the chunks delayed
    one after another, or only a few at a time, it would take seconds.
    """
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", stream="upstream", latency=100)
    data = pattern(8 << 20)

    def measure() -> float:
        with connect(listen, timeout=10) as c:
            t = time.monotonic()
            th, box = in_thread(lambda: c.sendall(data))
            got = recv_exactly(c, len(data))
            elapsed = time.monotonic() - t
            result(th, box)
        assert got == data
        return elapsed

    settle_many("8 MiB through latency 100", lambda: {"elapsed": measure()}, {"elapsed": (0.100 - EARLY, 0.8)})


# ---------------------------------------------------------------------- bandwidth (§5.2)


@pytest.mark.parametrize("stream", STREAMS)
def test_bandwidth_480kb_at_1000kbps_takes_480ms(api: Api, upstream: Upstream, stream: str) -> None:
    """TestBandwidthToxic: KB = 1000 bytes; 480 000 B at 1000 KB/s take 480 ms ± 10
    (a 1024-byte KB would make it 469 ms)."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "bandwidth", stream=stream, rate=1000)
    data = pattern(480_000)

    def measure() -> float:
        snd, rcv = one_way(listen, upstream, stream)
        with snd, rcv:
            reads = timed_transfer(snd, rcv, data)
        assert b"".join(d for _, d in reads) == data
        return reads[-1][0]

    settle("480 KB at 1000 KB/s", measure, 0.480)


def test_bandwidth_sends_big_chunks_in_100ms_pieces(api: Api, upstream: Upstream) -> None:
    """A chunk larger than rate*100 bytes leaves in rate*100-byte pieces every 100 ms."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "bandwidth", rate=100)  # 10 000-byte pieces
    data = pattern(50_000)

    def measure() -> dict[str, float]:
        snd, rcv = one_way(listen, upstream, "downstream")
        with snd, rcv:
            reads = timed_transfer(snd, rcv, data)
        assert b"".join(d for _, d in reads) == data
        assert len(reads[0][1]) <= 10_000
        return {"first piece": reads[0][0], "last piece": reads[-1][0]}

    settle_many("50 000 B at 100 KB/s", measure,
                {"first piece": (0.100 - EARLY, 0.100 + TOL), "last piece": (0.500 - TOL, 0.500 + TOL)})


def test_bandwidth_zero_stalls_and_removal_releases(api: Api, echo: Upstream) -> None:
    """rate 0 stalls the link (no data, no close); removing it delivers everything."""
    name, listen = proxy_to(api, echo)
    api.toxic(name, "bandwidth", name="stall", rate=0)
    with connect(listen) as c:
        data = pattern(200_000)
        th, box = in_thread(lambda: c.sendall(data))
        assert still_open(c, 0.3)
        api.remove_toxic(name, "stall")  # must not deadlock on a busy link (the API call would time out)
        assert recv_exactly(c, len(data)) == data
        result(th, box)


@ours_only
def test_bandwidth_negative_rate_is_unlimited(api: Api, echo: Upstream, proxy_server: Any) -> None:
    """Deviation (§7): Toxiproxy panics on rate < 0; we treat it as no limit."""
    name, listen = proxy_to(api, echo)
    api.toxic(name, "bandwidth", rate=-1)
    data = pattern(1 << 20)
    with connect(listen) as c:
        th, box = in_thread(lambda: c.sendall(data))
        assert recv_exactly(c, len(data)) == data
        result(th, box)
    assert not proxy_server.errors


# ---------------------------------------------------------------------- slow_close (§5.3)


@pytest.mark.parametrize("stream", STREAMS)
def test_slow_close_delays_the_close_not_the_data(api: Api, upstream: Upstream, stream: str) -> None:
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "slow_close", stream=stream, delay=200)

    def measure() -> dict[str, float]:
        snd, rcv = one_way(listen, upstream, stream)
        with snd, rcv:
            t = time.monotonic()
            snd.sendall(b"payload")
            assert recv_exactly(rcv, 7) == b"payload"
            data = time.monotonic() - t
            snd.shutdown(socket.SHUT_WR)
            return {"data": data, "close": wait_eof(rcv, 2.0)}

    settle_many(f"slow_close 200 ({stream})", measure,  # the data itself is not delayed
                {"data": (0.0, TOL), "close": (0.200 - TOL, 0.200 + TOL)})


def test_slow_close_removed_while_holding_closes_now(api: Api, upstream: Upstream) -> None:
    """§5.3: the close is only delayed; an interrupted slow_close hands it on at once."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "slow_close", name="hold", delay=5000)
    c, u = pair(listen, upstream)
    with c, u:
        u.sendall(b"last words")
        u.close()
        assert recv_exactly(c, 10) == b"last words"
        assert still_open(c, 0.15)  # held
        t = time.monotonic()
        api.remove_toxic(name, "hold")
        wait_eof(c, 2.0)
        assert time.monotonic() - t < 1.0  # now, not after the 5 s delay


@pytest.mark.parametrize("stream", STREAMS)
def test_close_waits_for_the_chain_to_drain(api: Api, upstream: Upstream, stream: str) -> None:
    """§3.2: at the source's EOF the chain drains before the destination is closed."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "latency", stream=stream, latency=100)

    def measure() -> float:
        snd, rcv = one_way(listen, upstream, stream)
        with snd, rcv:
            t = time.monotonic()
            snd.sendall(b"in flight")
            snd.shutdown(socket.SHUT_WR)
            rcv.settimeout(2)
            assert recv_all(rcv) == b"in flight"  # delivered, then EOF
            return time.monotonic() - t

    settle("delivered then closed", measure, 0.100)


# ---------------------------------------------------------------------- timeout (§5.4)


@pytest.mark.parametrize("stream", STREAMS)
def test_timeout_drops_data_then_closes(api: Api, upstream: Upstream, stream: str) -> None:
    """Data is lost, and the whole connection closes ``timeout`` ms later (the one
    chunk, sent as soon as the connection opens, restarts the timer; see below)."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "timeout", stream=stream, timeout=200)

    def measure() -> dict[str, float]:
        t = time.monotonic()
        c, u = pair(listen, upstream)
        snd, rcv = (c, u) if stream == "upstream" else (u, c)
        with c, u:
            snd.sendall(b"lost in the void")
            rcv.settimeout(2)
            assert recv_all(rcv) == b""  # nothing arrives, then EOF
            took = time.monotonic() - t
            return {"closed": took, "other side closed after": wait_eof(snd, 2.0)}  # both sides are closed

    settle_many(f"timeout 200 ({stream})", measure,
                {"closed": (0.200 - TOL, 0.200 + TOL), "other side closed after": (0.0, TOL)})


def test_timeout_timer_restarts_with_every_dropped_chunk(api: Api, echo: Upstream) -> None:
    """Toxiproxy's timer is ``time.After`` inside its select loop: each chunk restarts it.

    Data every 80 ms through timeout 400 keeps the connection open (all of it dropped;
    a late send would need 320 ms of scheduling noise to let it expire); 400 ms after
    the last chunk it closes.
    """
    name, listen = proxy_to(api, echo)
    api.toxic(name, "timeout", stream="upstream", timeout=400)

    def measure() -> float:
        with connect(listen) as c:
            for _ in range(5):
                last = time.monotonic()
                c.sendall(b"keepalive")
                assert still_open(c, 0.08)  # nothing echoed: the data is dropped
            wait_eof(c, 2.0)
            return time.monotonic() - last

    settle("timeout after the last chunk", measure, 0.400)


def test_timeout_zero_never_closes_and_removal_closes(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "timeout", name="hole", timeout=0)
    with connect(listen) as c:
        c.sendall(b"anyone?")
        assert still_open(c, 0.4)  # dropped, and still connected
        api.remove_toxic(name, "hole")  # Toxiproxy: removing timeout closes its links
        wait_eof(c, 2.0)  # timeout 0 alone would never close it


def test_timeout_added_live_counts_from_addition(api: Api, echo: Upstream) -> None:
    """The timer starts when the toxic is added to the open connection."""
    name, listen = proxy_to(api, echo)

    def measure() -> float:
        with connect(listen) as c:
            echo_rtt(c)
            time.sleep(0.1)
            t = time.monotonic()
            api.toxic(name, "timeout", name="late", timeout=150)
            wait_eof(c, 2.0)
            took = time.monotonic() - t
        api.remove_toxic(name, "late")
        return took

    settle("timeout 150 added live", measure, 0.150, tol=2 * TOL)  # includes the API call


def test_timeout_toxicity_zero_then_one(api: Api, echo: Upstream) -> None:
    """TestToxicity: toxicity 0 lets data through; updated to 1 it times out (< 150 ms)."""
    name, listen = proxy_to(api, echo)
    api.toxic(name, "timeout", name="t", toxicity=0, timeout=100)

    def measure() -> float:
        api.update_toxic(name, "t", {"toxicity": 0})
        with connect(listen) as c:
            echo_rtt(c, b"through")  # an applied timeout would drop it (and the echo would time out)
            time.sleep(0.15)  # longer than the timeout: toxicity 0 never applied it
            echo_rtt(c, b"still")
            t = time.monotonic()
            api.update_toxic(name, "t", {"toxicity": 1})
            c.sendall(b"dropped")
            c.settimeout(2)
            assert recv_all(c) == b""
            return time.monotonic() - t

    settle("timed out after the update", measure, 0.100, tol=0.050)


def test_timeout_does_not_hang_when_a_toxic_before_it_is_removed(api: Api, echo: Upstream) -> None:
    """TestTimeoutToxicDoesNotCauseHang."""
    name, listen = proxy_to(api, echo)
    api.toxic(name, "latency", name="might_block", stream="upstream", latency=10)
    api.toxic(name, "timeout", name="hole", stream="upstream", timeout=0)
    with connect(listen) as c:
        for _ in range(5):
            c.sendall(b"hello")
        time.sleep(0.05)
        api.remove_toxic(name, "might_block")  # a hang would time the API call out
        c.sendall(b"more")
        assert still_open(c, 0.2)  # the timeout is still there, dropping data


# ---------------------------------------------------------------------- reset_peer (§5.5)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("timeout_ms", [0, 200])
def test_reset_peer_sends_rst_after_timeout(api: Api, upstream: Upstream, stream: str, timeout_ms: int) -> None:
    """TestResetToxic*: the first chunk triggers an RST ``timeout`` ms later; it is dropped."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "reset_peer", stream=stream, timeout=timeout_ms)

    def measure() -> float:
        c, u = pair(listen, upstream)
        snd = c if stream == "upstream" else u
        with c, u:
            t = time.monotonic()
            snd.sendall(b"trigger")
            expect_reset(c)  # the client always sees the RST
            took = time.monotonic() - t
            try:  # the upstream gets an RST too; either way the trigger was not forwarded
                assert u.recv(100) == b""
            except ConnectionResetError:
                pass
        return took

    settle(f"reset_peer {timeout_ms} ({stream})", measure, timeout_ms * MS)


def test_reset_peer_leaves_idle_connections_alone(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "reset_peer", timeout=0)
    with connect(listen) as c:
        assert still_open(c, 0.4)


def test_reset_peer_added_live_closes_with_fin(api: Api, echo: Upstream) -> None:
    """Toxiproxy quirk kept: SO_LINGER 0 is only set at link start, so a live add -> FIN."""
    name, listen = proxy_to(api, echo)
    with connect(listen) as c:
        echo_rtt(c)
        api.toxic(name, "reset_peer", stream="upstream", timeout=0)
        c.sendall(b"trigger")
        c.settimeout(2)
        assert recv_all(c) == b""  # a plain EOF: recv_all would raise on an RST


def test_reset_peer_lingers_even_where_toxicity_skipped_it(api: Api, upstream: Upstream) -> None:
    """SO_LINGER 0 depends on the chain at link start, not on the toxicity roll: with
    toxicity 0 data flows, but the connection still ends with an RST."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "reset_peer", stream="upstream", toxicity=0, timeout=0)
    c, u = pair(listen, upstream)
    with c, u:
        c.sendall(b"hello")
        assert recv_exactly(u, 5) == b"hello"
        c.close()
        expect_reset(u)


# ---------------------------------------------------------------------- slicer (§5.6)


def _sliced_reads(api: Api, upstream: Upstream, data: bytes, **attrs: int) -> list[tuple[float, bytes]]:
    """Send ``data`` downstream through a slicer; return the client's timed reads."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "slicer", **attrs)
    c, u = pair(listen, upstream)
    with c, u:
        t0 = time.monotonic()
        u.sendall(data)
        reads = recv_reads(c, len(data))
    assert b"".join(d for _, d in reads) == data  # intact and in order
    return [(t - t0, d) for t, d in reads]


def _slice_once(listen: str, upstream: Upstream, data: bytes) -> tuple[list[int], float]:
    """One transfer of ``data`` downstream through the slicer on ``listen``: where each
    read ended (byte offsets) and when the last one came (s after the send)."""
    c, u = pair(listen, upstream)
    with c, u:
        t0 = time.monotonic()
        u.sendall(data)
        reads = recv_reads(c, len(data))
    assert b"".join(d for _, d in reads) == data  # intact and in order
    return list(itertools.accumulate(len(d) for _, d in reads)), reads[-1][0] - t0


def _pieces(ends: list[int], cuts: list[int] | None) -> list[int]:
    """The sizes of the pieces the slicer made.

    A late reader can merge pieces into one read but never split one. On our server the
    cuts are known from the seed (``cuts``): every read must end on one of them, and the
    pieces are the cuts'. Against a real Toxiproxy (``cuts`` None) they are the reads.
    """
    __tracebackhide__ = True
    if cuts is None:
        return [b - a for a, b in zip([0, *ends], ends)]
    assert set(ends) <= set(cuts[1:]), f"a read ended off the seed's cuts: {ends} vs {cuts}"
    return [b - a for a, b in zip(cuts, cuts[1:])]


def test_slicer_average_one_gives_one_byte_pieces(api: Api, upstream: Upstream) -> None:
    """24 B with average_size 1, variation 0: exactly 24 pieces, so the last one leaves
    23 delays of 10 ms after the first (fewer pieces would end sooner)."""
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "slicer", average_size=1, size_variation=0, delay=10_000)
    settle_many("24 B sliced by 1", lambda: {"last piece": _slice_once(listen, upstream, pattern(24))[1]},
                {"last piece": (0.230 - EARLY, 0.230 + TOL)})


def test_slicer_pieces_and_delay_in_microseconds(api: Api, upstream: Upstream) -> None:
    """100 B, average 10 ± 5, delay 20 000 µs: pieces of at most 15 B, 20 ms apart."""
    name, listen = proxy_to(api, upstream)
    toxic = api.toxic(name, "slicer", average_size=10, size_variation=5, delay=20_000)
    connection = itertools.count()

    def measure() -> dict[str, float]:
        ends, last = _slice_once(listen, upstream, pattern(100))
        cuts = None if REAL else seeded_cuts(name, toxic["name"], 100, 10, 5, next(connection))
        pieces = _pieces(ends, cuts)
        return {"largest piece (B)": max(pieces), "mean gap": last / max(1, len(pieces) - 1)}

    settle_many("100 B sliced by 10 ± 5", measure,
                {"largest piece (B)": (1, 15), "mean gap": (0.020 - 2 * MS, 0.020 + 2 * MS)})


def test_slicer_large_payload_piece_count(api: Api, upstream: Upstream) -> None:
    """TestSlicerToxic's bounds scaled down: every piece <= average + variation (so at
    least 22 pieces for 32 KiB), and no more than 64."""
    name, listen = proxy_to(api, upstream)
    toxic = api.toxic(name, "slicer", average_size=1024, size_variation=512, delay=4_000)
    connection = itertools.count()

    def measure() -> dict[str, float]:
        ends, _ = _slice_once(listen, upstream, pattern(32 * 1024))
        pieces = _pieces(ends, None if REAL else seeded_cuts(name, toxic["name"], 32 * 1024, 1024, 512,
                                                             next(connection)))
        assert len(pieces) <= 64, pieces
        return {"largest piece (B)": max(pieces)}

    settle_many("32 KiB sliced by 1024 ± 512", measure, {"largest piece (B)": (1, 1536)})


@ours_only
def test_slicer_zero_average_forwards_unsliced(api: Api, upstream: Upstream, proxy_server: Any) -> None:
    """Deviation (§7): average_size 0 crashes Toxiproxy; we forward the chunk whole."""
    _sliced_reads(api, upstream, b"x" * 1000)  # intact
    assert not proxy_server.errors
    # Unsliced pieces sent back to back coalesce on the wire (so do 1-byte ones): the
    # cut points are what tell them apart.
    from harness.proxy.toxics.slicer import SlicerToxic

    assert SlicerToxic().cuts(1000, random.Random(1)) == [0, 1000]


@ours_only
def test_slicer_variation_above_average_keeps_data_intact(api: Api, upstream: Upstream, proxy_server: Any) -> None:
    """Deviation (§7): variation > average can make Toxiproxy cut at a negative offset
    (panic); we keep every cut inside the chunk."""
    _sliced_reads(api, upstream, pattern(5000), average_size=4, size_variation=10)  # intact
    assert not proxy_server.errors  # a crashing toxic would be reported here
    from harness.proxy.toxics.slicer import SlicerToxic

    cuts = SlicerToxic(average_size=4, size_variation=10).cuts(5000, random.Random(1))
    assert all(1 <= b - a <= 14 for a, b in zip(cuts, cuts[1:])), cuts


# ---------------------------------------------------------------------- limit_data (§5.7)


@pytest.mark.parametrize(
    ("limit", "writes", "expected", "closes"),
    [
        (100, [50], 50, False),  # smaller than the limit passes
        (100, [100], 100, True),  # equal passes, then closes
        (100, [150], 100, True),  # truncated to the limit
        (100, [90, 20], 100, True),  # 90 + 10
        (0, [10], 0, True),  # nothing passes; closes on the first chunk
    ],
)
def test_limit_data_table(api: Api, upstream: Upstream, limit: int, writes: list[int], expected: int, closes: bool) -> None:
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "limit_data", bytes=limit)
    c, u = pair(listen, upstream)
    with c, u:
        assert still_open(c, 0.1)  # never closed at connect time, even with limit 0
        data = pattern(sum(writes))
        got, off = b"", 0
        for n in writes[:-1]:  # wait for each write so the next one is a separate chunk
            u.sendall(data[off : off + n])
            got += recv_exactly(c, n)
            off += n
        u.sendall(data[off:])
        if closes:
            c.settimeout(2)
            got += recv_all(c)  # up to EOF
        else:
            got += recv_exactly(c, writes[-1])
            assert still_open(c, 0.2)
    assert got == data[:expected]


def test_limit_data_upstream_direction(api: Api, upstream: Upstream) -> None:
    name, listen = proxy_to(api, upstream)
    api.toxic(name, "limit_data", stream="upstream", bytes=10)
    c, u = pair(listen, upstream)
    with c, u:
        c.sendall(b"0123456789abcdef")
        u.settimeout(2)
        assert recv_all(u) == b"0123456789"  # exactly 10 bytes, then EOF
        assert wait_eof(c, 1.0) < 0.5


def test_limit_data_added_live_and_state_kept_across_updates(api: Api, echo: Upstream) -> None:
    """State is created when added to a live link and persists across updates."""
    name, listen = proxy_to(api, echo)
    with connect(listen) as c:
        echo_rtt(c, b"before the toxic")  # not counted
        api.toxic(name, "limit_data", name="cap", bytes=10)
        echo_rtt(c, b"123456")  # 6 of 10
        api.update_toxic(name, "cap", {"attributes": {"bytes": 12}})
        c.sendall(b"abcdefghij")
        c.settimeout(2)
        assert recv_all(c) == b"abcdef"  # 6 + 6 = 12, then EOF


# ---------------------------------------------------------------------- noop


def test_noop_passes_everything(api: Api, echo: Upstream) -> None:
    name, listen = proxy_to(api, echo)
    api.toxic(name, "noop", stream="upstream")
    api.toxic(name, "noop", stream="downstream")
    data = pattern(256 * 1024)
    with connect(listen) as c:
        th, box = in_thread(lambda: c.sendall(data))
        assert recv_exactly(c, len(data)) == data
        result(th, box)
        settle("round trip through noop", lambda: echo_rtt(c), 0.0)
