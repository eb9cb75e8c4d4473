"""Toxics: one small module per type, each registered by one line (see :mod:`.base`)."""

from .base import (
    BufferedToxic,
    CleanupToxic,
    StatefulToxic,
    Toxic,
    attributes_of,
    buffer_size_of,
    lookup,
    register,
    registered,
    schema_of,
)
from . import bandwidth, latency, limit_data, noop, reset_peer, slicer, slow_close, timeout  # noqa: F401  (registers)
from .noop import NoopToxic

__all__ = [
    "BufferedToxic",
    "CleanupToxic",
    "NoopToxic",
    "StatefulToxic",
    "Toxic",
    "attributes_of",
    "buffer_size_of",
    "lookup",
    "register",
    "registered",
    "schema_of",
]
