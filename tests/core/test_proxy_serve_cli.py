"""``chaos-harness proxy serve`` speaks to toxiproxy-python's own client, unchanged."""

import socket
import subprocess
import sys
import threading
import time

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from harness.probes import free_port


@pytest.fixture
def served():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "harness", "proxy", "serve", "--host", "127.0.0.1",
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout.readline().decode().strip() == f"listening on http://127.0.0.1:{port}"
    APIConsumer.host, APIConsumer.port = "127.0.0.1", port
    yield Toxiproxy()
    process.terminate()
    assert process.wait(10) == 0


@pytest.fixture
def echo_server():
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def round_trip(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        start = time.monotonic()
        conn.sendall(b"ping")
        assert conn.recv(16) == b"ping"
        return time.monotonic() - start


def test_client_create_toxic_down_reset_populate_destroy(served, echo_server):
    assert b"2.12.0" in served.version()
    proxy = served.create(upstream=f"127.0.0.1:{echo_server}", name="echo", listen="127.0.0.1:0")
    port = int(proxy.listen.rsplit(":", 1)[1])
    # 500 ms of latency against a 250 ms bound: no busy machine blurs the two
    assert port != 0 and round_trip(port) < 0.25
    proxy.add_toxic(type="latency", attributes={"latency": 500})
    assert set(proxy.toxics()) == {"latency_downstream"}
    assert round_trip(port) >= 0.497
    with proxy.down():
        with pytest.raises(OSError):
            round_trip(port)
    served.reset()
    assert proxy.toxics() == {} and round_trip(port) < 0.25
    served.populate([{"name": "second", "upstream": f"127.0.0.1:{echo_server}", "listen": "127.0.0.1:0"}])
    assert set(served.proxies()) == {"echo", "second"}
    served.destroy(served.get_proxy("second"))
    proxy.destroy()
    assert served.proxies() == {}
