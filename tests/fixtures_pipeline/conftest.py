"""Fixtures for the reference pipeline's tests: real services on loopback ports.

Services are started with ``python -m uvicorn`` exactly as ``pipeline.yaml`` does,
minus the proxies. Every wait is bounded. Locust is never imported here (it
monkey-patches the process with gevent): it runs as a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

PIPELINE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "pipeline"
SETUP = PIPELINE_DIR / "setup_pipeline.py"
SEED = 7

if str(PIPELINE_DIR) not in sys.path:
    sys.path.insert(0, str(PIPELINE_DIR))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_setup(db: Path, model_dir: Path, seed: int, *extra: str, timeout: float = 60) -> dict:
    out = subprocess.run(
        [sys.executable, str(SETUP), "--db", str(db), "--model-dir", str(model_dir), "--seed", str(seed), *extra],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=10.0, trust_env=False)


class Service:
    """A uvicorn subprocess serving ``module:app`` on a free loopback port."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path) -> None:
        self.module = module
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{module}-{self.port}.log"
        cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(PIPELINE_DIR), f"{module}:app",
               "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 30.0, ok: tuple[int, ...] = (200,)) -> "Service":
        """Wait until ``/health`` answers with a status in ``ok``."""
        deadline = time.monotonic() + timeout
        with client(self.url) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if http.get("/health", timeout=3.0).status_code in ok:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.module} did not become healthy:\n{self.log_path.read_text()}")

    def http(self) -> httpx.Client:
        return client(self.url)

    def metrics(self) -> dict[str, float]:
        with self.http() as http:
            return parse_metrics(http.get("/metrics").text)

    def predict(self, body: dict) -> dict:
        """POST ``body`` to ``/predict``; the JSON answer, which must be a 200."""
        with self.http() as http:
            resp = http.post("/predict", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def wait_for(self, predicate, what: str, timeout: float = 15.0) -> dict:
        """Poll ``/health`` until ``predicate(body)`` holds (bounded); return that body."""
        deadline = time.monotonic() + timeout
        body: dict = {}
        with self.http() as http:
            while time.monotonic() < deadline:
                body = http.get("/health").json()
                if predicate(body):
                    return body
                time.sleep(0.05)
        raise AssertionError(f"{self.module}: {what} not seen within {timeout:g} s; last /health: {body}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value} (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def txn(entity_id: int, **extra) -> dict:
    body = {"transaction_id": f"t-{entity_id}", "entity_id": entity_id, "amount": 42.5, "hour": 14,
            "merchant_category": "online_retail"}
    body.update(extra)
    return body


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One cold setup (table + trained model) shared by the session."""
    root = tmp_path_factory.mktemp("pipeline")
    db, model_dir = root / "run" / "features.db", root / "cache" / "model"
    started, start = time.time(), time.perf_counter()
    info = run_setup(db, model_dir, SEED)
    info["wall_s"] = time.perf_counter() - start
    return {"root": root, "db": db, "model_dir": model_dir, "setup": info, "started": started}


@pytest.fixture(scope="session")
def feature_server(prepared: dict) -> Iterator[Service]:
    svc = Service("feature_server", {"FEATURE_DB": str(prepared["db"])}, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def model_server(prepared: dict, feature_server: Service) -> Iterator[Service]:
    # A feature deadline no busy machine reaches: these tests are about the primary path
    # (timeouts have their own server in test_pipeline_model_server.py).
    env = {"FEATURE_URL": feature_server.url, "MODEL_DIR": str(prepared["model_dir"]),
           "FEATURE_TIMEOUT_MS": "5000"}
    svc = Service("model_server", env, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


@dataclass
class Scratch:
    """A private pipeline: its own table, golden set, model cache copy and feature server."""

    root: Path
    db: Path
    model_dir: Path
    golden: Path
    setup: dict
    feature_server: Service

    def model_server(self, **env: str) -> Service:
        """Start (not wait for) a model server on this pipeline; ``env`` adds settings."""
        base = {"FEATURE_URL": self.feature_server.url, "MODEL_DIR": str(self.model_dir), "MODEL_SEED": str(SEED)}
        return Service("model_server", {**base, **env}, self.root)


@contextmanager
def scratch_pipeline(prepared: dict, root: Path) -> Iterator[Scratch]:
    """Set up a :class:`Scratch` pipeline under ``root`` (the cached model makes it fast)."""
    model_dir = root / "model"
    shutil.copytree(prepared["model_dir"], model_dir)
    db = root / "features.db"
    info = run_setup(db, model_dir, SEED)
    features = Service("feature_server", {"FEATURE_DB": str(db)}, root).wait_healthy()
    try:
        yield Scratch(root, db, model_dir, Path(info["golden"]), info, features)
    finally:
        features.stop()


@contextmanager
def db_write(path: Path) -> Iterator[sqlite3.Connection]:
    """An autocommit connection to the live feature table (as a data fault would use)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def saved_row(path: Path, entity_id: int) -> Iterator[sqlite3.Connection]:
    """Write to one row freely; it is restored afterwards."""
    with db_write(path) as conn:
        cur = conn.execute("SELECT * FROM features WHERE entity_id = ?", (entity_id,))
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        try:
            yield conn
        finally:
            sets = ", ".join(f"{n} = ?" for n in names[1:])
            conn.execute(f"UPDATE features SET {sets} WHERE entity_id = ?", (*row[1:], entity_id))


@contextmanager
def retyped_column(path: Path, column: str, sql_type: str) -> Iterator[None]:
    """Give ``column`` the declared type ``sql_type`` (values CAST), as a schema migration would.

    Restored with its declared type and exact values (at the end of the column list)."""
    with db_write(path) as conn:
        decl = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(features)")}[column]
        saved = conn.execute(f"SELECT {column}, entity_id FROM features").fetchall()

        def convert(to: str, values: list | None = None) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"ALTER TABLE features ADD COLUMN retype_tmp {to}")
            if values is None:
                conn.execute(f"UPDATE features SET retype_tmp = CAST({column} AS {to})")
            else:
                conn.executemany("UPDATE features SET retype_tmp = ? WHERE entity_id = ?", values)
            conn.execute(f"ALTER TABLE features DROP COLUMN {column}")
            conn.execute(f"ALTER TABLE features RENAME COLUMN retype_tmp TO {column}")
            conn.execute("COMMIT")

        convert(sql_type)
        try:
            yield
        finally:
            convert(decl, saved)


@contextmanager
def added_column(path: Path, name: str, sql_type: str = "TEXT", value: object = "surprise") -> Iterator[None]:
    with db_write(path) as conn:
        conn.execute(f"ALTER TABLE features ADD COLUMN {name} {sql_type}")
        conn.execute(f"UPDATE features SET {name} = ?", (value,))
        try:
            yield
        finally:
            conn.execute(f"ALTER TABLE features DROP COLUMN {name}")


@contextmanager
def renamed_column(path: Path, old: str, new: str) -> Iterator[None]:
    with db_write(path) as conn:
        conn.execute(f"ALTER TABLE features RENAME COLUMN {old} TO {new}")
        try:
            yield
        finally:
            conn.execute(f"ALTER TABLE features RENAME COLUMN {new} TO {old}")


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()
