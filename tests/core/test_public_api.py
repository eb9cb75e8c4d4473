"""The public API is pinned: adding or removing a name is a deliberate act."""

import harness


def test_exported_members():
    assert sorted(harness.__all__) == sorted([
        "DriverError", "FaultApplyError", "FaultRevertError", "HarnessError", "InfraError",
        "InvalidScenario", "ProbeTimeout", "RunResult", "SLOSyntaxError", "SLOViolation", "Scenario",
        "ScenarioError", "UnknownFault", "__version__", "load_scenario", "run_scenario",
    ])
    for name in harness.__all__:
        assert getattr(harness, name) is not None


def test_exit_codes_follow_the_exception_tree():
    assert harness.InvalidScenario([]).exit_code == 2
    assert harness.DriverError("x").exit_code == 3
    assert harness.SLOViolation([]).exit_code == 1
    assert issubclass(harness.InvalidScenario, harness.ScenarioError)
    assert issubclass(harness.FaultRevertError, harness.InfraError)
