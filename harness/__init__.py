"""chaos-harness: chaos-engineering and resilience tests for ML pipelines.

>>> from harness import load_scenario, run_scenario            # doctest: +SKIP
>>> result = run_scenario(load_scenario("scenarios/feature-store-latency.yaml"),
...                       scenario_file=Path("scenarios/feature-store-latency.yaml"))
>>> result.verdict
'passed'

The package face is lazy (PEP 562): ``import harness.proxy`` or the pytest plugin loads
only what it uses; a public name is imported from its module the first time it is read.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "harness.errors": ("DriverError", "FaultApplyError", "FaultRevertError", "HarnessError",
                       "InfraError", "InvalidScenario", "ProbeTimeout", "ScenarioError",
                       "SLOSyntaxError", "SLOViolation", "UnknownFault"),
    "harness.loader": ("load_scenario",),
    "harness.model": ("Scenario",),
    "harness.runner": ("RunResult", "run_scenario"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
