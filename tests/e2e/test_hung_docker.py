"""A Docker engine that accepts connections and never answers (a hung dockerd): a run on
the docker backend fails within a bounded time on its own, and an interrupt ends it
within 2 s, reports written. The engine is faked by a unix socket (``DOCKER_HOST``):
a fake of the environment, since a real engine cannot be made to hang on purpose.
"""

import json
import signal
import socket
import threading
import time

import pytest

from harness.dockerutil import ANSWER_TIMEOUT
from tests.e2e.conftest import journal, launch

pytestmark = pytest.mark.slow


class HungEngine:
    """Accepts on ``path``, reads what callers send, never answers."""

    def __init__(self, path):
        self.path, self.heard, self._held = path, [], []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        while data := conn.recv(65536):
            self.heard.append(data)

    def close(self):
        self._server.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def hung_engine(tmp_path):
    engine = HungEngine(tmp_path / "docker.sock")
    yield engine
    engine.close()


def _run_on(engine, reports_dir):
    return launch("db-latency.yaml", reports_dir, "--backend", "docker",
                  env={"DOCKER_HOST": f"unix://{engine.path}"})


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_ends_a_run_on_a_hung_engine_within_2_s(sig, hung_engine, reports_dir):
    process = _run_on(hung_engine, reports_dir)
    deadline = time.monotonic() + 60
    while not any(b"GET /" in data for data in hung_engine.heard):  # it waits on the engine now
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    signalled = time.monotonic()
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    took = time.monotonic() - signalled
    assert process.returncode == 130, out + err
    assert took < 2.0, f"exit {took:.2f} s after {sig.name}"
    run_dir = (reports_dir / "latest").resolve()
    assert json.loads((run_dir / "report.json").read_text())["status"] == "interrupted"
    assert [r["phase"] for r in journal(run_dir) if r["kind"] == "signal_received"] == ["setup"]


def test_a_hung_engine_fails_the_run_in_bounded_time(hung_engine, reports_dir):
    started = time.monotonic()
    process = _run_on(hung_engine, reports_dir)
    out, err = process.communicate(timeout=120)
    took = time.monotonic() - started
    assert process.returncode == 3, out + err
    assert f"no Docker engine answers at unix://{hung_engine.path} within {ANSWER_TIMEOUT:g} s" in err
    assert ANSWER_TIMEOUT <= took < ANSWER_TIMEOUT + 15, f"failed after {took:.1f} s"
    run_dir = (reports_dir / "latest").resolve()
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "error" and "no Docker engine answers" in report["error"]
