"""HTTP API conformance, server-wide endpoints (spec §2.4, §2.6): ``/populate``,
``/reset`` and ``/metrics``."""

from __future__ import annotations

import socket

import pytest
import requests

from proxytest_support import (
    Api,
    Upstream,
    assert_forwards,
    connect,
    echo_rtt,
    ours_only,
    recv_exactly,
    wait_eof,
    wait_until,
)
from apitest_support import assert_error, assert_json, port_of


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
    assert_forwards(pa["listen"])


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
        assert_forwards(listen)


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
