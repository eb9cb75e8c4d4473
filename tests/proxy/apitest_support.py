"""Helpers of the HTTP API conformance tests (test_api_*.py, one module per area).

Those tests run against our server by default and against a real Toxiproxy when
``TOXIPROXY_URL`` is set (``ours_only`` tests skip there). Status codes, headers and
error messages are compared exactly, because the Go client compares error strings.
"""

from __future__ import annotations

import json
import socket

import requests

from proxytest_support import hostport

TEXT = "text/plain; charset=utf-8"
DEFAULT_ATTRIBUTES = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
    "noop": {},
}


def assert_error(r: requests.Response, status: int, message: str, content_type: str = TEXT) -> None:
    """An ``apiError``: ``{"error","status"}`` + newline, sent with ``http.Error``'s text/plain."""
    __tracebackhide__ = True
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == content_type
    body = json.loads(r.text)
    assert body.pop("error") == message
    assert body.pop("status") == status
    if content_type == TEXT:
        assert r.text.endswith("}\n") and body == {}
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def assert_json(r: requests.Response, status: int) -> object:
    """A success body: ``application/json``, compact, no trailing newline."""
    __tracebackhide__ = True
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert not r.text.endswith("\n")
    return r.json()


def port_of(listen: str) -> int:
    return hostport(listen)[1]


def raw_http(url: str, data: bytes) -> bytes:
    """Send raw bytes to the API and return everything until EOF."""
    host, port = hostport(url.removeprefix("http://"))
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out
