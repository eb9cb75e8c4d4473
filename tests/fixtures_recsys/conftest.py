"""Fixtures for the recommendation pipeline's tests: real Redis, real services, real proxy.

A real ``redis-server`` (Debian's) is started as a subprocess on a free loopback port
from the snapshot ``setup_recsys.py`` wrote; the recommender runs under uvicorn
exactly as ``pipeline.yaml`` starts it; faults on the ``features`` link go through our
Toxiproxy-API server (``python -m harness.proxy``) driven over its HTTP API. Every
wait is bounded. Locust is never imported here (gevent): it runs as a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RECSYS_DIR = ROOT / "fixtures" / "recsys"
SETUP = RECSYS_DIR / "setup_recsys.py"
SEED = 7

if str(RECSYS_DIR) not in sys.path:
    sys.path.insert(0, str(RECSYS_DIR))

from resp import NOTHING, ReplyParser, RespError, encode  # noqa: E402

if shutil.which("redis-server") is None:  # pragma: no cover - the machine brief installs it
    pytest.skip("redis-server is not installed (apt-get install redis-server)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_setup(out: Path, model_dir: Path, seed: int = SEED, *extra: str, timeout: float = 60) -> dict:
    """Run ``setup_recsys.py``; its JSON line."""
    done = subprocess.run([sys.executable, str(SETUP), "--out", str(out), "--model-dir", str(model_dir),
                           "--seed", str(seed), *extra], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Redis:
    """``redis-server`` on a free loopback port, on a snapshot directory, as pipeline.yaml runs it."""

    def __init__(self, store_dir: Path, log_dir: Path) -> None:
        self.store_dir, self.port = store_dir, free_port()
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self, timeout: float = 15.0) -> "Redis":
        """Start (or restart) the server and wait until it answers PING."""
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.store_dir),
             "--dbfilename", "features.rdb", "--save", "", "--appendonly", "no", "--logfile", str(self.log_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if self.commands(("PING",))[0] == "PONG":  # "-LOADING" while it reads the snapshot
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer:\n{self.log_path.read_text(errors='replace')[-2000:]}")

    def commands(self, *commands: tuple) -> list[Any]:
        """Send ``commands`` in one round trip on a fresh connection; their replies."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"".join(encode(*c) for c in commands))
            parser, replies = ReplyParser(), []
            while len(replies) < len(commands):
                reply = parser.pop()
                if reply is NOTHING:
                    data = sock.recv(1 << 16)
                    if not data:
                        raise OSError("redis closed the connection")
                    parser.feed(data)
                else:
                    replies.append(reply)
        return replies

    def command(self, *args: Any) -> Any:
        """One command's reply (RespError replies raise)."""
        reply = self.commands(args)[0]
        if isinstance(reply, RespError):
            raise RuntimeError(f"{args[0]}: {reply.message}")
        return reply

    def hash(self, key: str) -> dict[str, str]:
        """HGETALL ``key`` as text."""
        flat = [x.decode() for x in self.command("HGETALL", key)]
        return dict(zip(flat[0::2], flat[1::2]))

    def kill(self) -> None:
        """SIGKILL the server (as the supervisor's kill fault does)."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@contextmanager
def restored(redis: Redis, *keys: str) -> Iterator[None]:
    """Let a test write to ``keys`` freely: each is put back exactly (fields and values) afterwards."""
    saved = {key: redis.hash(key) for key in keys}
    try:
        yield
    finally:
        restore = []
        for key, fields in saved.items():
            restore.append(("DEL", key))
            if fields:
                restore.append(("HSET", key, *(x for pair in fields.items() for x in pair)))
        redis.commands(*restore)
        assert {key: redis.hash(key) for key in keys} == saved


class Recommender:
    """The recommender under uvicorn on a free loopback port."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"recommender-{self.port}.log"
        self._log = open(self.log_path, "wb")
        cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(RECSYS_DIR), "recommender:app",
               "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 30.0) -> "Recommender":
        deadline = time.monotonic() + timeout
        with self.http() as http:
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if http.get("/health", timeout=3.0).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"recommender did not become healthy:\n{self.log_path.read_text()}")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)

    def get(self, user_id: int, k: int = 10) -> dict:
        """One recommendation; it must be a 200."""
        with self.http() as http:
            resp = http.get("/recommendations", params={"user_id": user_id, "k": k})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def metrics_text(self) -> str:
        with self.http() as http:
            return http.get("/metrics").text

    def metrics(self) -> dict[str, float]:
        """``{'name{labels}': value}`` of every sample (the parse itself is tested with prometheus_client)."""
        out = {}
        for line in self.metrics_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def stop(self) -> None:
        _stop(self.proc)
        self._log.close()


class Proxy:
    """Our Toxiproxy-API server in a subprocess, with a client for the calls the tests make."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", "0"],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self._first_line(timeout=30)
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
        if not match:
            _stop(self.proc)
            raise RuntimeError(f"unexpected first line from the proxy: {line!r}")
        self.api = httpx.Client(base_url=match.group(1), timeout=10.0, trust_env=False)

    def _first_line(self, timeout: float) -> str:
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                _stop(self.proc)
                raise RuntimeError(f"the proxy printed nothing within {timeout:g} s")
        return self.proc.stdout.readline()

    def create(self, name: str, upstream: str) -> str:
        """Create proxy ``name`` to ``upstream`` on a free port; its ``host:port``."""
        resp = self.api.post("/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": upstream})
        assert resp.status_code == 201, resp.text
        return resp.json()["listen"]

    def toxic(self, name: str, kind: str, **attributes: int) -> None:
        """Add toxic ``kind`` (downstream) to proxy ``name``; :meth:`heal` removes it."""
        resp = self.api.post(f"/proxies/{name}/toxics", json={"name": "fault", "type": kind,
                                                              "stream": "downstream", "attributes": attributes})
        assert resp.status_code == 200, resp.text

    def heal(self, name: str) -> None:
        """Remove the toxic :meth:`toxic` added."""
        assert self.api.delete(f"/proxies/{name}/toxics/fault").status_code == 204

    def enabled(self, name: str, on: bool) -> None:
        """``down`` (False) or up again (True)."""
        assert self.api.post(f"/proxies/{name}", json={"enabled": on}).status_code == 200

    def close(self) -> None:
        self.api.close()
        _stop(self.proc)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One setup (snapshot, model, golden set) shared by the session."""
    root = tmp_path_factory.mktemp("recsys")
    info = run_setup(root / "run", root / "cache" / "recsys-model")
    return {"root": root, "run": root / "run", "model_dir": root / "cache" / "recsys-model", "setup": info}


@pytest.fixture(scope="session")
def redis_server(prepared: dict) -> Iterator[Redis]:
    server = Redis(prepared["run"] / "redis", prepared["root"])
    yield server
    server.stop()


def recommender_env(prepared: dict, redis_url: str, **env: str) -> dict[str, str]:
    """The recommender's environment as pipeline.yaml sets it, plus ``env``."""
    return {"REDIS_URL": redis_url, "MODEL_DIR": str(prepared["model_dir"]), "MODEL_SEED": str(SEED), **env}


@pytest.fixture(scope="session")
def recommender(prepared: dict, redis_server: Redis) -> Iterator[Recommender]:
    """Straight to Redis, cache off, a deadline no busy machine reaches: the primary path."""
    env = recommender_env(prepared, f"redis://127.0.0.1:{redis_server.port}/0", CACHE_TTL_S="0",
                          STORE_TIMEOUT_MS="5000")
    svc = Recommender(env, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def golden_cases(prepared: dict) -> list[dict]:
    import golden_set

    return golden_set.read_cases(prepared["setup"]["golden"])
