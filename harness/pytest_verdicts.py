"""What a chaos run means to pytest: its SLO verdicts as sub-results.

A scenario item is one pytest test; each SLO it judged is a sub-result of it, shown
three ways:

* the item's failure message names every SLO (observed vs threshold) and the run
  directory, so a red CI line says what broke and where the evidence is;
* pytest's own JUnit XML (``--junitxml``) gets one ``<testcase>`` per SLO, named like
  a parametrized test, ``<scenario>[<slo>]``, next to the item's own case;
* the terminal summary gets a ``chaos SLO verdicts`` section.

:func:`outcome_of` is the only function that reads the runner's result: when the
report becomes a typed judgement, that function changes and nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest

_STATUS_WORDS = {"passed": "passed", "failed": "FAILED", "unknown": "UNKNOWN"}


@dataclass(frozen=True)
class SloVerdict:
    """One SLO's outcome: ``status`` is ``passed``, ``failed`` or ``unknown``."""

    name: str
    status: str
    observed: Any
    threshold: Any
    message: str

    def line(self) -> str:
        """``FAILED   during[slow].p99_ms: observed 307.3, threshold < 100 (why)``."""
        why = f" ({self.message})" if self.message and self.status != "passed" else ""
        return (f"{_STATUS_WORDS.get(self.status, self.status):8} {self.name}: "
                f"observed {self.observed}, threshold {self.threshold}{why}")


@dataclass(frozen=True)
class RunOutcome:
    """A finished run as pytest needs it; plain data, so xdist can carry it."""

    run_dir: str
    status: str
    """The harness's own outcome: ``completed``, ``interrupted`` or ``error``."""
    verdict: str | None
    """The system's outcome: ``passed``, ``failed``, ``unknown``; None without a report."""
    error: str | None
    slos: tuple[SloVerdict, ...]

    @property
    def passed(self) -> bool:
        """The harness completed, wrote its reports, and every SLO held."""
        return self.status == "completed" and self.error is None and self.verdict == "passed"

    def properties(self) -> list[tuple[str, str]]:
        """``record_property`` pairs: the run directory, then one per SLO."""
        return [("chaos_run_dir", self.run_dir)] + [
            (f"slo:{v.name}", f"{v.status} (observed {v.observed}, threshold {v.threshold})")
            for v in self.slos]

    def failure_message(self, scenario: str, reproduce: str) -> str:
        """The item's failure text: what failed, every SLO, the run dir, how to rerun."""
        missed = {status: sum(v.status == status for v in self.slos) for status in ("failed", "unknown")}
        if self.status != "completed":
            head = f"scenario {scenario!r}: the harness did not complete ({self.status}): {self.error}"
        elif self.error:
            head = f"scenario {scenario!r}: {self.error}"
        elif any(missed.values()):
            counts = " and ".join(f"{n} {status}" for status, n in missed.items() if n)
            head = f"scenario {scenario!r}: {counts} of {len(self.slos)} SLOs"
        else:
            head = f"scenario {scenario!r}: verdict {self.verdict}: the run's record is incomplete"
        lines = [f"{head}; run dir: {self.run_dir}"]
        lines += [f"  {v.line()}" for v in sorted(self.slos, key=lambda v: v.status == "passed")]
        return "\n".join([*lines, f"reproduce: {reproduce}"])

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (carried on the test report, across xdist workers too)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunOutcome:
        """The inverse of :meth:`to_json`."""
        return cls(**{**data, "slos": tuple(SloVerdict(**v) for v in data["slos"])})


def outcome_of(result) -> RunOutcome:
    """Read a :class:`harness.runner.RunResult`; the one coupling to the runner's report."""
    report = result.report or {}
    slos = tuple(SloVerdict(name=s["name"], status=s["status"], observed=s.get("observed"),
                            threshold=s.get("threshold"), message=s.get("message", ""))
                 for s in report.get("slos", []))
    error = result.error
    if result.reports_error:
        error = f"{error}; " if error else ""
        error += f"the reports could not be written ({result.reports_error})"
    return RunOutcome(run_dir=str(result.run_dir), status=result.status,
                      verdict=report.get("verdict"), error=error, slos=slos)


def slo_reports(item_report: pytest.TestReport, outcome: RunOutcome) -> list[pytest.TestReport]:
    """One call and one teardown report per SLO, for pytest's JUnit XML writer.

    The SLO goes in the bracket, as a parameter would (``x.yaml::name[overall.error_rate]``):
    pytest names the testcase ``name[...]`` whatever brackets the SLO name holds.
    """
    reports = []
    for verdict in outcome.slos:
        nodeid = f"{item_report.nodeid}[{verdict.name}]"
        longrepr = None
        if verdict.status != "passed":
            what = "not met" if verdict.status == "failed" else "could not be judged (unknown)"
            longrepr = (f"{verdict.name}: {what}: observed {verdict.observed}, threshold "
                        f"{verdict.threshold}: {verdict.message}\nrun dir: {outcome.run_dir}")
        properties = [("observed", str(verdict.observed)), ("threshold", str(verdict.threshold)),
                      ("status", verdict.status)]
        reports.append(pytest.TestReport(
            nodeid, item_report.location, {}, "passed" if longrepr is None else "failed",
            longrepr, "call", user_properties=properties))
        reports.append(pytest.TestReport(nodeid, item_report.location, {}, "passed", None,
                                         "teardown", user_properties=properties))
    return reports


def summary_lines(judged: list[tuple[str, RunOutcome]]) -> list[str]:
    """The terminal summary: each scenario item, its SLOs, and the totals."""
    lines, totals = [], {"passed": 0, "failed": 0, "unknown": 0}
    for nodeid, outcome in judged:
        state = "passed" if outcome.passed else f"FAILED ({outcome.verdict or outcome.status})"
        lines.append(f"{nodeid}: {state}; run dir: {outcome.run_dir}")
        for verdict in outcome.slos:
            lines.append(f"  {verdict.line()}")
            totals[verdict.status] = totals.get(verdict.status, 0) + 1
    counted = ", ".join(f"{n} {status}" for status, n in totals.items() if n)
    return [*lines, f"SLOs: {counted or 'none judged'}"]


class SloReporter:
    """A plugin object where reports are gathered (the only process, or the xdist
    controller): each scenario item's SLOs become testcases of pytest's JUnit XML and
    lines of the terminal summary."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.judged: list[tuple[str, RunOutcome]] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "chaos_outcome", None)
        if report.when != "call" or data is None:
            return
        outcome = RunOutcome.from_json(data)
        self.judged.append((report.nodeid, outcome))
        xml = _junit_writer(self.config)
        if xml is not None:
            for slo_report in slo_reports(report, outcome):
                xml.pytest_runtest_logreport(report=slo_report)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.judged:
            terminalreporter.write_sep("=", "chaos SLO verdicts")
            for line in summary_lines(self.judged):
                terminalreporter.write_line(line)


def _junit_writer(config: pytest.Config):
    """pytest's own JUnit XML writer when ``--junitxml`` is on, else None.

    Its stash key is the one private name we use (stable since pytest 6.2); we feed the
    writer through its public hook method only, so it lays out the cases itself."""
    from _pytest.junitxml import xml_key

    return config.stash.get(xml_key, None)
