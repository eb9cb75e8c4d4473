"""HTTP API conformance, transport (spec §1): version, request ids, the browser block,
redirects, keep-alive, HTTP edge cases and ``-config`` at start."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading

import pytest
import requests

from proxytest_support import REAL, Api, Upstream, assert_forwards, ours_only
from apitest_support import TEXT, raw_http


# ---------------------------------------------------------------------- §1 transport


def test_version_is_exact_json_with_newline(api: Api) -> None:
    """``{"version": "X"}`` + newline, with a space after the colon (Ruby picks PATCH from it)."""
    r = api.get("/version")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json;charset=utf-8"
    m = re.fullmatch(r'\{"version": "(\d+)\.(\d+)\.(\d+)"\}\n', r.text)
    assert m, r.text
    assert tuple(map(int, m.groups())) >= (2, 6, 0)
    if not REAL:
        assert r.text == '{"version": "2.12.0"}\n'


def test_request_id_on_routed_responses(api: Api) -> None:
    """Every routed response carries a fresh 20-character xid; the mux 404 does not."""
    ids = [api.get("/version").headers["X-Toxiproxy-Request-Id"] for _ in range(2)]
    ids.append(api.get("/proxies/no_such_proxy").headers["X-Toxiproxy-Request-Id"])
    assert all(re.fullmatch(r"[0-9a-v]{20}", i) for i in ids), ids
    assert len(set(ids)) == 3
    assert "X-Toxiproxy-Request-Id" not in api.get("/no/such/route").headers


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/"])
def test_browser_user_agent_is_blocked(api: Api, echo: Upstream, agent: str) -> None:
    """A ``Mozilla/`` user agent gets 403 and nothing is created."""
    name = api.name()
    create = {"name": name, "upstream": echo.addr, "listen": "127.0.0.1:0"}
    for method, path, body in [("GET", "/version", None), ("POST", "/proxies", create)]:
        r = api.req(method, path, body, headers={"User-Agent": agent})
        assert r.status_code == 403
        assert r.headers["Content-Type"] == TEXT
        assert r.text == "User agent not allowed\n"
        assert "X-Toxiproxy-Request-Id" in r.headers  # the id middleware runs first
    assert api.get(f"/proxies/{name}").status_code == 404


@pytest.mark.parametrize("agent", ["Wget/2.1", "curl/8.5.0", "toxiproxy-cli"])
def test_other_user_agents_are_allowed(api: Api, agent: str) -> None:
    assert api.req("GET", "/version", headers={"User-Agent": agent}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/nothing", "/proxies/", "/proxies/a/b", "/proxies/a/toxics/b/c", "/version/x"])
def test_unknown_path_is_plain_404(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == TEXT
    assert r.text == "404 page not found\n"


@pytest.mark.parametrize(
    "method, path",
    [("PUT", "/proxies"), ("DELETE", "/proxies"), ("GET", "/populate"), ("GET", "/reset"), ("POST", "/version"),
     ("PUT", "/proxies/x"), ("HEAD", "/version"), ("OPTIONS", "/proxies"), ("PUT", "/proxies/x/toxics/y")],
)  # fmt: skip
def test_wrong_method_is_empty_405(api: Api, method: str, path: str) -> None:
    """Not routed: no request id, and the browser block does not apply either."""
    r = api.req(method, path, headers={"User-Agent": "Mozilla/5.0"})
    assert r.status_code == 405 and r.content == b""
    assert "X-Toxiproxy-Request-Id" not in r.headers
    if method != "HEAD":  # Go sets no Content-Length on an empty HEAD response
        assert r.headers["Content-Length"] == "0"


def test_unclean_path_redirects(server_url: str) -> None:
    """gorilla/mux cleans paths with a 301, keeping the query."""
    out = raw_http(server_url, b"GET /proxies/x/../y?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = out.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 301 Moved Permanently"
    assert b"Location: /proxies/y?q=1" in head


def test_redirect_location_is_percent_encoded(server_url: str) -> None:
    """A decoded path is re-escaped in ``Location`` (as Go's ``url.String()``): no header injection."""
    out = raw_http(server_url, b"GET /a%0Ab%20%C3%A9/./ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = out.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 301 Moved Permanently"
    assert b"Location: /a%0Ab%20%C3%A9/" in head


def test_keep_alive_and_pipelined_requests(server_url: str) -> None:
    """Two requests in one write get two responses, in order, on one connection."""
    req = b"GET /version HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = raw_http(server_url, req)
    assert out.count(b"HTTP/1.1 ") == 2
    first, second = out.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and b'\r\n\r\n{"version": "' in first
    assert second.startswith(b"404 ") and second.endswith(b"404 page not found\n")


@ours_only
def test_name_with_a_slash_is_created_but_not_addressable(echo: Upstream) -> None:
    """gorilla/mux variables cannot hold ``/`` (not even as ``%2F``). A private server,
    because such a proxy can never be deleted through the API."""
    from harness.proxy import run_in_thread

    with run_in_thread() as srv:
        api = Api(srv.url)
        r = api.req("POST", "/proxies", {"name": "a/b", "upstream": echo.addr, "listen": "127.0.0.1:0"})
        assert r.status_code == 201
        assert list(api.get("/proxies").json()) == ["a/b"]
        for path in ["/proxies/a/b", "/proxies/a%2Fb", "/proxies/a%2Fb/toxics"]:
            r = api.get(path)
            assert r.status_code == 404 and r.text == "404 page not found\n"
        api.cleanup()


# ---------------------------------------------------------------------- HTTP edge cases (ours)


@ours_only
def test_http_limits_answer_4xx(server_url: str) -> None:
    """Oversized bodies, bad Content-Length and bad chunk sizes get a 4xx, never a dropped connection."""
    huge = b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n"
    assert raw_http(server_url, huge).startswith(b"HTTP/1.1 400 ")
    head = b"POST /proxies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    padded = head + b"Content-Length: " + b"0" * 5000 + b"2\r\n\r\n{}"
    out = raw_http(server_url, padded)  # leading zeros are fine: the API reads the 2-byte body
    assert out.startswith(b"HTTP/1.1 400 ") and out.endswith(b'"missing required field: name","status":400}\n')
    big = b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"
    assert raw_http(server_url, big).startswith(b"HTTP/1.1 413 ")
    for size in (b"-5", b"0x5", b"5_0", b"+5", b"zz"):
        chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\nhello\r\n0\r\n\r\n"
        assert raw_http(server_url, chunked).startswith(b"HTTP/1.1 400 "), size


@ours_only
def test_body_over_8_mib_is_413(api: Api) -> None:
    """A deliberate limit (Toxiproxy has none): bodies over 8 MiB are refused."""
    r = api.req("POST", "/populate", raw=b" " * (8 * 1024 * 1024 + 1))
    assert r.status_code == 413


# ---------------------------------------------------------------------- CLI -config


def _start_cli(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "harness.proxy", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=30)
    except queue.Empty:
        proc.kill()
        proc.wait(10)
        raise AssertionError("the server printed nothing within 30 s") from None
    m = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", first)
    if not m:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"unexpected first line {first!r}")
    return proc, m.group(1)


def _stop_cli(proc: subprocess.Popen) -> int:
    proc.terminate()
    try:
        return proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


@ours_only
def test_cli_version_flag() -> None:
    cmd = [sys.executable, "-m", "harness.proxy", "-version"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, "toxiproxy-server version 2.12.0\n")


@ours_only
def test_cli_config_populates_at_start(tmp_path, echo: Upstream) -> None:
    """``-config FILE`` (toxiproxy-server's flag spelling) populates before serving."""
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([
        {"name": "db", "listen": "127.0.0.1:0", "upstream": echo.addr},
        {"name": "cache", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1", "enabled": False},
    ]))  # fmt: skip
    proc, url = _start_cli("-host", "127.0.0.1", "-port", "0", "-config", str(config))
    try:
        proxies = requests.get(url + "/proxies", timeout=10).json()
        assert sorted(proxies) == ["cache", "db"]
        assert proxies["cache"]["enabled"] is False and proxies["cache"]["listen"] == "127.0.0.1:0"
        assert proxies["db"]["enabled"] is True
        assert_forwards(proxies["db"]["listen"])
    finally:
        assert _stop_cli(proc) == 0


@ours_only
def test_cli_bad_config_is_only_logged(tmp_path) -> None:
    config = tmp_path / "proxies.json"
    config.write_text('{"not": "an array"}')
    proc, url = _start_cli("--host", "127.0.0.1", "--port", "0", "--config", str(config))
    try:
        assert requests.get(url + "/proxies", timeout=10).text == "{}"
    finally:
        assert _stop_cli(proc) == 0
