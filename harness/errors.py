"""The harness's exception tree, split by who must act.

::

    HarnessError
    ├── ScenarioError (also ValueError)      the user's input: exit code 2
    │   ├── InvalidScenario                  one or more problems in a scenario file
    │   ├── UnknownFault                     a fault kind nobody registered
    │   └── SLOSyntaxError                   an SLO expression that does not parse
    ├── InfraError                           the harness or its environment: exit code 3
    │   ├── DriverError                      Docker, Toxiproxy or a process backend failed
    │   ├── FaultApplyError                  a fault could not be injected
    │   ├── FaultRevertError                 a fault could not be reverted
    │   ├── JournalWriteError                the journal could not be written (disk full)
    │   └── RunAborted                       the run cannot go on (its fault proxy died)
    ├── ProbeTimeout                         a health or steady-state probe never passed (exit 3)
    └── SLOViolation                         the system under test missed an SLO: exit code 1

"The harness worked" and "the system passed" are separate facts: an SLOViolation is a
successful run of the harness that found a failing system.
"""

from __future__ import annotations

from dataclasses import dataclass


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code = 3


@dataclass(frozen=True)
class Problem:
    """One problem in one input file: where it is and what is wrong.

    >>> str(Problem("s.yaml", 4, "faults[0].latency.latency_ms", "must be >= 0 (got -5)"))
    's.yaml:4: faults[0].latency.latency_ms: must be >= 0 (got -5)'
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(HarnessError, ValueError):
    """The user's scenario (or pipeline) file is wrong; nothing was started."""

    exit_code = 2


class InvalidScenario(ScenarioError):
    """A scenario file has one or more problems, each with file, line and key path."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownFault(ScenarioError):
    """A fault names a kind that is not registered."""


class SLOSyntaxError(ScenarioError):
    """An SLO expression such as ``"< 1%"`` could not be parsed."""


class InfraError(HarnessError):
    """The harness or its environment failed (Docker, proxy, processes)."""

    exit_code = 3


class DriverError(InfraError):
    """A backend or fault-proxy driver could not do what was asked."""


class FaultApplyError(InfraError):
    """A fault could not be injected (anything half-applied has been reverted)."""


class FaultRevertError(InfraError):
    """A fault could not be reverted; ``chaos-harness cleanup`` may be needed."""


class JournalWriteError(InfraError):
    """The journal could not be written (e.g. no space left on the device)."""


class RunAborted(InfraError):
    """Something the whole run stands on failed mid-run (e.g. the fault proxy died)."""


class ProbeTimeout(HarnessError):
    """A probe never passed within its timeout; the message says what it last saw."""

    exit_code = 3


class SLOViolation(HarnessError):
    """The system under test missed at least one SLO; carries the verdicts."""

    exit_code = 1

    def __init__(self, verdicts: list):
        self.verdicts = verdicts
        failed = [v for v in verdicts if getattr(v, "status", None) != "passed"]
        super().__init__(f"{len(failed)} of {len(verdicts)} SLOs not met")
