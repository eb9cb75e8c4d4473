"""The real driver's promise: every change is ONE request over ONE kept-alive connection,
and a connection the server dropped while idle costs a reconnect, not the change."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest

from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.errors import DriverError
from tests.core.stack_support import proxy_server


class _Counting:
    """Counts the connections opened and the requests sent through http.client."""

    def __init__(self, monkeypatch):
        self.connections, self.requests = 0, []
        connect, request = http.client.HTTPConnection.connect, http.client.HTTPConnection.request
        counter = self

        def counted_connect(conn):
            counter.connections += 1
            return connect(conn)

        def counted_request(conn, method, url, *args, **kwargs):
            counter.requests.append((method, url))
            return request(conn, method, url, *args, **kwargs)

        monkeypatch.setattr(http.client.HTTPConnection, "connect", counted_connect)
        monkeypatch.setattr(http.client.HTTPConnection, "request", counted_request)


def test_each_change_is_one_request_on_one_warm_connection(monkeypatch):
    with proxy_server() as url:
        driver = ToxiproxyDriver(url)
        driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
        driver.resolve("features")
        counting = _Counting(monkeypatch)
        driver.add_toxic("features", name="slow", type="latency", attributes={"latency": 100})
        driver.set_enabled("features", False)
        driver.set_enabled("features", True)
        driver.remove_toxic("features", "slow")
        driver.close()
    assert counting.requests == [("POST", "/proxies/features/toxics"), ("POST", "/proxies/features"),
                                 ("POST", "/proxies/features"), ("DELETE", "/proxies/features/toxics/slow")]
    assert counting.connections == 0  # all on the connection the look-up opened


def _one_shot_server(answers: int) -> tuple[str, list[int], threading.Thread]:
    """A server that answers one request per connection with keep-alive headers and then
    drops the connection (as a server's idle timeout does); ``answers`` connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    served: list[int] = []

    def serve():
        with listener:
            for _ in range(answers):
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")
                    served.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", served, thread


def test_a_connection_dropped_while_idle_is_reopened_and_the_change_still_made(monkeypatch):
    url, served, thread = _one_shot_server(2)
    driver = ToxiproxyDriver(url)
    driver.resolve("features")  # opens the connection; the server then drops it
    counting = _Counting(monkeypatch)
    driver.add_toxic("features", name="slow", type="latency")
    thread.join(5)
    assert len(served) == 2 and counting.connections == 1
    assert counting.requests == [("POST", "/proxies/features/toxics")] * 2  # sent again, once


def test_a_server_that_is_gone_is_named_with_the_request():
    with socket.create_server(("127.0.0.1", 0)) as holder:
        url = f"http://127.0.0.1:{holder.getsockname()[1]}"
    with pytest.raises(DriverError, match=r"Toxiproxy at http://127.0.0.1:\d+ unreachable while trying to "
                                          r"add toxic 'slow' to 'features'"):
        ToxiproxyDriver(url, timeout=2).add_toxic("features", name="slow", type="latency")


@pytest.mark.parametrize("url", ["127.0.0.1:8474", "https://127.0.0.1:8474", "http://127.0.0.1"])
def test_a_url_it_cannot_use_is_refused_at_once(url):
    with pytest.raises(DriverError, match="must look like http://host:port"):
        ToxiproxyDriver(url)
