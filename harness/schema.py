"""The JSON Schema of a scenario file, with one entry per registered fault kind.

``chaos-harness schema`` prints it; ``scenarios/schema.json`` is its committed copy
(a test keeps the two equal).
"""

from __future__ import annotations

from typing import Any

from harness.faults.registry import fault_kinds
from harness.model import FaultSpec, Scenario


def scenario_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a scenario YAML file."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})
    common = FaultSpec.model_json_schema(by_alias=True)["properties"]
    variants = []
    for kind, cls in fault_kinds().items():
        params = cls.Params.model_json_schema()
        defs.update(params.pop("$defs", {}))
        defs[f"{kind}_fault"] = {
            "type": "object",
            "description": (cls.__doc__ or "").strip().splitlines()[0],
            "properties": {"name": common["name"], "at": common["at"], "for": common["for"],
                           kind: params},
            "required": ["name", kind],
            "additionalProperties": False,
        }
        variants.append({"$ref": f"#/$defs/{kind}_fault"})
    schema["properties"]["faults"] = {"type": "array", "items": {"oneOf": variants}, "default": []}
    defs.pop("FaultSpec", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chaos-harness scenario"
    return schema
