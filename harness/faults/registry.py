"""The fault registry: kind name -> fault class. Adding a fault means adding a file.

A fault class has ``kind`` (the YAML key), ``Params`` (a frozen pydantic model: the
YAML block under that key *is* the constructor's schema) and ``inject(ctx)``, which
returns the undo action. Third-party faults register through the ``harness.faults``
entry-point group (set ``HARNESS_NO_PLUGINS=1`` to skip them).
"""

from __future__ import annotations

import os
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.faults.base import Fault

_FAULTS: dict[str, type["Fault"]] = {}
_BUILTIN_MODULES = ("noop", "network", "process", "data", "stale", "model_swap", "payload", "container")
_loaded = False


def register(cls: type["Fault"]) -> type["Fault"]:
    """Class decorator: make ``cls`` available under ``cls.kind``."""
    if cls.kind in _FAULTS and _FAULTS[cls.kind] is not cls:
        raise ValueError(f"fault kind {cls.kind!r} is already registered")
    _FAULTS[cls.kind] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        import_module(f"harness.faults.{module}")
    if os.environ.get("HARNESS_NO_PLUGINS"):
        return
    for entry in entry_points(group="harness.faults"):
        entry.load()


def fault_kinds() -> dict[str, type["Fault"]]:
    """All registered fault classes by kind, builtins first."""
    _load()
    return dict(_FAULTS)


def get_fault(kind: str) -> type["Fault"]:
    """The fault class registered as ``kind``; KeyError when there is none."""
    return fault_kinds()[kind]
