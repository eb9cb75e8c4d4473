"""Probes: composable waits for "is it healthy yet?", whose timeouts explain themselves.

Modelled on testcontainers' wait strategies: builder methods return the probe, and a
timeout lists the endpoint, the expectation, the last observation and a hint.

>>> HttpProbe("http://127.0.0.1:8000/health").with_timeout(20).wait()   # doctest: +SKIP
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable

from harness.errors import ProbeTimeout


class HttpProbe:
    """Passes when ``method url`` answers with ``status`` (and ``check(body)`` is true)."""

    def __init__(self, url: str, *, method: str = "GET", body: dict[str, Any] | None = None,
                 status: int = 200, check: Callable[[Any], bool] | None = None):
        self.url, self.method, self.body, self.status, self.check = url, method, body, status, check
        self.timeout, self.poll_interval, self.hint = 30.0, 0.1, "check the service's log"
        self.last_observation = "no attempt yet"

    def with_timeout(self, seconds: float) -> "HttpProbe":
        """Give up after ``seconds``."""
        self.timeout = seconds
        return self

    def with_poll_interval(self, seconds: float) -> "HttpProbe":
        """Wait ``seconds`` between attempts."""
        self.poll_interval = seconds
        return self

    def with_hint(self, hint: str) -> "HttpProbe":
        """What to tell the user when the probe times out."""
        self.hint = hint
        return self

    def check_once(self) -> bool:
        """One attempt; remembers what it saw."""
        data = json.dumps(self.body).encode() if self.body is not None else None
        request = urllib.request.Request(self.url, data=data, method=self.method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=min(2.0, self.timeout)) as response:
                payload = response.read()
                self.last_observation = f"HTTP {response.status}: {payload[:200]!r}"
                if response.status != self.status:
                    return False
                return self.check is None or bool(self.check(json.loads(payload)))
        except urllib.error.HTTPError as exc:
            self.last_observation = f"HTTP {exc.code}"
        except (OSError, socket.timeout, ValueError) as exc:
            self.last_observation = f"{type(exc).__name__}: {exc}"
        return False

    def wait(self) -> float:
        """Poll until the probe passes; return seconds waited or raise ProbeTimeout."""
        start = time.monotonic()
        while True:
            if self.check_once():
                return time.monotonic() - start
            if time.monotonic() - start > self.timeout:
                raise ProbeTimeout(
                    f"{self.method} {self.url} did not answer {self.status} within "
                    f"{self.timeout:g}s; last observation: {self.last_observation}. "
                    f"Hint: {self.hint}")
            time.sleep(self.poll_interval)


class TcpProbe(HttpProbe):
    """Passes when ``host:port`` accepts a TCP connection (a service without HTTP)."""

    def __init__(self, host: str, port: int):
        super().__init__(f"tcp://{host}:{port}", method="CONNECT")
        self.address = (host, port)

    def check_once(self) -> bool:
        """One connection attempt; remembers what it saw."""
        try:
            with socket.create_connection(self.address, timeout=min(2.0, self.timeout)):
                self.last_observation = "connected"
                return True
        except OSError as exc:
            self.last_observation = f"{type(exc).__name__}: {exc}"
            return False


_HANDED_OUT: set[int] = set()
"""Ports :func:`free_port` has returned in this process. The kernel may offer a port again
as soon as it is free, before the process it went to has bound it: one run once gave its
proxy server and a service the same port."""
_HANDED_OUT_LOCK = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago and that this process has not
    handed out before."""
    with _HANDED_OUT_LOCK:
        for _ in range(1000):
            with socket.socket() as sock:
                sock.bind((host, 0))
                port = sock.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    raise OSError(f"no TCP port on {host} that this process has not handed out already")
