"""chaos-harness: chaos-engineering and resilience tests for ML pipelines.

>>> from harness import load_scenario, run_scenario            # doctest: +SKIP
>>> result = run_scenario(load_scenario("scenarios/feature-store-latency.yaml"),
...                       scenario_file=Path("scenarios/feature-store-latency.yaml"))
>>> result.verdict
'passed'
"""

__version__ = "0.1.0"

from harness.errors import (  # noqa: E402
    DriverError, FaultApplyError, FaultRevertError, HarnessError, InfraError, InvalidScenario,
    ProbeTimeout, ScenarioError, SLOSyntaxError, SLOViolation, UnknownFault)
from harness.loader import load_scenario  # noqa: E402
from harness.model import Scenario  # noqa: E402
from harness.runner import RunResult, run_scenario  # noqa: E402

__all__ = [
    "DriverError", "FaultApplyError", "FaultRevertError", "HarnessError", "InfraError",
    "InvalidScenario", "ProbeTimeout", "RunResult", "SLOSyntaxError", "SLOViolation", "Scenario",
    "ScenarioError", "UnknownFault", "__version__", "load_scenario", "run_scenario",
]
