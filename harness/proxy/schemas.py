"""Request bodies in, JSON out: the Go shapes of Toxiproxy's API objects.

Decoding follows ``AddToxicJson`` / ``UpdateToxicJson`` / ``ProxyCreate`` /
``PopulateJson`` step by step, because the *order* of checks decides which error a
client sees (bad JSON, then stream, then default name, then type, then name clash,
then attribute types).
"""

from __future__ import annotations

from typing import Any

from . import toxics as toxic_registry
from ._gojson import (
    ANY_OBJECT,
    BOOL,
    FLOAT32,
    STRING,
    GoJSONError,
    Struct,
    assign_struct,
    assign_top,
    decode,
    dumps_str,
    format_float32,
)
from .errors import (
    ERR_INVALID_STREAM,
    ERR_INVALID_TOXIC_TYPE,
    ERR_TOXIC_EXISTS,
    ApiError,
    bad_request_body,
    missing_field,
)
from .link import Direction
from .state import Proxy, ToxicCollection, ToxicWrapper

__all__ = [
    "parse_proxy_create",
    "parse_proxy_update",
    "parse_populate",
    "parse_toxic_create",
    "parse_toxic_update",
    "proxy_json",
    "toxic_json",
    "error_json",
]

_PROXY_FIELDS = {"name": STRING, "listen": STRING, "upstream": STRING, "enabled": BOOL, "Logger": ANY_OBJECT}
_PROXY = Struct("Proxy", "toxiproxy.Proxy", _PROXY_FIELDS)
_POPULATE_ITEM_GO = 'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }'
_POPULATE_ITEM = Struct("", _POPULATE_ITEM_GO, _PROXY_FIELDS)
_WRAPPER = Struct(
    "ToxicWrapper",
    "toxics.ToxicWrapper",
    {
        "attributes": Struct("NoopToxic", "toxics.NoopToxic", {}),
        "name": STRING,
        "type": STRING,
        "stream": STRING,
        "toxicity": FLOAT32,
    },
)
_ATTRS_GO = 'struct { Attributes interface {} "json:\\"attributes\\"" }'
_UPDATE_GO = 'struct { Attributes interface {} "json:\\"attributes\\""; Toxicity float32 "json:\\"toxicity\\"" }'


def _decode(body: bytes) -> Any:
    try:
        return decode(body)
    except GoJSONError as exc:
        raise bad_request_body(str(exc)) from None


# ---------------------------------------------------------------------- proxies


def parse_proxy_create(body: bytes) -> tuple[str, str, str, bool]:
    """``(name, listen, upstream, enabled)`` from a ``POST /proxies`` body."""
    fields: dict[str, Any] = {"name": "", "listen": "", "upstream": "", "enabled": True}
    err = assign_struct(_decode(body), _PROXY, fields)
    if err:
        raise bad_request_body(err)
    if not fields["name"]:
        raise missing_field("name")
    if not fields["upstream"]:
        raise missing_field("upstream")
    return fields["name"], fields["listen"], fields["upstream"], fields["enabled"]


def parse_proxy_update(body: bytes, proxy: Proxy) -> tuple[str, str, bool]:
    """``(listen, upstream, enabled)`` decoded over the proxy's current values."""
    fields: dict[str, Any] = {"listen": proxy.listen, "upstream": proxy.upstream, "enabled": proxy.enabled}
    err = assign_struct(_decode(body), _PROXY, fields)
    if err:
        raise bad_request_body(err)
    return fields["listen"], fields["upstream"], fields["enabled"]


def parse_populate(body: bytes) -> list[tuple[str, str, str, bool]]:
    """Validate a whole ``POST /populate`` array before anything is created."""
    value = _decode(body)
    err = assign_top(value, "array", "[]" + _POPULATE_ITEM_GO)
    if err:
        raise bad_request_body(err)
    items: list[dict[str, Any]] = []
    first: str | None = None
    for element in value or ():
        fields: dict[str, Any] = {"name": "", "listen": "", "upstream": "", "enabled": None}
        e = assign_struct(element, _POPULATE_ITEM, fields)
        first = first or e
        items.append(fields)
    if first:
        raise bad_request_body(first)
    for i, fields in enumerate(items, start=1):
        if not fields["name"]:
            raise missing_field(f"name at proxy {i}")
        if not fields["upstream"]:
            raise missing_field(f"upstream at proxy {i}")
    return [(f["name"], f["listen"], f["upstream"], f["enabled"] is not False) for f in items]


# ---------------------------------------------------------------------- toxics


def _direction(stream: str) -> Direction:
    low = stream.lower()
    if low == "upstream":
        return Direction.UPSTREAM
    if low == "downstream":
        return Direction.DOWNSTREAM
    raise ERR_INVALID_STREAM


def parse_toxic_create(body: bytes, collection: ToxicCollection) -> ToxicWrapper:
    value = _decode(body)
    fields: dict[str, Any] = {"name": "", "type": "", "stream": "downstream", "toxicity": 1.0}
    err = assign_struct(value, _WRAPPER, fields)
    if err:
        raise bad_request_body(err)
    direction = _direction(fields["stream"])
    name = fields["name"] or f"{fields['type']}_{fields['stream']}"
    cls = toxic_registry.lookup(fields["type"])
    if cls is None:
        raise ERR_INVALID_TOXIC_TYPE
    if collection.find(name) is not None:
        raise ERR_TOXIC_EXISTS
    holder: dict[str, Any] = {"attributes": toxic_registry.attributes_of(cls())}
    err = assign_struct(value, Struct("", _ATTRS_GO, {"attributes": toxic_registry.schema_of(cls)}), holder)
    if err:
        raise bad_request_body(err)
    return ToxicWrapper(
        name=name,
        type=fields["type"],
        stream=fields["stream"],
        direction=direction,
        toxicity=fields["toxicity"],
        toxic=cls(**holder["attributes"]),
        serial=collection.next_serial(),
    )


def parse_toxic_update(body: bytes, w: ToxicWrapper) -> tuple[Any, float]:
    """A new toxic (current attributes merged with the body's) and the toxicity."""
    cls = type(w.toxic)
    holder: dict[str, Any] = {"attributes": toxic_registry.attributes_of(w.toxic), "toxicity": w.toxicity}
    schema = Struct("", _UPDATE_GO, {"attributes": toxic_registry.schema_of(cls), "toxicity": FLOAT32})
    err = assign_struct(_decode(body), schema, holder)
    if err:
        raise bad_request_body(err)
    return cls(**holder["attributes"]), holder["toxicity"]


# ---------------------------------------------------------------------- encoding


def toxic_json(w: ToxicWrapper) -> str:
    attrs = ",".join(f"{dumps_str(k)}:{int(v)}" for k, v in toxic_registry.attributes_of(w.toxic).items())
    return (
        f'{{"attributes":{{{attrs}}},"name":{dumps_str(w.name)},"type":{dumps_str(w.type)},'
        f'"stream":{dumps_str(w.stream)},"toxicity":{format_float32(w.toxicity)}}}'
    )


def proxy_json(p: Proxy) -> str:
    toxics = ",".join(toxic_json(w) for w in p.toxics.all())
    return (
        f'{{"name":{dumps_str(p.name)},"listen":{dumps_str(p.listen)},"upstream":{dumps_str(p.upstream)},'
        f'"enabled":{"true" if p.enabled else "false"},"Logger":{{}},"toxics":[{toxics}]}}'
    )


def error_json(err: ApiError) -> str:
    return f'{{"error":{dumps_str(err.message)},"status":{err.status}}}'

