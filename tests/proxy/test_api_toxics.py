"""HTTP API conformance, toxics (spec §4.1-§4.3): create, defaults, listing order,
update and delete."""

from __future__ import annotations

import pytest

from proxytest_support import Api, Upstream
from apitest_support import DEFAULT_ATTRIBUTES, assert_error, assert_json


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
