"""Benchmark of the embedded fault proxy (``harness.proxy``) against a direct connection.

Not a test: prints a table and a JSON document. Every figure is measured in the same
run through three paths when available: **direct** (client -> server), **ours**
(client -> ``python -m harness.proxy`` in its own process -> server) and **toxiproxy**
(a real Toxiproxy at ``$TOXIPROXY_URL`` / ``--toxiproxy-url``). Upstream servers run
in their own processes too, so the GIL of the load generator is not what we measure.

Run::

    .venv/bin/python bench/proxy_bench.py            # full run (a few minutes)
    .venv/bin/python bench/proxy_bench.py --quick    # smaller volumes (~1 minute)

Figures:

* bulk throughput, one way, no toxics (256 MiB; --quick: 128 MiB), best of 3;
* 64-byte echo round trip p50/p99 at 1, 10 and 100 concurrent connections;
* latency-toxic accuracy at 10/100/1000 ms (observed round trip minus requested);
* a bare 30-line uvloop forwarder (no API, no toxics) as a second baseline: the floor
  for any Python proxy on this machine;
* proxy RSS and fd count with 1000 idle connections and after 100,000 short ones
  (--quick: 10,000).

Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MSG = 64


# ---------------------------------------------------------------------- server roles


def _serve(protocol_factory) -> None:
    """Serve ``protocol_factory`` on an ephemeral loopback port under uvloop, forever;
    the port is printed first (the parent reads it)."""
    import uvloop

    async def main():
        srv = await asyncio.get_running_loop().create_server(protocol_factory, "127.0.0.1", 0, backlog=4096)
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def _role_echo() -> None:
    class Echo(asyncio.Protocol):
        def connection_made(self, t):  # noqa: D401
            self.t = t

        def data_received(self, d):
            self.t.write(d)

    _serve(Echo)


def _role_sink() -> None:
    """Per connection: read an 8-byte length N, read N bytes, answer b"ok"."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)

    def serve(c: socket.socket) -> None:
        buf = memoryview(bytearray(1 << 20))
        try:
            hdr = b""
            while len(hdr) < 8:
                d = c.recv(8 - len(hdr))
                if not d:
                    return
                hdr += d
            n, got = int.from_bytes(hdr, "big"), 0
            while got < n:
                k = c.recv_into(buf, min(len(buf), n - got))
                if not k:
                    return
                got += k
            c.sendall(b"ok")
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def _role_forward(upstream_port: int) -> None:
    """The floor for any Python proxy: a bare uvloop forwarder, no API, no toxics."""

    class Upstream(asyncio.Protocol):
        def __init__(self, client) -> None:
            self.client = client

        def data_received(self, d):
            self.client.write(d)

        def connection_lost(self, exc):
            self.client.close()

    class Client(asyncio.Protocol):
        def connection_made(self, t):
            self.t, self.up, self.early = t, None, []
            asyncio.get_running_loop().create_task(self.dial())

        async def dial(self):
            loop = asyncio.get_running_loop()
            self.up, _ = await loop.create_connection(lambda: Upstream(self.t), "127.0.0.1", upstream_port)
            for d in self.early:
                self.up.write(d)

        def data_received(self, d):
            if self.up is None:
                self.early.append(d)
            else:
                self.up.write(d)

        def connection_lost(self, exc):
            if self.up is not None:
                self.up.close()

    _serve(Client)


# ---------------------------------------------------------------------- helpers


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _spawn(args: list[str]) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    line = p.stdout.readline().strip()
    if not line:
        raise RuntimeError(f"{args} did not start")
    return p, line


def _api(url: str, method: str, path: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw.strip() else None


def _port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def _proc_stats(pid: int) -> dict:
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return {"rss_mb": round(rss / 2**20, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


class Target:
    """A proxy server under test (ours or a real Toxiproxy) and its proxies."""

    def __init__(self, name: str, url: str, pid: int | None) -> None:
        self.name, self.url, self.pid = name, url, pid
        self.created: list[str] = []

    def proxy(self, name: str, upstream_port: int) -> int:
        full = f"bench_{name}"
        try:
            _api(self.url, "DELETE", f"/proxies/{full}")
        except Exception:
            pass
        p = _api(self.url, "POST", "/proxies", {"name": full, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}"})
        self.created.append(full)
        return _port_of(p["listen"])  # type: ignore[index]

    def toxic(self, proxy: str, body: dict) -> None:
        _api(self.url, "POST", f"/proxies/bench_{proxy}/toxics", body)

    def cleanup(self) -> None:
        for n in self.created:
            try:
                _api(self.url, "DELETE", f"/proxies/{n}")
            except Exception:
                pass


# ---------------------------------------------------------------------- measurements


def throughput(port: int, nbytes: int, reps: int = 3) -> float:
    """Best MB/s (1 MB = 1e6 B) of ``reps`` one-way transfers of ``nbytes``."""
    best = 0.0
    chunk = memoryview(bytearray(1 << 20))
    for _ in range(reps):
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(60)
        t = time.perf_counter()
        c.sendall(nbytes.to_bytes(8, "big"))
        sent = 0
        while sent < nbytes:
            n = min(len(chunk), nbytes - sent)
            c.sendall(chunk[:n])
            sent += n
        if c.recv(2) != b"ok":
            raise RuntimeError("sink did not confirm")
        best = max(best, nbytes / (time.perf_counter() - t) / 1e6)
        c.close()
    return round(best, 1)


def rtt(port: int, conns: int, rounds: int) -> dict:
    """64-byte echo round trips on ``conns`` concurrent connections (µs percentiles)."""
    import uvloop

    samples: list[int] = []

    class Pinger(asyncio.Protocol):
        def __init__(self, done: asyncio.Future) -> None:
            self.done, self.left, self.buf = done, rounds, 0

        def connection_made(self, t):
            self.t = t

        def go(self):
            self.start = time.perf_counter_ns()
            self.t.write(b"x" * MSG)

        def data_received(self, d):
            self.buf += len(d)
            if self.buf < MSG:
                return
            self.buf -= MSG
            samples.append(time.perf_counter_ns() - self.start)
            self.left -= 1
            if self.left:
                self.go()
            elif not self.done.done():
                self.done.set_result(None)

    async def main():
        loop = asyncio.get_running_loop()
        futs, protos = [], []
        for _ in range(conns):
            f = loop.create_future()
            _, p = await loop.create_connection(lambda f=f: Pinger(f), "127.0.0.1", port)
            futs.append(f)
            protos.append(p)
        for p in protos:
            p.left = rounds + 1  # one extra warm-up round trip per connection
        for p in protos:
            p.go()
        await asyncio.wait_for(asyncio.gather(*futs), 120)
        for p in protos:
            p.t.close()

    uvloop.run(main())
    samples = samples[conns:]  # drop the warm-up round trip of each connection
    samples.sort()
    q = statistics.quantiles(samples, n=100)
    return {"p50_us": round(q[49] / 1000, 1), "p99_us": round(q[98] / 1000, 1), "n": len(samples)}


def latency_accuracy(target: Target, echo_port: int, latencies: list[int], samples: dict[int, int]) -> dict:
    out = {}
    for ms in latencies:
        pport = target.proxy(f"lat{ms}", echo_port)
        target.toxic(f"lat{ms}", {"type": "latency", "stream": "downstream", "attributes": {"latency": ms}})
        c = socket.create_connection(("127.0.0.1", pport))
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(10)
        errs = []
        for i in range(samples[ms] + 1):
            t = time.perf_counter()
            c.sendall(b"x" * MSG)
            got = 0
            while got < MSG:
                got += len(c.recv(MSG))
            if i:  # first round trip warms the connection up
                errs.append((time.perf_counter() - t) * 1000 - ms)
            time.sleep(0.002)
        c.close()
        out[f"{ms}ms"] = {
            "mean_error_ms": round(statistics.fmean(errs), 3),
            "max_error_ms": round(max(errs, key=abs), 3),
            "n": len(errs),
        }
    return out


def idle_connections(target: Target, echo_port: int, n: int) -> dict:
    pport = target.proxy("idle", echo_port)
    before = _proc_stats(target.pid) if target.pid else {}
    socks = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", pport))
        c.sendall(b"x")
        socks.append(c)
    for c in socks:
        c.settimeout(10)
        c.recv(1)
    time.sleep(0.5)
    during = _proc_stats(target.pid) if target.pid else {}
    for c in socks:
        c.close()
    return {"connections": n, "before": before, "with_idle": during}


def short_connections(port: int, n: int, workers: int = 8) -> float:
    """Connect, 1-byte echo, close (RST, so no TIME_WAIT pile-up), ``n`` times; conns/s."""
    linger0 = (1).to_bytes(4, sys.byteorder) + (0).to_bytes(4, sys.byteorder)

    def work(count: int) -> None:
        for _ in range(count):
            c = socket.create_connection(("127.0.0.1", port))
            c.settimeout(10)
            c.sendall(b"x")
            if not c.recv(1):
                raise RuntimeError("short connection got EOF")
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
            c.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(work, [n // workers] * workers))
    return round(n / (time.perf_counter() - t), 1)


# ---------------------------------------------------------------------- main


def _find_pid_listening(port: int) -> int | None:
    try:
        import psutil

        for c in psutil.net_connections("tcp"):
            if c.status == "LISTEN" and c.laddr and c.laddr.port == port:
                return c.pid
    except Exception:
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller volumes (about a minute)")
    ap.add_argument("--toxiproxy-url", default=os.environ.get("TOXIPROXY_URL"), help="also measure a real Toxiproxy")
    ap.add_argument("--role", choices=["echo", "sink", "forward"], help=argparse.SUPPRESS)
    ap.add_argument("--upstream-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the JSON result to this file")
    args = ap.parse_args(argv)
    if args.role == "echo":
        _role_echo()
        return 0
    if args.role == "sink":
        _role_sink()
        return 0
    if args.role == "forward":
        _role_forward(args.upstream_port)
        return 0
    _raise_fd_limit()
    q = args.quick
    bulk = (128 if q else 256) * 2**20
    rounds = {1: 3000 if q else 20000, 10: 500 if q else 2000, 100: 50 if q else 200}
    lat_samples = {10: 30 if q else 100, 100: 10 if q else 30, 1000: 3 if q else 8}
    n_idle, n_short = 1000, 10_000 if q else 100_000

    me = [sys.executable, str(Path(__file__).resolve())]
    echo_p, echo_port_s = _spawn(me + ["--role", "echo"])
    sink_p, sink_port_s = _spawn(me + ["--role", "sink"])
    ours_p, line = _spawn([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", "0"])
    echo_port, sink_port = int(echo_port_s), int(sink_port_s)
    fwd_sink_p, fwd_sink = _spawn(me + ["--role", "forward", "--upstream-port", sink_port_s])
    fwd_echo_p, fwd_echo = _spawn(me + ["--role", "forward", "--upstream-port", echo_port_s])
    targets = [Target("ours", line.split()[-1], ours_p.pid)]
    if args.toxiproxy_url:
        tp_port = int(args.toxiproxy_url.rstrip("/").rsplit(":", 1)[1])
        targets.append(Target("toxiproxy", args.toxiproxy_url.rstrip("/"), _find_pid_listening(tp_port)))
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "quick": q},
        "command": " ".join([sys.executable, *sys.argv]),
    }
    try:
        ports = {"direct": (sink_port, echo_port), "bare_forwarder": (int(fwd_sink), int(fwd_echo))}
        for t in targets:
            ports[t.name] = (t.proxy("bulk", sink_port), t.proxy("echo", echo_port))
        result["throughput_MBps"] = {k: throughput(v[0], bulk) for k, v in ports.items()}
        result["throughput_MBps"]["bytes"] = bulk
        result["echo_rtt"] = {f"c{c}": {k: rtt(v[1], c, rounds[c]) for k, v in ports.items()} for c in (1, 10, 100)}
        result["latency_toxic"] = {t.name: latency_accuracy(t, echo_port, [10, 100, 1000], lat_samples) for t in targets}
        result["idle_1000"] = {t.name: idle_connections(t, echo_port, n_idle) for t in targets}
        result["short_connections"] = {"count": n_short}
        for k, v in ports.items():
            result["short_connections"][k] = {"conns_per_s": short_connections(v[1], n_short)}
        time.sleep(1.0)
        for t in targets:
            if t.pid:
                result["short_connections"][t.name]["after"] = _proc_stats(t.pid)
    finally:
        for t in targets:
            t.cleanup()
        children = (ours_p, echo_p, sink_p, fwd_sink_p, fwd_echo_p)
        for p in children:
            p.terminate()
        for p in children:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    _print_table(result)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


def _print_table(r: dict) -> None:
    tp = r["throughput_MBps"]
    names = [k for k in tp if k != "bytes"]
    w = 17
    print(f"\n{'figure':36}" + "".join(f"{n:>{w}}" for n in names))
    print(f"{'bulk throughput MB/s':36}" + "".join(f"{tp[n]:>{w}}" for n in names))
    print(f"{'  / direct':36}" + "".join(f"{tp[n] / tp['direct']:>{w}.0%}" for n in names))
    for c, row in r["echo_rtt"].items():
        print(f"{'echo RTT ' + c + ' p50/p99 us':36}" + "".join(f"{str(row[n]['p50_us']) + '/' + str(row[n]['p99_us']):>{w}}" for n in names))
        added = [round(row[n]["p50_us"] - row["direct"]["p50_us"], 1) for n in names]
        print(f"{'  p50 added over direct us':36}" + "".join(f"{a:>{w}}" for a in added))
    for t, lat in r["latency_toxic"].items():
        for ms, v in lat.items():
            print(f"{t + ' latency ' + ms + ' mean/max err ms':36}{v['mean_error_ms']:>8}/{v['max_error_ms']}")
    for t, v in r["idle_1000"].items():
        print(f"{t + ' 1000 idle: RSS MB / fds':36}{v['with_idle'].get('rss_mb', '?'):>8} / {v['with_idle'].get('fds', '?')}")
    sc = r["short_connections"]
    print(f"{'short conns/s (' + str(sc['count']) + ')':36}" + "".join(f"{sc[n]['conns_per_s']:>{w}}" for n in names))
    for n in names:
        if "after" in sc[n]:
            print(f"{n + ' after short: RSS MB / fds':36}{sc[n]['after']['rss_mb']:>8} / {sc[n]['after']['fds']}")
    print()


if __name__ == "__main__":
    raise SystemExit(main())
