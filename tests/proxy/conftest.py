"""Fixtures for the fault-proxy conformance suite.

By default every test runs against our server (``harness.proxy.run_in_thread``). With
``TOXIPROXY_URL=http://127.0.0.1:8474`` the same tests run against a real Toxiproxy
(upstream servers still run here, on 127.0.0.1); tests marked ``ours_only`` skip.

Every address is loopback; every wait is bounded.
"""

from __future__ import annotations

import socket
from typing import Any, Iterator

import pytest

from proxytest_support import REAL, SEED, TOXIPROXY_URL, Api, Upstream


# ---------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def proxy_server() -> Iterator[Any]:
    """Our server handle (``None`` when testing a real Toxiproxy)."""
    if REAL:
        yield None
        return
    from harness.proxy import run_in_thread

    with run_in_thread(seed=SEED) as handle:
        yield handle
    assert not handle.errors, handle.errors


@pytest.fixture(scope="session")
def server_url(proxy_server: Any) -> str:
    return TOXIPROXY_URL if REAL else proxy_server.url


@pytest.fixture
def api(server_url: str) -> Iterator[Api]:
    a = Api(server_url)
    yield a
    a.cleanup()


@pytest.fixture
def echo() -> Iterator[Upstream]:
    u = Upstream(echo=True)
    yield u
    u.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream(echo=False)
    yield u
    u.close()


@pytest.fixture
def blocker():
    """A listening loopback socket: its port cannot be bound by a proxy."""
    s = socket.create_server(("127.0.0.1", 0))
    yield s
    s.close()
