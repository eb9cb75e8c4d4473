"""``payload_schema_change``: for the fault's window the load sends requests of a new shape.

A client that starts sending another schema: fields renamed (``rename: {amount: amt}``),
numbers sent as strings (``stringify: [hour]``), fields left out (``drop: [...]``), on
a share ``fraction`` of the requests. The fault only writes the shape to the run
directory (:mod:`harness.payload`); Locust's wrapper reshapes each JSON body while the
file exists, so it works on every backend. Undo: the file is deleted (the load is back
to its own shape within ``harness.payload.CHECK_S``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import Field, model_validator

from harness.errors import DriverError
from harness.faults.base import Fault, FaultContext, Params, Undo
from harness.faults.registry import register
from harness.payload import PAYLOAD_FILE


class PayloadParams(Params):
    rename: dict[str, str] = {}
    stringify: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    fraction: float = Field(1.0, gt=0, le=1)
    """Share of the load's requests sent in the new shape."""

    @model_validator(mode="after")
    def _some_change(self) -> "PayloadParams":
        if not (self.rename or self.stringify or self.drop):
            raise ValueError("give at least one of rename, stringify or drop")
        return self


@register
class PayloadSchemaChangeFault(Fault):
    """The load's JSON bodies reshaped (renamed, stringified or dropped fields) for the window."""

    kind, Params = "payload_schema_change", PayloadParams

    def target(self) -> str:
        return "load"

    def _file(self, ctx: FaultContext) -> Path:
        run_dir = getattr(ctx.backend, "run_dir", None)
        if run_dir is None:
            raise DriverError("payload_schema_change needs the run directory the load reads")
        return Path(run_dir) / PAYLOAD_FILE

    def prepare(self, ctx: FaultContext) -> None:
        self._file(ctx)

    def inject(self, ctx: FaultContext) -> Undo:
        path = self._file(ctx)
        spec = self.params.model_dump(mode="json")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(spec))
        os.replace(tmp, path)
        return lambda: path.unlink(missing_ok=True)
