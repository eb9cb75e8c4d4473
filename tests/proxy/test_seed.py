"""``--seed`` makes every random choice of a run reproducible (ours only: spec §1 says
Toxiproxy ignores ``-seed``).

The same scripted session (same proxy and toxic names, connections opened one after
another) is played against three fresh servers: seed 7 in a thread, seed 7 as a
``python -m harness.proxy --seed 7`` process, and seed 8. The choices are observed from
outside, as a client sees them (which connections a toxicity-0.5 toxic hit, where a
slicer cut, how long jittered round trips took) and compared with the choices each
seed is known to make (``seeded_*`` in linktest_support.py), in ways scheduling noise
cannot fool: noise can merge two slices into one read but never cut one, and can make
a round trip longer than its drawn delay but never shorter.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from linktest_support import EARLY, seeded_cuts, seeded_delays, seeded_rolls
from proxytest_support import TOL, Api, Upstream, connect, echo_rtt, ours_only, recv_all, recv_exactly

pytestmark = ours_only

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- servers


@contextmanager
def thread_server(seed: int) -> Iterator[str]:
    from harness.proxy import run_in_thread

    with run_in_thread(seed=seed) as handle:
        yield handle.url
    assert not handle.errors, handle.errors


@contextmanager
def process_server(seed: int) -> Iterator[str]:
    """``python -m harness.proxy --seed N`` on an ephemeral port (bounded start-up wait)."""
    cmd = [sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", "0", "--seed", str(seed)]
    env = {**os.environ, "PYTHONHASHSEED": "random", "LOG_LEVEL": "warn"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        assert sel.select(timeout=20), "proxy process did not start within 20 s"
        line = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert m, f"unexpected first line: {line!r}"
        yield m.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - stuck server
            proc.kill()
            proc.wait(timeout=10)


# ---------------------------------------------------------------------- one scripted session


def observe(url: str, echo: Upstream, upstream: Upstream) -> dict[str, Any]:
    """Play the same session and return what a client saw of each random choice."""
    api = Api(url)
    try:
        return {"rolls": _rolls(api, echo), "slices": _slices(api, upstream), "jitter": _jitter(api, echo)}
    finally:
        api.cleanup()


def _rolls(api: Api, echo: Upstream) -> list[bool]:
    """40 connections through limit_data 1 at toxicity 0.5: True where it applied."""
    p = api.create(echo.addr, name="rolls")
    api.toxic("rolls", "limit_data", name="cap", toxicity=0.5, bytes=1)
    hits = []
    for _ in range(40):
        with connect(p["listen"]) as c:
            c.sendall(b"abc")
            got = recv_exactly(c, 1)
            c.settimeout(2)
            rest = recv_all(c, limit=2)
        assert got + rest in (b"a", b"abc")
        hits.append(rest == b"")
    return hits


def _slices(api: Api, upstream: Upstream) -> list[set[int]]:
    """Read boundaries of 100 B sliced at 10 ± 5 (20 ms apart), 3 connections."""
    p = api.create(upstream.addr, name="slices")
    api.toxic("slices", "slicer", name="cut", average_size=10, size_variation=5, delay=20_000)
    out = []
    for _ in range(3):
        with connect(p["listen"]) as c, upstream.accept() as u:
            u.sendall(bytes(range(100)))
            ends, got = set(), 0
            while got < 100:
                d = c.recv(100)
                assert d, "EOF in the middle of the slices"
                got += len(d)
                ends.add(got)
        out.append(ends)
    return out


def _jitter(api: Api, echo: Upstream) -> list[float]:
    """Round trips through latency 100 ± 50 (10 chunks, each drawing a delay)."""
    p = api.create(echo.addr, name="jitter")
    api.toxic("jitter", "latency", name="lag", latency=100, jitter=50)
    with connect(p["listen"]) as c:
        time.sleep(0.05)  # let the echo thread start: its start-up is not the proxy's delay
        return [echo_rtt(c) for _ in range(10)]


def _cuts(seed: int) -> list[set[int]]:
    return [set(seeded_cuts("slices", "cut", 100, 10, 5, index, seed=seed)[1:]) for index in range(3)]


def _ms(xs: list[float]) -> list[float]:
    return [round(x * 1000, 1) for x in xs]


# ---------------------------------------------------------------------- the test


def test_same_seed_same_choices_other_seed_other_choices(echo: Upstream, upstream: Upstream) -> None:
    with thread_server(7) as url:
        a = observe(url, echo, upstream)
    with process_server(7) as url:
        b = observe(url, echo, upstream)
    with thread_server(8) as url:
        c = observe(url, echo, upstream)

    # toxicity 0.5 really rolls (both outcomes occur) and hits the connections the seed says
    assert 5 <= sum(a["rolls"]) <= 35, a["rolls"]
    assert a["rolls"] == b["rolls"] == seeded_rolls("rolls", "cap", 0.5, 40, seed=7)
    assert c["rolls"] == seeded_rolls("rolls", "cap", 0.5, 40, seed=8) != a["rolls"]

    # slices: every read ends on one of the seed's cuts (a late reader only merges
    # pieces), the pieces were really cut, and seed 8 cut where seed 7 does not
    cuts7, cuts8 = _cuts(7), _cuts(8)
    assert all(1 <= b - a <= 15 for ends in cuts7 for a, b in zip([0, *sorted(ends)], sorted(ends)))
    for seen, cuts in ((a, cuts7), (b, cuts7), (c, cuts8)):
        assert all(ends <= want for ends, want in zip(seen["slices"], cuts)), (seen["slices"], cuts)
        assert all(len(ends) >= 3 for ends in seen["slices"]), seen["slices"]  # fewer: > 100 ms of noise
    assert any(ends - want for ends, want in zip(c["slices"], cuts7)), "seed 8 cut where seed 7 does"

    # jitter: a round trip can be later than its drawn delay, never earlier; the best
    # one comes within TOL of it; and seed 8 came back before seed 7's delays would allow
    lag7, lag8 = (seeded_delays("jitter", "lag", 100, 50, 10, seed=s) for s in (7, 8))
    for seen, lag in ((a, lag7), (b, lag7), (c, lag8)):
        late = [r - d for r, d in zip(seen["jitter"], lag)]
        assert min(late) >= -EARLY, f"before the drawn delay: {_ms(seen['jitter'])} vs {_ms(lag)}"
        assert min(late) <= TOL, f"every round trip > {TOL * 1000:.0f} ms late: {_ms(seen['jitter'])} vs {_ms(lag)}"
    assert any(r < d - EARLY for r, d in zip(c["jitter"], lag7)), f"seed 8 {_ms(c['jitter'])} vs 7 {_ms(lag7)}"


def test_seeded_streams_are_stable_and_independent() -> None:
    """The server's record of choices: one stream per (proxy, connection, direction, toxic)."""
    from harness.proxy.seeding import Seeder
    from harness.proxy.toxics.latency import LatencyToxic
    from harness.proxy.toxics.slicer import SlicerToxic

    lag, cut = LatencyToxic(latency=100, jitter=50), SlicerToxic(average_size=10, size_variation=5)

    def draws(seed: int, conn: int = 0) -> tuple[list[float], list[int]]:
        s = Seeder(seed)
        rng = s.rng("db", conn, "downstream", "lag", 1)
        return [lag.delay(rng) for _ in range(20)], cut.cuts(1000, s.rng("db", conn, "downstream", "cut", 2))

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert draws(7, conn=0) != draws(7, conn=1)  # connections do not share a stream
    delays, cuts = draws(7)
    assert all(0.050 <= d < 0.150 for d in delays) and len(set(delays)) > 10
    assert cuts[0] == 0 and cuts[-1] == 1000 and all(1 <= b - a <= 15 for a, b in zip(cuts, cuts[1:]))
    assert Seeder(None).seed != Seeder(None).seed  # no seed: a fresh random one each time


@pytest.mark.parametrize("seed", [0, 2**62])
def test_seed_reported_by_the_server(seed: int) -> None:
    from harness.proxy import run_in_thread

    with run_in_thread(seed=seed) as handle:
        assert handle.server.seed == seed
