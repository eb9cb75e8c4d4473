"""HTTP API conformance: every route of the Toxiproxy v2 API, as in spec §1-§2, §4.1-§4.3.

Runs against our server by default and against a real Toxiproxy when ``TOXIPROXY_URL``
is set (``ours_only`` tests skip there). Status codes, headers and error messages are
compared exactly, because the Go client compares error strings.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from proxytest_support import (
    REAL,
    Api,
    Upstream,
    connect,
    echo_rtt,
    hostport,
    ours_only,
    port_refuses,
    recv_exactly,
    wait_eof,
    wait_until,
)

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


@pytest.fixture
def blocker():
    """A listening loopback socket: its port cannot be bound by a proxy."""
    s = socket.create_server(("127.0.0.1", 0))
    yield s
    s.close()


def raw_http(url: str, data: bytes) -> bytes:
    """Send raw bytes to the API and return everything until EOF."""
    host, port = hostport(url.removeprefix("http://"))
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


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


# ---------------------------------------------------------------------- §2.3 create


def test_create_returns_201_with_bound_listen(api: Api, echo: Upstream) -> None:
    """``127.0.0.1:0`` comes back as the real bound address, and the port forwards."""
    name = api.name()
    r = api.req("POST", "/proxies", {"name": name, "listen": "127.0.0.1:0", "upstream": echo.addr})
    api.created.add(name)
    p = assert_json(r, 201)
    assert [k for k in p if k != "Logger"] == ["name", "listen", "upstream", "enabled", "toxics"]
    assert p["name"] == name and p["upstream"] == echo.addr and p["enabled"] is True and p["toxics"] == []
    host, port = hostport(p["listen"])
    assert host == "127.0.0.1" and port != 0
    with connect(p["listen"]) as c:
        c.sendall(b"hello")
        assert recv_exactly(c, 5) == b"hello"
    assert assert_json(api.get(f"/proxies/{name}"), 200) == p
    assert r.text == (f'{{"name":"{name}","listen":"{p["listen"]}","upstream":"{echo.addr}","enabled":true,'
                      f'"Logger":{{}},"toxics":[]}}')  # fmt: skip


def test_create_resolves_localhost(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, listen="localhost:0")
    assert p["listen"].startswith("127.0.0.1:") and port_of(p["listen"]) != 0


def test_create_disabled_keeps_listen_verbatim(api: Api, echo: Upstream) -> None:
    """Nothing is bound while disabled; the first start reports the real port."""
    p = api.create(echo.addr, enabled=False)
    assert p["enabled"] is False and p["listen"] == "127.0.0.1:0"
    p = api.set_enabled(p["name"], True)
    assert p["enabled"] is True and port_of(p["listen"]) != 0


@ours_only
def test_create_without_listen_binds_a_free_port(api: Api, echo: Upstream) -> None:
    """``listen`` is optional (``""`` = any port). Ours binds loopback, as our API is on
    loopback; Toxiproxy binds every interface, so this never runs against it."""
    name = api.name()
    r = api.req("POST", "/proxies", {"name": name, "upstream": echo.addr})
    api.created.add(name)
    listen = assert_json(r, 201)["listen"]
    assert listen.startswith("127.0.0.1:") and port_of(listen) != 0
    q = assert_json(api.req("PATCH", f"/proxies/{name}", {"listen": ""}), 200)
    assert q["listen"].startswith("127.0.0.1:") and q["listen"] != listen


def test_create_enabled_null_means_enabled(api: Api, echo: Upstream) -> None:
    """The Ruby client always sends ``"enabled": null``."""
    assert api.create(echo.addr, enabled=None)["enabled"] is True


def test_create_ignores_unknown_fields_and_matches_keys_case_insensitively(api: Api, echo: Upstream) -> None:
    name = api.name()
    body = {"Name": name, "LISTEN": "127.0.0.1:0", "upstream": echo.addr, "toxics": 5, "x": {}}
    r = api.req("POST", "/proxies", body)
    api.created.add(name)
    assert assert_json(r, 201)["name"] == name


def test_create_reads_only_the_first_json_value(api: Api, echo: Upstream) -> None:
    """Go's ``Decoder.Decode`` stops after the first value: trailing bytes are ignored."""
    name = api.name()
    raw = json.dumps({"name": name, "listen": "127.0.0.1:0", "upstream": echo.addr}).encode() + b" trailing {garbage"
    api.created.add(name)
    assert assert_json(api.req("POST", "/proxies", raw=raw), 201)["name"] == name


def test_create_does_not_check_the_upstream(api: Api) -> None:
    """An upstream that is down (or unresolvable) is accepted at creation."""
    assert api.create("127.0.0.1:1")["upstream"] == "127.0.0.1:1"
    assert api.create("no-such-host.invalid:5")["upstream"] == "no-such-host.invalid:5"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"{bad", "bad request body: invalid character 'b' looking for beginning of object key string"),
        (b"", "bad request body: EOF"),
        (b'{"name":', "bad request body: unexpected EOF"),
        (b"{}", "missing required field: name"),
        (b"null", "missing required field: name"),
        (b'{"name":null,"upstream":"127.0.0.1:1"}', "missing required field: name"),
        (b'{"upstream":"127.0.0.1:1"}', "missing required field: name"),
        (b'{"name":"x"}', "missing required field: upstream"),
        (b'{"name":"","upstream":""}', "missing required field: name"),
        (b'{"name":"x","upstream":"127.0.0.1:1","enabled":"yes"}',
         "bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled of type bool"),
        (b'{"name":7,"upstream":"127.0.0.1:1"}',
         "bad request body: json: cannot unmarshal number into Go struct field Proxy.name of type string"),
        (b'{"name":"x","upstream":"127.0.0.1:1","enabled":' + b"1" * 5000 + b"}",
         "bad request body: json: cannot unmarshal number into Go struct field Proxy.enabled of type bool"),
        (b"[]", "bad request body: json: cannot unmarshal array into Go value of type toxiproxy.Proxy"),
    ],
)  # fmt: skip
def test_create_bad_body_is_400(api: Api, raw: bytes, message: str) -> None:
    assert_error(api.req("POST", "/proxies", raw=raw), 400, message)


def test_create_existing_name_is_409(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr)
    r = api.req("POST", "/proxies", {"name": p["name"], "listen": "127.0.0.1:0", "upstream": "127.0.0.1:2"})
    assert_error(r, 409, "proxy already exists")
    assert api.get(f"/proxies/{p['name']}").json()["upstream"] == echo.addr


def test_concurrent_creates_and_toxics_have_one_winner(api: Api, echo: Upstream) -> None:
    """Eight clients race for one proxy name, then for one toxic name: one 2xx, seven 409."""
    name = api.name()
    api.created.add(name)
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": echo.addr}

    def race(path: str, body: dict) -> list[int]:
        with ThreadPoolExecutor(8) as pool:
            return sorted(pool.map(lambda _: requests.post(api.url + path, json=body, timeout=30).status_code, range(8)))

    assert race("/proxies", body) == [201] + [409] * 7
    assert race(f"/proxies/{name}/toxics", {"type": "latency", "name": "lag"}) == [200] + [409] * 7
    assert len(api.get(f"/proxies/{name}/toxics").json()) == 1


@ours_only
def test_update_racing_delete_leaves_no_listener(api: Api) -> None:
    """An update that waited behind a DELETE must not start the deleted proxy
    (ours only: Toxiproxy has a narrow window for this race too)."""

    def patch(name: str) -> requests.Response:
        return requests.patch(f"{api.url}/proxies/{name}", json={"listen": "localhost:0"}, timeout=30)

    def delete(name: str) -> requests.Response:
        return requests.delete(f"{api.url}/proxies/{name}", timeout=30)

    with ThreadPoolExecutor(2) as pool:
        for _ in range(30):
            name = api.create("127.0.0.1:1")["name"]
            patched, deleted = pool.submit(patch, name), pool.submit(delete, name)
            assert deleted.result().status_code == 204
            r = patched.result()
            assert r.status_code in (200, 404), r.text
            if r.status_code == 200:
                assert port_refuses(r.json()["listen"]), "a deleted proxy still listens"
            api.created.discard(name)


def test_create_bind_failure_is_500_and_not_added(api: Api, echo: Upstream, blocker: socket.socket) -> None:
    """Two listeners on one address: the second create fails with Go's bind message."""
    port = blocker.getsockname()[1]
    name = api.name()
    r = api.req("POST", "/proxies", {"name": name, "listen": f"localhost:{port}", "upstream": echo.addr})
    assert_error(r, 500, f"listen tcp 127.0.0.1:{port}: bind: address already in use")
    assert_error(api.get(f"/proxies/{name}"), 404, "proxy not found")


def test_create_bad_listen_is_500(api: Api, echo: Upstream) -> None:
    name = api.name()
    r = api.req("POST", "/proxies", {"name": name, "listen": "badaddr", "upstream": echo.addr})
    assert_error(r, 500, "listen tcp: address badaddr: missing port in address")
    assert api.get(f"/proxies/{name}").status_code == 404


def test_two_proxies_on_one_address_and_restart_after_port_freed(api: Api, echo: Upstream) -> None:
    """§8: the second start fails; once the port is free the first restarts on it."""
    a = api.create(echo.addr)
    api.set_enabled(a["name"], False)
    b = api.create(echo.addr, listen=a["listen"])
    assert b["listen"] == a["listen"]
    r = api.req("PATCH", f"/proxies/{a['name']}", {"enabled": True})
    assert_error(r, 500, f"listen tcp {a['listen']}: bind: address already in use")
    assert api.get(f"/proxies/{a['name']}").json()["enabled"] is False
    assert api.req("DELETE", f"/proxies/{b['name']}").status_code == 204
    p = api.set_enabled(a["name"], True)
    assert p["enabled"] is True and p["listen"] == a["listen"]
    with connect(p["listen"]) as c:
        assert echo_rtt(c) >= 0


# ---------------------------------------------------------------------- index, show, delete


def test_index_is_an_object_keyed_by_sorted_names(api: Api, echo: Upstream) -> None:
    names = [api.name("zz"), api.name("aa"), api.name("mm")]
    for n in names:
        api.create(echo.addr, name=n)
    api.toxic(names[0], "latency", latency=5)
    index = assert_json(api.get("/proxies"), 200)
    assert isinstance(index, dict) and list(index) == sorted(index)
    assert all(index[n]["name"] == n for n in names)
    assert [t["name"] for t in index[names[0]]["toxics"]] == ["latency_downstream"]


@pytest.mark.parametrize("name", ["a b", "prøxy-é", "100%", "q?x", "日本"])
def test_names_round_trip_through_percent_encoded_paths(api: Api, echo: Upstream, name: str) -> None:
    name = f"{name}-{api.name()}"
    api.create(echo.addr, name=name)
    assert assert_json(api.get(f"/proxies/{quote(name, safe='')}"), 200)["name"] == name
    assert api.req("DELETE", f"/proxies/{quote(name, safe='')}").status_code == 204
    api.created.discard(name)


def test_show_unknown_proxy_is_404(api: Api) -> None:
    assert_error(api.get("/proxies/no_such_proxy"), 404, "proxy not found")


def test_delete_closes_connections_and_frees_the_port(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr)
    c = connect(p["listen"])
    echo_rtt(c)
    r = api.req("DELETE", f"/proxies/{p['name']}")
    assert r.status_code == 204 and r.content == b""
    wait_eof(c, 5)
    c.close()
    assert port_refuses(p["listen"])
    assert_error(api.get(f"/proxies/{p['name']}"), 404, "proxy not found")
    assert_error(api.req("DELETE", f"/proxies/{p['name']}"), 404, "proxy not found")


# ---------------------------------------------------------------------- §2.5 update


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_update_upstream_only_keeps_port_and_toxics(api: Api, echo: Upstream, upstream: Upstream, method: str) -> None:
    p = api.create(upstream.addr)
    api.toxic(p["name"], "latency", latency=1)
    r = api.req(method, f"/proxies/{p['name']}", {"upstream": echo.addr})
    q = assert_json(r, 200)
    assert q["listen"] == p["listen"] and q["upstream"] == echo.addr and q["enabled"] is True
    assert [t["name"] for t in q["toxics"]] == ["latency_downstream"]
    with connect(q["listen"]) as c:
        echo_rtt(c)


def test_update_ignores_name_and_toxics_in_body(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr)
    other = api.name()
    q = assert_json(api.req("PATCH", f"/proxies/{p['name']}", {"name": other, "toxics": [1]}), 200)
    assert q == p
    assert api.get(f"/proxies/{other}").status_code == 404


def test_update_full_proxy_body_like_the_go_client(api: Api, echo: Upstream) -> None:
    """The Go client POSTs the whole proxy JSON (with ``toxics``) to update it."""
    p = api.create(echo.addr)
    api.toxic(p["name"], "noop")
    full = api.get(f"/proxies/{p['name']}").json()
    full["enabled"] = False
    q = assert_json(api.req("POST", f"/proxies/{p['name']}", full), 200)
    assert q["enabled"] is False and q["listen"] == p["listen"] and len(q["toxics"]) == 1


def test_disable_closes_connections_and_refuses_then_enable_rebinds(api: Api, echo: Upstream) -> None:
    """§3.3: down = refuse new connections and EOF the open ones; toxics are kept."""
    p = api.create(echo.addr)
    api.toxic(p["name"], "noop", stream="upstream")
    c = connect(p["listen"])
    echo_rtt(c)
    q = api.set_enabled(p["name"], False)
    assert q["enabled"] is False and q["listen"] == p["listen"]
    wait_eof(c, 5)
    c.close()
    assert port_refuses(p["listen"])
    q = api.set_enabled(p["name"], False)  # stopping twice is fine
    assert q["enabled"] is False
    q = api.set_enabled(p["name"], True)
    assert q["listen"] == p["listen"] and [t["name"] for t in q["toxics"]] == ["noop_upstream"]
    with connect(q["listen"]) as c:
        echo_rtt(c)


def test_enable_enabled_proxy_is_a_noop(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr)
    with connect(p["listen"]) as c:
        echo_rtt(c)
        assert api.set_enabled(p["name"], True) == p
        echo_rtt(c)


def test_update_null_enabled_keeps_state(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    q = assert_json(api.req("PATCH", f"/proxies/{p['name']}", {"enabled": None}), 200)
    assert q["enabled"] is False


def test_update_listen_moves_to_a_new_port(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr)
    q = assert_json(api.req("PATCH", f"/proxies/{p['name']}", {"listen": "127.0.0.1:0"}), 200)
    assert q["enabled"] is True and port_of(q["listen"]) not in (0, port_of(p["listen"]))
    assert port_refuses(p["listen"])
    with connect(q["listen"]) as c:
        echo_rtt(c)


def test_update_hostname_on_same_port_keeps_connections(api: Api, echo: Upstream) -> None:
    """``localhost:P`` resolves to the current ``127.0.0.1:P``: nothing restarts."""
    p = api.create(echo.addr)
    with connect(p["listen"]) as c:
        echo_rtt(c)
        q = assert_json(api.req("PATCH", f"/proxies/{p['name']}", {"listen": f"localhost:{port_of(p['listen'])}"}), 200)
        assert q["listen"] == p["listen"]
        echo_rtt(c)


def test_update_bind_failure_leaves_proxy_disabled_with_new_listen(
    api: Api, echo: Upstream, blocker: socket.socket
) -> None:
    p = api.create(echo.addr)
    listen = f"127.0.0.1:{blocker.getsockname()[1]}"
    r = api.req("PATCH", f"/proxies/{p['name']}", {"listen": listen})
    assert_error(r, 500, f"listen tcp {listen}: bind: address already in use")
    q = api.get(f"/proxies/{p['name']}").json()
    assert q["enabled"] is False and q["listen"] == listen
    assert port_refuses(p["listen"])


def test_update_errors(api: Api, echo: Upstream) -> None:
    assert_error(api.req("PATCH", "/proxies/no_such_proxy", {"enabled": False}), 404, "proxy not found")
    assert_error(api.req("POST", "/proxies/no_such_proxy", raw=b"{bad"), 404, "proxy not found")
    p = api.create(echo.addr)
    path = f"/proxies/{p['name']}"
    assert_error(api.req("PATCH", path, raw=b"{bad"), 400,
                 "bad request body: invalid character 'b' looking for beginning of object key string")  # fmt: skip
    assert_error(api.req("PATCH", path, {"listen": 5}), 400,
                 "bad request body: json: cannot unmarshal number into Go struct field Proxy.listen of type string")  # fmt: skip
    assert_error(api.req("PATCH", path, {"listen": "nope"}), 500, "address nope: missing port in address")
    assert api.get(path).json() == p


# ---------------------------------------------------------------------- §4.1 toxic create


def test_toxic_create_defaults(api: Api, echo: Upstream) -> None:
    """200 (not 201); name ``<type>_<stream>``, stream downstream, toxicity 1 (written ``1``)."""
    p = api.create(echo.addr)
    r = api.req("POST", f"/proxies/{p['name']}/toxics", {"type": "latency"})
    t = assert_json(r, 200)
    assert list(t) == ["attributes", "name", "type", "stream", "toxicity"]
    assert t == {"attributes": {"latency": 0, "jitter": 0}, "name": "latency_downstream", "type": "latency",
                 "stream": "downstream", "toxicity": 1}  # fmt: skip
    assert r.text.endswith('"toxicity":1}')


@pytest.mark.parametrize("type_", sorted(DEFAULT_ATTRIBUTES))
def test_toxic_types_and_attribute_defaults(api: Api, echo: Upstream, type_: str) -> None:
    """Every registered type, with all attributes echoed (0 by default), round-trips via GET."""
    p = api.create(echo.addr, enabled=False)
    t = api.toxic(p["name"], type_, stream="upstream")
    assert t["attributes"] == DEFAULT_ATTRIBUTES[type_] and t["name"] == f"{type_}_upstream"
    assert assert_json(api.get(f"/proxies/{p['name']}/toxics/{t['name']}"), 200) == t


def test_toxic_attributes_and_toxicity_echoed(api: Api, echo: Upstream) -> None:
    """Unknown attributes are ignored; toxicity is not validated and is written as float32."""
    p = api.create(echo.addr, enabled=False)
    t = api.toxic(p["name"], "slicer", name="s", toxicity=0.25, average_size=10, size_variation=-3, bogus=9)
    assert t["attributes"] == {"average_size": 10, "size_variation": -3, "delay": 0} and t["toxicity"] == 0.25
    cases = [(7, "7"), (-3, "-3"), (0.5, "0.5"), (0.2, "0.2"), (None, "1"), (0, "0"), (1e-7, "1e-7"),
             (1e21, "1e+21"), (123456789, "123456790"), (3.4028235e38, "3.4028235e+38"), (0.1, "0.1")]  # fmt: skip
    for value, text in cases:
        r = api.req("POST", f"/proxies/{p['name']}/toxics", {"type": "noop", "name": f"n{text}", "toxicity": value})
        assert r.status_code == 200 and r.text.endswith(f'"toxicity":{text}}}'), r.text


def test_toxic_null_fields_keep_defaults(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    body = {"type": "noop", "name": None, "stream": None, "toxicity": None, "attributes": None}
    t = assert_json(api.req("POST", f"/proxies/{p['name']}/toxics", body), 200)
    assert t == {"attributes": {}, "name": "noop_downstream", "type": "noop", "stream": "downstream", "toxicity": 1}


def test_toxic_stream_is_case_insensitive_and_echoed_verbatim(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    t = api.toxic(p["name"], "latency", stream="UpStream")
    assert t["stream"] == "UpStream" and t["name"] == "latency_UpStream"
    api.toxic(p["name"], "latency", stream="downstream")
    names = [x["name"] for x in api.get(f"/proxies/{p['name']}/toxics").json()]
    assert names == ["latency_UpStream", "latency_downstream"]


def test_toxic_list_is_upstream_then_downstream_in_insertion_order(api: Api, echo: Upstream) -> None:
    """§4.3: all upstream toxics in chain order, then downstream; removal closes the gap."""
    p = api.create(echo.addr, enabled=False)
    path = f"/proxies/{p['name']}/toxics"
    assert api.get(path).text == "[]"
    order = [("d1", "downstream"), ("u1", "upstream"), ("d2", None), ("u2", "upstream"), ("d3", "downstream")]
    for name, stream in order:
        api.toxic(p["name"], "noop", name=name, stream=stream)
    names = lambda: [t["name"] for t in assert_json(api.get(path), 200)]  # noqa: E731
    assert names() == ["u1", "u2", "d1", "d2", "d3"]
    api.remove_toxic(p["name"], "u1")
    api.remove_toxic(p["name"], "d2")
    assert names() == ["u2", "d1", "d3"]
    assert [t["name"] for t in api.get(f"/proxies/{p['name']}").json()["toxics"]] == ["u2", "d1", "d3"]


def test_toxic_names_are_unique_across_streams(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    path = f"/proxies/{p['name']}/toxics"
    api.toxic(p["name"], "latency", stream="upstream")
    api.toxic(p["name"], "latency", stream="downstream")  # latency_upstream and latency_downstream coexist
    api.toxic(p["name"], "latency", name="lag", stream="downstream")
    r = api.req("POST", path, {"type": "latency", "name": "lag", "stream": "upstream"})
    assert_error(r, 409, "toxic already exists")
    assert_error(api.req("POST", path, {"type": "latency", "stream": "upstream"}), 409, "toxic already exists")
    assert len(api.get(path).json()) == 3


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"type": "latency", "stream": "sideways"}, 400, "stream was invalid, can be either upstream or downstream"),
        ({"type": "latency", "stream": ""}, 400, "stream was invalid, can be either upstream or downstream"),
        ({"type": "nope", "stream": "nope"}, 400, "stream was invalid, can be either upstream or downstream"),
        ({"type": "nope"}, 400, "invalid toxic type"),
        ({}, 400, "invalid toxic type"),
        ({"type": "nope", "name": "taken"}, 400, "invalid toxic type"),
        ({"type": "latency", "name": "taken", "attributes": {"latency": "x"}}, 409, "toxic already exists"),
        ({"type": "latency", "attributes": {"latency": "abc"}}, 400,
         "bad request body: json: cannot unmarshal string into Go struct field LatencyToxic.attributes.latency of type int64"),
        ({"type": "latency", "attributes": {"latency": 1.5}}, 400,
         "bad request body: json: cannot unmarshal number 1.5 into Go struct field LatencyToxic.attributes.latency of type int64"),
        ({"type": "latency", "attributes": {"latency": 100.0}}, 400,
         "bad request body: json: cannot unmarshal number 100.0 into Go struct field LatencyToxic.attributes.latency of type int64"),
        ({"type": "bandwidth", "attributes": {"rate": 10**30}}, 400,
         "bad request body: json: cannot unmarshal number 1000000000000000000000000000000 into Go struct field "
         "BandwidthToxic.attributes.rate of type int64"),
        ({"type": "noop", "toxicity": "x"}, 400,
         "bad request body: json: cannot unmarshal string into Go struct field ToxicWrapper.toxicity of type float32"),
        ({"type": "noop", "toxicity": 1e39}, 400,
         "bad request body: json: cannot unmarshal number 1e+39 into Go struct field ToxicWrapper.toxicity of type float32"),
    ],
)  # fmt: skip
def test_toxic_create_errors_in_go_order(api: Api, echo: Upstream, body: dict, status: int, message: str) -> None:
    """Bad JSON, then stream, then type, then name clash, then attribute types (§4.1)."""
    p = api.create(echo.addr, enabled=False)
    api.toxic(p["name"], "noop", name="taken")
    assert_error(api.req("POST", f"/proxies/{p['name']}/toxics", body), status, message)
    assert len(api.get(f"/proxies/{p['name']}/toxics").json()) == 1


def test_toxic_create_bad_json(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    path = f"/proxies/{p['name']}/toxics"
    assert_error(api.req("POST", path, raw=b"{bad"), 400,
                 "bad request body: invalid character 'b' looking for beginning of object key string")  # fmt: skip
    assert_error(api.req("POST", path, raw=b""), 400, "bad request body: EOF")


def test_toxic_routes_on_unknown_proxy_are_404(api: Api) -> None:
    """The proxy is looked up before the body is read."""
    for method, path in [("GET", "/toxics"), ("POST", "/toxics"), ("GET", "/toxics/t"), ("PATCH", "/toxics/t"),
                         ("POST", "/toxics/t"), ("DELETE", "/toxics/t")]:  # fmt: skip
        assert_error(api.req(method, "/proxies/no_such_proxy" + path, raw=b"{bad"), 404, "proxy not found")


def test_unknown_toxic_is_404(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    for method in ["GET", "PATCH", "POST", "DELETE"]:
        r = api.req(method, f"/proxies/{p['name']}/toxics/none", {"attributes": {}})
        assert_error(r, 404, "toxic not found")


# ---------------------------------------------------------------------- §4.2 toxic update, delete


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_toxic_update_merges_attributes_and_ignores_identity(api: Api, echo: Upstream, method: str) -> None:
    p = api.create(echo.addr, enabled=False)
    api.toxic(p["name"], "latency", name="lag", stream="upstream", toxicity=0.5, latency=100, jitter=10)
    path = f"/proxies/{p['name']}/toxics/lag"
    body = {"attributes": {"jitter": 20, "other": 1}, "name": "x", "type": "timeout", "stream": "downstream"}
    t = assert_json(api.req(method, path, body), 200)
    assert t == {"attributes": {"latency": 100, "jitter": 20}, "name": "lag", "type": "latency", "stream": "upstream",
                 "toxicity": 0.5}  # fmt: skip
    t = assert_json(api.req(method, path, {"toxicity": 0.2}), 200)
    assert t["toxicity"] == 0.2 and t["attributes"] == {"latency": 100, "jitter": 20}
    t = assert_json(api.req(method, path, {"toxicity": None, "attributes": None}), 200)
    assert t["toxicity"] == 0.2 and t["attributes"] == {"latency": 100, "jitter": 20}
    assert api.get(path).json() == t


def test_toxic_update_bad_body_is_400_and_changes_nothing(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    t = api.toxic(p["name"], "latency", latency=100)
    path = f"/proxies/{p['name']}/toxics/{t['name']}"
    assert_error(api.req("PATCH", path, raw=b"{bad"), 400,
                 "bad request body: invalid character 'b' looking for beginning of object key string")  # fmt: skip
    assert_error(api.req("PATCH", path, {"attributes": {"latency": 2.5}}), 400,
                 "bad request body: json: cannot unmarshal number 2.5 into Go struct field LatencyToxic.attributes.latency of type int64")  # fmt: skip
    assert_error(api.req("PATCH", path, {"attributes": "fast"}), 400,
                 "bad request body: json: cannot unmarshal string into Go struct field .attributes of type toxics.LatencyToxic")  # fmt: skip
    assert api.get(path).json() == t


def test_toxic_delete(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr, enabled=False)
    api.toxic(p["name"], "noop", name="n")
    r = api.req("DELETE", f"/proxies/{p['name']}/toxics/n")
    assert r.status_code == 204 and r.content == b""
    assert_error(api.get(f"/proxies/{p['name']}/toxics/n"), 404, "toxic not found")
    assert_error(api.req("DELETE", f"/proxies/{p['name']}/toxics/n"), 404, "toxic not found")
    assert api.get(f"/proxies/{p['name']}/toxics").json() == []


# ---------------------------------------------------------------------- §2.4 populate


def populate(api: Api, entries: list[dict]) -> requests.Response:
    api.created.update(e["name"] for e in entries if isinstance(e.get("name"), str) and e["name"])
    return api.req("POST", "/populate", entries)


def test_populate_creates_and_returns_proxies(api: Api, echo: Upstream) -> None:
    a, b = api.name(), api.name()
    r = populate(api, [{"name": a, "listen": "127.0.0.1:0", "upstream": echo.addr},
                       {"name": b, "listen": "127.0.0.1:0", "upstream": echo.addr, "enabled": False}])  # fmt: skip
    body = assert_json(r, 201)
    assert list(body) == ["proxies"]
    pa, pb = body["proxies"]
    assert pa["name"] == a and pa["enabled"] is True and port_of(pa["listen"]) != 0
    assert pb["name"] == b and pb["enabled"] is False and pb["listen"] == "127.0.0.1:0"
    assert api.get(f"/proxies/{a}").json() == pa
    with connect(pa["listen"]) as c:
        echo_rtt(c)


def test_populate_empty_array(api: Api) -> None:
    r = api.req("POST", "/populate", [])
    assert r.status_code == 201 and r.text == '{"proxies":null}'


def test_populate_null_is_an_empty_array(api: Api) -> None:
    r = api.req("POST", "/populate", raw=b"null")
    assert r.status_code == 201 and r.text == '{"proxies":null}'


def test_populate_requires_an_array(api: Api, echo: Upstream) -> None:
    name = api.name()
    r = api.req("POST", "/populate", {"proxies": [{"name": name, "listen": "127.0.0.1:0", "upstream": echo.addr}]})
    msg = ('bad request body: json: cannot unmarshal object into Go value of type []struct { toxiproxy.Proxy; '
           'Enabled *bool "json:\\"enabled\\"" }')  # fmt: skip
    assert_error(r, 400, msg, content_type="application/json")
    assert r.json()["proxies"] is None
    assert api.get(f"/proxies/{name}").status_code == 404
    assert_error(api.req("POST", "/populate", raw=b"[{"), 400, "bad request body: unexpected EOF", "application/json")


@pytest.mark.parametrize("missing", ["name", "upstream"])
def test_populate_validates_everything_before_creating(api: Api, echo: Upstream, missing: str) -> None:
    good = {"name": api.name(), "listen": "127.0.0.1:0", "upstream": echo.addr}
    bad = {"name": api.name(), "listen": "127.0.0.1:0", "upstream": echo.addr}
    bad[missing] = ""
    r = populate(api, [good, good | {"name": api.name()}, bad])
    assert_error(r, 400, f"missing required field: {missing} at proxy 3", content_type="application/json")
    assert r.json()["proxies"] is None
    assert api.get(f"/proxies/{good['name']}").status_code == 404


def test_populate_stops_at_first_failure_and_keeps_earlier_ones(api: Api, echo: Upstream) -> None:
    a, b, c = api.name(), api.name(), api.name()
    r = populate(api, [{"name": a, "listen": "127.0.0.1:0", "upstream": echo.addr},
                       {"name": b, "listen": "bad", "upstream": echo.addr},
                       {"name": c, "listen": "127.0.0.1:0", "upstream": echo.addr}])  # fmt: skip
    assert_error(r, 500, "listen tcp: address bad: missing port in address", content_type="application/json")
    assert [p["name"] for p in r.json()["proxies"]] == [a]
    assert api.get(f"/proxies/{a}").status_code == 200
    assert api.get(f"/proxies/{b}").status_code == 404 and api.get(f"/proxies/{c}").status_code == 404


def test_populate_keeps_same_and_replaces_changed(api: Api, echo: Upstream, upstream: Upstream) -> None:
    """Same listen (compared resolved) and upstream: untouched, with toxics, connections and
    enabled state. Changed: replaced by a new proxy without toxics, dropping connections."""
    same, changed, off, other = (api.create(echo.addr) for _ in range(4))
    for p in (same, changed):
        api.toxic(p["name"], "noop", name="kept")
    api.set_enabled(off["name"], False)
    c_same, c_changed, c_other = connect(same["listen"]), connect(changed["listen"]), connect(other["listen"])
    for c in (c_same, c_changed, c_other):
        echo_rtt(c)
    r = populate(api, [
        {"name": same["name"], "listen": f"localhost:{port_of(same['listen'])}", "upstream": echo.addr,
         "enabled": False},
        {"name": changed["name"], "listen": changed["listen"], "upstream": upstream.addr},
        {"name": off["name"], "listen": off["listen"], "upstream": echo.addr, "enabled": True},
    ])  # fmt: skip
    got = {p["name"]: p for p in assert_json(r, 201)["proxies"]}
    assert got[same["name"]]["enabled"] is True and got[same["name"]]["listen"] == same["listen"]
    assert [t["name"] for t in got[same["name"]]["toxics"]] == ["kept"]
    assert got[changed["name"]]["toxics"] == [] and got[changed["name"]]["upstream"] == upstream.addr
    assert got[changed["name"]]["listen"] == changed["listen"]
    assert got[off["name"]]["enabled"] is False
    echo_rtt(c_same)
    echo_rtt(c_other)
    wait_eof(c_changed, 5)
    for c in (c_same, c_changed, c_other):
        c.close()
    with connect(changed["listen"]) as c:
        upstream.accept()  # the new proxy dials the new upstream


def test_populate_unresolvable_listen_of_existing_proxy_is_500_and_keeps_it(api: Api, echo: Upstream) -> None:
    """The comparison (``Differs``) resolves the new listen first; its error leaves the proxy alone."""
    p = api.create(echo.addr)
    api.toxic(p["name"], "noop")
    with connect(p["listen"]) as c:
        r = populate(api, [{"name": p["name"], "listen": "bad", "upstream": echo.addr}])
        assert_error(r, 500, "address bad: missing port in address", content_type="application/json")
        assert r.json()["proxies"] is None
        echo_rtt(c)
    assert len(api.get(f"/proxies/{p['name']}").json()["toxics"]) == 1


def test_populate_listen_port_zero_always_replaces(api: Api, echo: Upstream) -> None:
    """``127.0.0.1:0`` never equals a started proxy's bound address."""
    p = api.create(echo.addr)
    api.toxic(p["name"], "noop")
    r = populate(api, [{"name": p["name"], "listen": "127.0.0.1:0", "upstream": echo.addr}])
    q = assert_json(r, 201)["proxies"][0]
    assert q["toxics"] == [] and q["listen"] != p["listen"]


# ---------------------------------------------------------------------- §2.6 reset


def test_reset_enables_everything_and_removes_toxics(api: Api, echo: Upstream) -> None:
    on, off, never = api.create(echo.addr), api.create(echo.addr), api.create(echo.addr, enabled=False)
    api.toxic(on["name"], "latency", stream="upstream", latency=1)
    api.toxic(off["name"], "noop")
    api.set_enabled(off["name"], False)
    c = connect(on["listen"])
    echo_rtt(c)
    r = api.req("POST", "/reset", raw=b"this body is ignored")
    assert r.status_code == 204 and r.content == b""
    for p in (on, off, never):
        q = api.get(f"/proxies/{p['name']}").json()
        assert q["enabled"] is True and q["toxics"] == []
    assert api.get(f"/proxies/{off['name']}").json()["listen"] == off["listen"]
    fresh = api.get(f"/proxies/{never['name']}").json()["listen"]
    assert port_of(fresh) != 0
    echo_rtt(c)  # connections survive a reset
    c.close()
    for listen in (off["listen"], fresh):
        with connect(listen) as s:
            echo_rtt(s)


def test_reset_bind_failure_is_500(api: Api, echo: Upstream, blocker: socket.socket) -> None:
    listen = f"127.0.0.1:{blocker.getsockname()[1]}"
    p = api.create(echo.addr, listen=listen, enabled=False)
    assert_error(api.req("POST", "/reset"), 500, f"listen tcp {listen}: bind: address already in use")
    assert api.get(f"/proxies/{p['name']}").json()["enabled"] is False


def test_toxics_added_reset_and_readded_on_a_persistent_connection(api: Api, echo: Upstream) -> None:
    p = api.create(echo.addr)
    with connect(p["listen"]) as c:
        for _ in range(3):
            api.toxic(p["name"], "noop", stream="upstream")
            api.toxic(p["name"], "latency", latency=0)
            assert c.sendall(b"x" * 100) is None and recv_exactly(c, 100) == b"x" * 100
            assert api.req("POST", "/reset").status_code == 204
            assert api.get(f"/proxies/{p['name']}/toxics").json() == []
            echo_rtt(c)


# ---------------------------------------------------------------------- /metrics


@ours_only
def test_metrics_not_routed_by_default(api: Api) -> None:
    r = api.get("/metrics")
    assert r.status_code == 404 and r.text == "404 page not found\n"


@ours_only
def test_metrics_with_proxy_metrics(echo: Upstream) -> None:
    """Prometheus text; byte counters per link, updated when the link ends."""
    from harness.proxy import run_in_thread

    with run_in_thread(proxy_metrics=True) as srv:
        api = Api(srv.url)
        p = api.create(echo.addr, name="m")
        with connect(p["listen"]) as c:
            c.sendall(b"hello")
            recv_exactly(c, 5)
        labels = f'listener="{p["listen"]}",proxy="m",upstream="{echo.addr}"'
        want = [f'toxiproxy_proxy_received_bytes_total{{direction="upstream",{labels}}} 5',
                f'toxiproxy_proxy_sent_bytes_total{{direction="downstream",{labels}}} 5']  # fmt: skip
        r = api.get("/metrics")
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert api.req("POST", "/metrics").status_code == 200  # routed for every method, as in Toxiproxy
        assert wait_until(lambda: all(w in api.get("/metrics").text.splitlines() for w in want), 5)
        assert "# TYPE toxiproxy_proxy_received_bytes_total counter" in api.get("/metrics").text
        api.cleanup()
        assert not srv.errors, srv.errors


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
        with connect(proxies["db"]["listen"]) as c:
            echo_rtt(c)
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
