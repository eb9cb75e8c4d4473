"""HTTP API conformance, proxies (spec §2.3, §2.5): create, index, show, update, delete."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from proxytest_support import (
    Api,
    Upstream,
    assert_forwards,
    connect,
    echo_rtt,
    hostport,
    ours_only,
    port_refuses,
    recv_exactly,
    wait_eof,
)
from apitest_support import assert_error, assert_json, port_of


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
    assert_forwards(p["listen"])


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
    assert_forwards(q["listen"])


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
    assert_forwards(q["listen"])


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
    assert_forwards(q["listen"])


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
