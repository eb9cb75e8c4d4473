"""The toxic contract and the registry (Toxiproxy's ``toxics/toxic.go``).

A toxic is a small dataclass: its integer fields *are* the ``attributes`` schema
(``LatencyToxic(latency=100, jitter=10)`` <-> ``{"latency":100,"jitter":10}``), and its
``pipe(stub)`` coroutine moves chunks from ``stub.recv()`` to ``stub.send()``. Optional
powers are separate protocols, checked with ``isinstance``:

* :class:`BufferedToxic` - ``buffer_size``: input queue length in chunks (latency: 1024);
* :class:`StatefulToxic` - ``new_state()``: per-connection state kept across updates;
* :class:`CleanupToxic` - ``cleanup(stub)``: called when the toxic is removed from a
  live connection (``timeout`` closes the connection there);
* ``resets_connection = True`` (a class flag): a connection whose chain holds the toxic
  when it starts closes with an RST (SO_LINGER 0; ``reset_peer``).

Registration is one line at the bottom of the toxic's module::

    register("noop", NoopToxic)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

from .._gojson import INT64, Struct
from ..stub import Stub

__all__ = [
    "Toxic",
    "BufferedToxic",
    "StatefulToxic",
    "CleanupToxic",
    "register",
    "lookup",
    "registered",
    "schema_of",
    "attributes_of",
    "buffer_size_of",
]


@runtime_checkable
class Toxic(Protocol):
    """Every toxic: ``pipe`` moves chunks from ``stub.recv()`` to ``stub.send()``."""

    async def pipe(self, stub: Stub) -> None: ...


@runtime_checkable
class BufferedToxic(Protocol):
    """Has an input queue of ``buffer_size`` chunks (default: 1)."""

    buffer_size: int


@runtime_checkable
class StatefulToxic(Protocol):
    """Keeps per-connection state (``stub.state``) across updates of the toxic."""

    def new_state(self) -> Any: ...


@runtime_checkable
class CleanupToxic(Protocol):
    """Acts when removed from a live connection (``timeout`` closes it)."""

    def cleanup(self, stub: Stub) -> None: ...


_REGISTRY: dict[str, type] = {}
_SCHEMAS: dict[type, Struct] = {}


def register(type_name: str, cls: type) -> type:
    """Make ``cls`` available as toxic ``type_name`` (a dataclass of int attributes)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"toxic {type_name!r}: {cls.__name__} must be a dataclass")
    fields = {f.name: INT64 for f in dataclasses.fields(cls)}
    _SCHEMAS[cls] = Struct(cls.__name__, "toxics." + cls.__name__, fields)
    _REGISTRY[type_name] = cls
    return cls


def lookup(type_name: str) -> type | None:
    """The toxic class registered as ``type_name``, or None."""
    return _REGISTRY.get(type_name)


def registered() -> list[str]:
    """Every registered type name, sorted."""
    return sorted(_REGISTRY)


def schema_of(cls: type) -> Struct:
    """The Go-style JSON schema of a registered toxic class (its int64 attributes)."""
    return _SCHEMAS[cls]


def attributes_of(toxic: Any) -> dict[str, int]:
    """The toxic's attributes in declaration order (what the API echoes)."""
    return {f.name: getattr(toxic, f.name) for f in dataclasses.fields(toxic)}


def buffer_size_of(toxic: Any) -> int:
    """The toxic's input queue length in chunks (0: the channel default of 1)."""
    return int(getattr(toxic, "buffer_size", 0) or 0)
