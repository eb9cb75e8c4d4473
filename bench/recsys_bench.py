"""Figures of the recommendation pipeline (fixtures/recsys) on this machine, no harness involved.

    python bench/recsys_bench.py                    # all figures, one JSON document on stdout
    python bench/recsys_bench.py --requests 4000 --locust-s 30

* **cpu**: recommender and Redis CPU per request (``/proc``), sequential requests
  from one client straight to Redis, answer cache off (every request ranks).
* **load**: Locust (``RecsysUser``, ``constant_throughput(5)`` per user) through our
  proxy on both links' data path (``features``), answer cache on (10 s): requests,
  failures, percentiles from Locust's CSV, cache hit rate and fallbacks from ``/metrics``.
* **restarts**: a recommender process from start to ``/health`` 200; Redis SIGKILLed
  and restarted after 0.5 s (``restart_delay``), to the first answer the model ranked.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RECSYS = ROOT / "fixtures" / "recsys"
WRAPPER = """import sys
sys.path.insert(0, {dir!r})
from locust import constant_throughput
from locustfile import RecsysUser
RecsysUser.wait_time = constant_throughput(5)
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(url: str, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            time.sleep(0.02)
    raise RuntimeError(f"{url} not ready in {timeout} s")


class Pipeline:
    """Redis on the snapshot, our proxy, and recommenders started on demand."""

    def __init__(self, root: Path) -> None:
        self.root, self.procs = root, []
        subprocess.run([sys.executable, str(RECSYS / "setup_recsys.py"), "--out", str(root), "--model-dir",
                        str(root / "model"), "--seed", "7"], check=True, capture_output=True, timeout=120)
        self.redis_port = _port()
        self.redis = self.start_redis()
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        proxy = self.spawn([sys.executable, "-m", "harness.proxy", "--port", "0"], stdout=subprocess.PIPE, text=True)
        self.api = re.search(r"http://\S+", proxy.stdout.readline()).group(0)
        made = httpx.post(f"{self.api}/proxies", json={"name": "features", "listen": "127.0.0.1:0",
                                                      "upstream": f"127.0.0.1:{self.redis_port}"}, trust_env=False)
        self.features = made.json()["listen"]

    def spawn(self, argv: list[str], **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        return proc

    def start_redis(self) -> subprocess.Popen:
        proc = self.spawn(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir",
                           str(self.root / "redis"), "--dbfilename", "features.rdb", "--save", "", "--appendonly", "no"])
        return proc

    def recommender(self, redis: str, **env: str) -> tuple[subprocess.Popen, str, float]:
        port = _port()
        proc = self.spawn([sys.executable, "-m", "uvicorn", "--app-dir", str(RECSYS), "recommender:app", "--port",
                           str(port), "--log-level", "warning", "--no-access-log"],
                          env={**os.environ, "REDIS_URL": f"redis://{redis}/0", "MODEL_DIR": str(self.root / "model"),
                               "MODEL_SEED": "7", **env})
        url = f"http://127.0.0.1:{port}"
        return proc, url, _wait(f"{url}/health")

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def _metrics(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", trust_env=False).text
    return {k: float(v) for k, _, v in (line.rpartition(" ") for line in text.splitlines() if line and line[0] != "#")}


def bench_cpu(pipe: Pipeline, requests: int) -> dict:
    proc, url, started_s = pipe.recommender(f"127.0.0.1:{pipe.redis_port}", CACHE_TTL_S="0")
    with httpx.Client(base_url=url, trust_env=False) as http:
        for i in range(100):
            http.get(f"/recommendations?user_id={i}&k=10")
        cpu0, redis0, t0 = _cpu(proc.pid), _cpu(pipe.redis.pid), time.perf_counter()
        for i in range(requests):
            http.get(f"/recommendations?user_id={i % 5000}&k=10")
        wall = time.perf_counter() - t0
    return {"requests": requests, "recommender_cpu_ms": round(1000 * (_cpu(proc.pid) - cpu0) / requests, 3),
            "redis_cpu_ms": round(1000 * (_cpu(pipe.redis.pid) - redis0) / requests, 3),
            "sequential_req_s": round(requests / wall), "recommender_start_s": round(started_s, 2)}


def bench_load(pipe: Pipeline, users: int, seconds: int) -> dict:
    _, url, _ = pipe.recommender(pipe.features)
    wrapper = pipe.root / "wrapped_locustfile.py"
    wrapper.write_text(WRAPPER.format(dir=str(RECSYS)))
    before = _metrics(url)
    subprocess.run([sys.executable, "-m", "locust", "-f", str(wrapper), "--headless", "-u", str(users), "-r",
                    str(users), "-t", f"{seconds}s", "--host", url, "--csv", str(pipe.root / "load"), "--only-summary"],
                   cwd=pipe.root, capture_output=True, timeout=seconds + 60, env={**os.environ, "CHAOS_SEED": "1"})
    with open(pipe.root / "load_stats.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "/recommendations")
    after = _metrics(url)
    hits = after['cache_lookups_total{result="hit"}'] - before['cache_lookups_total{result="hit"}']
    misses = after['cache_lookups_total{result="miss"}'] - before['cache_lookups_total{result="miss"}']
    fallbacks = after['recommendations_total{fallback="true"}'] - before['recommendations_total{fallback="true"}']
    return {"users": users, "seconds": seconds, "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]), "req_s": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
            "cache_hit_rate": round(hits / max(hits + misses, 1), 3), "fallbacks": int(fallbacks)}


def bench_redis_restart(pipe: Pipeline) -> dict:
    _, url, _ = pipe.recommender(pipe.features, BREAKER_RESET_S="0.2")
    pipe.redis.kill()
    pipe.redis.wait(10)
    killed = time.perf_counter()
    time.sleep(0.5)
    pipe.redis = pipe.start_redis()
    user = 0
    with httpx.Client(base_url=url, trust_env=False) as http:
        while http.get(f"/recommendations?user_id={user}&k=5").json()["popular_fallback"]:
            user += 1
            time.sleep(0.01)
    return {"kill_to_model_answer_s": round(time.perf_counter() - killed, 2), "fallback_answers": user}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--locust-s", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as tmp:
        pipe = Pipeline(Path(tmp))
        try:
            result = {"cpu": bench_cpu(pipe, args.requests), "load": bench_load(pipe, args.users, args.locust_s),
                      "restart": bench_redis_restart(pipe)}
        finally:
            pipe.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
