"""A new request shape for a fault's window: what ``payload_schema_change`` tells the load.

The fault writes a small JSON file in the run directory (:data:`PAYLOAD_FILE`)::

    {"rename": {"amount": "amt"}, "stringify": ["hour"], "drop": ["merchant_category"],
     "fraction": 1.0}

and deletes it when it ends. Locust's wrapper (``harness/_locust_entry.py``) looks at
the file at most every :data:`CHECK_S` seconds and, while it exists, passes every JSON
request body through :func:`reshape` on a share ``fraction`` of the requests (chosen
on the load's seed): renamed fields, numbers sent as strings, fields left out. Nothing about any
pipeline is known here: the fields are the scenario's words.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

PAYLOAD_FILE = "payload-fault.json"
PAYLOAD_ENV = "CHAOS_PAYLOAD_FILE"
CHECK_S = 0.05


def reshape(body: Any, spec: dict[str, Any]) -> Any:
    """``body`` (a JSON object) with ``spec``'s changes: stringify, then rename, then drop."""
    if not isinstance(body, dict):
        return body
    out = {k: (json.dumps(v) if k in spec.get("stringify", ()) and not isinstance(v, str) else v)
           for k, v in body.items()}
    out = {spec.get("rename", {}).get(k, k): v for k, v in out.items()}
    return {k: v for k, v in out.items() if k not in spec.get("drop", ())}


class PayloadSwitch:
    """The load's side: whether a reshaping is on, read from the file (cached for ``CHECK_S``)."""

    def __init__(self, path: str | os.PathLike | None, seed: int = 0):
        self.path = Path(path) if path else None
        self.rng = random.Random(seed)
        self._spec: dict[str, Any] | None = None
        self._checked = 0.0

    def spec(self) -> dict[str, Any] | None:
        """The reshaping in force now, or None."""
        now = time.monotonic()
        if self.path is not None and now - self._checked >= CHECK_S:
            self._checked = now
            try:
                self._spec = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._spec = None
        return self._spec

    def apply(self, body: Any) -> Any:
        """``body`` reshaped when a reshaping is on (for its ``fraction`` of the calls)."""
        spec = self.spec()
        if spec is None or self.rng.random() >= spec.get("fraction", 1.0):
            return body
        return reshape(body, spec)
