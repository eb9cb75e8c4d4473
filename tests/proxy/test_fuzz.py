"""Hypothesis fuzzing of the HTTP API: random methods, paths and bodies never break the server.

Properties, for every generated request:

* no 5xx, except the documented 500 for listen/bind/resolve failures (spec §2.1);
* every JSON error body carries the HTTP status; 2xx bodies are JSON (204: empty);
* afterwards the server answers ``/version`` exactly, lists its proxies, keeps every
  listener on loopback, and a create -> toxic -> traffic -> delete round trip works.

Runs on a private server of ours only: hostile inputs may crash or wedge a real
Toxiproxy (spec §7), and the check needs our server's internal error log.
Listen addresses come from a fixed set (loopback, or ones that must fail), so
nothing binds a public interface and no random host name is looked up.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxytest_support import REAL, Api, Upstream, assert_forwards, hostport

pytestmark = pytest.mark.skipif(
    REAL, reason="fuzzes our server only: hostile inputs may crash a real Toxiproxy (spec §7)"
)

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
#: The only 500s the spec allows: Go's listen / bind / address / lookup errors.
ALLOWED_500 = re.compile(r"^(listen tcp|address |lookup )")
TOXIC_TYPES = ["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "noop"]
ATTRIBUTES = ["latency", "jitter", "rate", "delay", "timeout", "average_size", "size_variation", "bytes"]


class Raw(str):
    """A JSON literal written as is (numbers Python's ``json`` cannot write)."""


#: Rendered as the API's own address: a port that is always in use.
BUSY = object()
#: A key whose value is left out of the JSON object.
MISSING = object()
_busy_listen = "127.0.0.1:1"


def to_json(v: Any) -> str:
    if v is BUSY:
        return json.dumps(_busy_listen)
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, dict):
        items = [(k, x) for k, x in v.items() if x is not MISSING]
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{to_json(x)}" for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(to_json(x) for x in v if x is not MISSING) + "]"
    return json.dumps(None if v is MISSING else v, ensure_ascii=False)


def scrub(v: Any) -> Any:
    """Drop ``listen`` keys (matched case-insensitively, as Go does) from random JSON."""
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k.casefold() != "listen"}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


# ---------------------------------------------------------------------- strategies


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` about three times in four, else ``bad`` (so that valid requests are common).

    ``good`` is also what Hypothesis shrinks towards (it prefers small integers)."""
    return st.integers(0, 3).flatmap(lambda i: bad if i == 3 else good)


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
proxy_names = st.sampled_from(["fz", "fz2", "a b", "é/ü", "日本"])
names = mostly(proxy_names, st.one_of(st.sampled_from(["%41", "..", ".", "x?y", ""]), text))
toxic_names = mostly(
    st.sampled_from(["t1", "t2"] + [f"{t}_{s}" for t in TOXIC_TYPES for s in ("upstream", "downstream")]), names
)
huge_numbers = st.one_of(
    st.sampled_from(["9223372036854775808", "-9223372036854775809", "1e400", "-1e400", "-0", "100.0", "1E5",
                     "3.4028236e38", "1e-400"]),  # fmt: skip
    st.integers(4000, 6000).map(lambda n: "1" * n),  # beyond Python's int() digit limit
    st.integers(1000, 4000).map(lambda n: "0." + "0" * n + "1"),
).map(Raw)
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.integers(), st.floats(allow_nan=False, allow_infinity=False), huge_numbers
)
float32s = st.one_of(
    st.floats(-2, 2, width=32),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.sampled_from([3.4028235e38, -3.4028235e38, 3.4028233e38, 1.4e-45, -0.0, 1e-7, 1e21]),  # float32 edges
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
).map(scrub)
not_strings = st.one_of(st.none(), st.booleans(), numbers, st.lists(numbers, max_size=2),
                        st.dictionaries(text, numbers, max_size=2), st.just(MISSING))  # fmt: skip
junk = not_strings | text
listens = mostly(
    st.sampled_from(["127.0.0.1:0", "127.0.0.1:0", "localhost:0", "", "127.0.0.1:", "[::1]:0", "127.0.0.1:+0"]),
    st.one_of(
        st.sampled_from(["bad", "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:nosuchservice", "[127.0.0.1]:0",
                         "127.0.0.1:0:0", "[::1", "127.0.0.1]:0", ":", "127.0.0.1:٣", "127.0.0.1: 0"]),  # fmt: skip
        st.just(BUSY),
        not_strings,
    ),
)
proxy_bodies = st.fixed_dictionaries(
    {"name": mostly(proxy_names, junk), "upstream": mostly(st.just("127.0.0.1:1"), junk)},
    optional={"listen": listens, "enabled": mostly(st.booleans() | st.none(), junk), "toxics": json_values},
)
attributes = mostly(
    st.dictionaries(st.sampled_from(ATTRIBUTES), st.integers(-(2**63), 2**63 - 1), max_size=3),
    st.one_of(st.dictionaries(st.sampled_from(ATTRIBUTES) | text, numbers | junk, max_size=4), junk),
)
toxic_bodies = st.fixed_dictionaries(
    {"type": mostly(st.sampled_from(TOXIC_TYPES), junk)},
    optional={
        "name": toxic_names,
        "stream": mostly(st.sampled_from(["upstream", "downstream", "UpStream", "DOWNSTREAM"]), junk),
        "toxicity": mostly(float32s, st.one_of(numbers, junk)),
        "attributes": attributes,
    },
)
bodies = st.one_of(
    st.none(),
    proxy_bodies.map(to_json),
    toxic_bodies.map(to_json),
    st.lists(proxy_bodies | json_values, max_size=4).map(to_json),
    json_values.map(to_json),
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5000).map(lambda n: '{"a":' * n),
    st.integers(10_000, 1_000_000).map(lambda n: "[" + "1," * n + "1]"),
    st.integers(10_000, 300_000).map(lambda n: to_json({"type": "noop", "name": "n" * n, "stream": "sideways"})),
)


@st.composite
def segments(draw: st.DrawFn, pool: st.SearchStrategy[str]) -> str:
    """A path segment: a name percent-encoded (sometimes keeping ``/`` or ``%`` raw)."""
    return quote(draw(pool), safe=draw(mostly(st.just(""), st.sampled_from(["/", "%"]))))


@st.composite
def paths(draw: st.DrawFn) -> str:
    """A route template filled with names, or random segments; sometimes decorated."""
    if draw(st.integers(0, 4)) == 0:
        raw_segments = st.one_of(st.text("abcxyz%./-_~019AF", max_size=6), segments(text))
        path = "/" + "/".join(draw(st.lists(raw_segments, max_size=5)))
    else:
        template = draw(st.sampled_from(
            ["/proxies", "/populate", "/reset", "/version", "/metrics", "/proxies/{p}", "/proxies/{p}/toxics",
             "/proxies/{p}/toxics/{t}", "/proxies/{p}/toxics/{t}"]
        ))  # fmt: skip
        path = template.replace("{p}", draw(segments(names))).replace("{t}", draw(segments(toxic_names)))
    decorations = st.sampled_from(["/", "?a=b&c", "/./", "//", "/..", "%", "%zz", "%2F", "%00"])
    decoration = draw(mostly(st.just(""), decorations))
    return path + decoration


@st.composite
def api_calls(draw: st.DrawFn) -> tuple[str, str, Any]:
    """A well-aimed call: the right route and method for the body, names from a small pool."""
    p = quote(draw(proxy_names), safe="")
    t = quote(draw(toxic_names), safe="")
    method, path, body = draw(st.sampled_from([
        ("POST", "/proxies", proxy_bodies),
        ("POST", "/populate", st.lists(proxy_bodies, max_size=3)),
        ("PATCH", f"/proxies/{p}", proxy_bodies),
        ("POST", f"/proxies/{p}", proxy_bodies),
        ("DELETE", f"/proxies/{p}", st.none()),
        ("POST", f"/proxies/{p}/toxics", toxic_bodies),
        ("POST", f"/proxies/{p}/toxics", toxic_bodies),
        ("PATCH", f"/proxies/{p}/toxics/{t}", toxic_bodies),
        ("POST", f"/proxies/{p}/toxics/{t}", toxic_bodies),
        ("DELETE", f"/proxies/{p}/toxics/{t}", st.none()),
        ("GET", f"/proxies/{p}/toxics/{t}", st.none()),
        ("GET", f"/proxies/{p}/toxics", st.none()),
        ("POST", "/reset", st.none()),
    ]))  # fmt: skip
    value = draw(body)
    return method, path, None if value is None else to_json(value)


random_calls = st.tuples(
    st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "get", "PROPFIND"]), paths(), bodies
)
agents = mostly(st.just("fuzz"), st.sampled_from(["Mozilla/5.0", "curl/8.5.0"]))
requests_ = st.tuples(st.one_of(api_calls(), random_calls), agents)


# ---------------------------------------------------------------------- server and checks


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[Any]:
    global _busy_listen
    from harness.proxy import run_in_thread

    with run_in_thread(seed=7) as handle:
        _busy_listen = f"127.0.0.1:{handle.port}"
        yield handle
        api = Api(handle.url)
        for name in api.get("/proxies").json():
            api.req("DELETE", "/proxies/" + quote(name, safe=""))
        left = api.get("/proxies").json()
        assert all("/" in name for name in left), left  # "a/b" cannot be addressed (spec §1)
        api.cleanup()
    assert not handle.errors, handle.errors


def send(url: str, method: str, path: str, body: bytes | str | None, agent: str) -> tuple[int, dict, bytes]:
    host, port = hostport(url.removeprefix("http://"))
    conn = http.client.HTTPConnection(host, port, timeout=30)
    if isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, path, body=body, headers={"User-Agent": agent})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def check_response(method: str, status: int, headers: dict, body: bytes) -> None:
    __tracebackhide__ = True
    assert 200 <= status < 600
    error = None
    if body.startswith(b'{"error":'):
        error = json.loads(body)
        assert error["status"] == status, body
    if status >= 500:
        assert status == 500 and error is not None, (status, body)
        assert ALLOWED_500.match(error["error"]), error
    if method == "HEAD":
        return
    if status == 405:
        assert body == b""
    elif status == 204:
        assert body == b""
    elif 200 <= status < 300:
        json.loads(body)
    elif status == 301:
        assert headers["location"].startswith("/")
    elif status == 404 and error is None:
        assert body == b"404 page not found\n"


def check_state(url: str, handle: Any) -> None:
    """The server answers, its state is well formed and every listener is on loopback."""
    __tracebackhide__ = True
    status, headers, body = send(url, "GET", "/version", None, "fuzz")
    assert (status, body) == (200, b'{"version": "2.12.0"}\n')
    status, _, body = send(url, "GET", "/proxies", None, "fuzz")
    assert status == 200
    for name, p in json.loads(body).items():
        assert p["name"] == name
        if p["enabled"]:
            assert ipaddress.ip_address(hostport(p["listen"])[0]).is_loopback, p
        toxic_names = [t["name"] for t in p["toxics"]]
        assert len(set(toxic_names)) == len(toxic_names), p
        streams = [t["stream"].lower() for t in p["toxics"]]
        assert streams == sorted(streams, key=lambda s: s != "upstream"), p
    errors = handle.errors
    handle.server.ctx.errors.clear()  # report each example's own errors only
    assert not errors, errors


def assert_round_trip(url: str) -> None:
    """create -> toxic -> traffic through the proxy -> delete."""
    echo = Upstream(echo=True)
    api = Api(url)
    try:
        p = api.create(echo.addr)
        api.toxic(p["name"], "latency", latency=1)
        assert_forwards(p["listen"], b"after fuzzing")
        assert api.req("DELETE", f"/proxies/{p['name']}").status_code == 204
        api.created.clear()
    finally:
        api.cleanup()
        echo.close()


# ---------------------------------------------------------------------- tests


@FUZZ
@given(st.lists(requests_, min_size=1, max_size=6))
def test_api_survives_random_requests(fuzz_server: Any, batch: list) -> None:
    for name in ("fz", "fz2"):  # so that most calls find a proxy (201 or 409)
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}
        send(fuzz_server.url, "POST", "/proxies", to_json(body), "fuzz")
    for (method, path, body), agent in batch:
        status, headers, content = send(fuzz_server.url, method, path, body, agent)
        check_response(method, status, headers, content)
    check_state(fuzz_server.url, fuzz_server)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["PATCH", "POST"]), proxy_bodies), max_size=3),
       st.lists(st.tuples(st.sampled_from(["PATCH", "POST", "DELETE"]), toxic_bodies, toxic_bodies), max_size=5))
def test_typed_bodies_on_an_existing_proxy(fuzz_server: Any, updates: list, toxics: list) -> None:
    """The typed decoders on a proxy that exists: proxy updates, toxic create then update/delete."""
    url = fuzz_server.url
    send(url, "DELETE", "/proxies/typed", None, "fuzz")
    r = send(url, "POST", "/proxies", '{"name":"typed","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}', "fuzz")
    assert r[0] == 201, r
    for method, body in updates:
        check_response(method, *send(url, method, "/proxies/typed", to_json(body), "fuzz"))
    for method, create, update in toxics:
        status, headers, content = send(url, "POST", "/proxies/typed/toxics", to_json(create), "fuzz")
        check_response("POST", status, headers, content)
        name = quote(json.loads(content)["name"] if status == 200 else "t1", safe="")
        check_response(method, *send(url, method, f"/proxies/typed/toxics/{name}", to_json(update), "fuzz"))
    check_state(url, fuzz_server)


_HTTP_TOKENS = st.sampled_from([b"GET", b"POST", b"get", b"", b"G\x00T", b"HEAD", b"\xff"])
_HTTP_VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 ", b"HTTP/x", b"", b"http/1.1"])
_HEADERS = st.lists(
    st.one_of(
        st.sampled_from([b"Host: x", b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 1, 2",
                         b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip", b"Expect: 100-continue",
                         b"Connection: close", b"User-Agent: Mozilla/5", b"Bad Header: x", b": empty"]),  # fmt: skip
        st.binary(max_size=30),
    ),
    max_size=5,
)


@settings(FUZZ, max_examples=150)
@given(_HTTP_TOKENS, st.one_of(paths().map(str.encode), st.binary(max_size=40)), _HTTP_VERSIONS, _HEADERS,
       st.binary(max_size=60))  # fmt: skip
def test_malformed_http_gets_a_4xx_or_a_close(fuzz_server: Any, method: bytes, target: bytes, version: bytes,
                                              headers: list, body: bytes) -> None:  # fmt: skip
    """Raw bytes: the answer is a well-formed status line below 500 (or Go's 501/505), or a close."""
    data = method + b" " + target + b" " + version + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body
    with socket.create_connection((fuzz_server.host, fuzz_server.port), timeout=20) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    if out:
        m = re.match(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n", out)
        assert m, out[:200]
        status = int(m.group(1))
        if status == 500:  # a well-formed request slipped through: only a listen error may be a 500
            assert re.search(rb'\{"error":"(listen tcp|address |lookup )', out), out[:300]
        else:
            assert status < 500 or status in (501, 505), out[:300]
    check_state(fuzz_server.url, fuzz_server)


def test_round_trip_after_fuzzing(fuzz_server: Any) -> None:
    """Runs last in this module: the fuzzed server still proxies traffic."""
    check_state(fuzz_server.url, fuzz_server)
    assert_round_trip(fuzz_server.url)
