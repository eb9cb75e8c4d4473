"""The search: hypothesis's own engine over real runs, within a budget.

A hypothesis test (``@given``, seeded by the explore seed) draws schedules from
:func:`~harness.explore.strategy.schedules`; each new one is written as a scenario file
(``tries/NNN.yaml``) and run for real; the condition "breaks an SLO" is the run's
verdict ``failed``. Once one fails, hypothesis shrinks it and re-raises the failure of
the minimal failing schedule. Its example database is kept in the explore directory
(``hypothesis/``).

The budget bounds both the number of real runs and the wall time: once spent, every
schedule not yet run counts as "did not break" without running, which ends generation
and shrinking at once; the answer is then the smallest failing schedule seen so far.
Results are kept per schedule, so a schedule hypothesis asks about twice runs once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.errors import InvalidScenario
from harness.explore.source import ExploreSource
from harness.explore.strategy import describe, schedules
from harness.trials import Outcome, TrialStopped, run_trial, variant_data, write_variant


@dataclass(frozen=True)
class Budget:
    """At most ``runs`` real runs and ``seconds`` of wall time (checked before each run)."""

    runs: int
    seconds: float


@dataclass
class Trial:
    """One schedule hypothesis asked about, and what became of it."""

    number: int
    schedule: list[dict[str, Any]]
    file: Path | None = None
    outcome: Outcome | None = None
    skipped: str | None = None
    """Why it was not run: ``invalid: ...``, the budget, or the run that stopped the search."""

    @property
    def broke(self) -> bool:
        """Whether its run failed an SLO."""
        return self.outcome is not None and self.outcome.verdict == "failed"


@dataclass
class Exploration:
    """The whole search: every trial, in order, and the minimal failing one (if any)."""

    trials: list[Trial] = field(default_factory=list)
    minimal: Trial | None = None
    stopped_by: str = "search done"
    """``search done``, ``budget: runs`` or ``budget: time``."""
    not_run: int = 0
    """Schedules hypothesis asked about after the budget was spent (not run, not listed)."""

    @property
    def runs(self) -> int:
        """How many schedules were run for real."""
        return sum(t.outcome is not None for t in self.trials)


class Explorer:
    """Search ``source``'s menu for a schedule that breaks an SLO; shrink it (``explore()``).

    ``runner`` runs one scenario file (``harness.trials.run_trial``; a fake in unit tests).
    """

    def __init__(self, source: ExploreSource, out_dir: Path, *, budget: Budget, seed: int,
                 backend: str | None = None, log: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic,
                 runner: Callable[..., Outcome] = run_trial):
        self.source, self.out_dir, self.budget, self.seed = source, out_dir, budget, seed
        self.backend, self.log, self.clock, self.runner = backend, log, clock, runner
        self.result = Exploration()
        self._by_key: dict[str, Trial] = {}
        self._started = 0.0
        self._stop: TrialStopped | None = None

    def explore(self) -> Exploration:
        """Run the search; raise TrialStopped if a run did not complete."""
        from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
        from hypothesis.database import DirectoryBasedExampleDatabase

        self._started = self.clock()
        config = settings(database=DirectoryBasedExampleDatabase(str(self.out_dir / "hypothesis")),
                          max_examples=self.budget.runs, deadline=None, verbosity=Verbosity.quiet,
                          phases=[Phase.reuse, Phase.generate, Phase.shrink],
                          suppress_health_check=list(HealthCheck), report_multiple_bugs=False)

        @config  # outside @seed, which would otherwise switch the database off
        @seed(self.seed)
        @given(schedules(self.source.menu))
        def search(schedule: list[dict[str, Any]]) -> None:
            if self._breaks(schedule):
                raise _Broke(schedule)

        try:
            search()
        except _Broke as broke:  # hypothesis re-raises it for the shrunk schedule
            self.result.minimal = self._by_key[_key(broke.schedule)]
        if self._stop is not None:
            self.result.stopped_by = f"a run did not complete: {self._stop}"
            raise self._stop
        return self.result

    def _breaks(self, schedule: list[dict[str, Any]]) -> bool:
        """hypothesis's condition: does this schedule break an SLO (run it if new)?"""
        key = _key(schedule)
        if key not in self._by_key:
            self._by_key[key] = self._try(schedule)
        return self._by_key[key].broke

    def _try(self, schedule: list[dict[str, Any]]) -> Trial:
        spent = self._spent()
        if spent:  # not run, not listed: only counted
            self.result.stopped_by = spent
            self.result.not_run += 1
            return Trial(number=0, schedule=schedule, skipped=spent)
        trial = Trial(number=len(self.result.trials) + 1, schedule=schedule)
        self.result.trials.append(trial)
        file = self.out_dir / "tries" / f"{trial.number:03d}.yaml"
        data = variant_data(self.source.data, self.source.path, file.parent,
                            name=f"{self.source.scenario.name}-try{trial.number:03d}", faults=schedule)
        trial.file = write_variant(data, file)
        try:
            trial.outcome = self.runner(file, reports_dir=self.out_dir / "runs", backend=self.backend)
        except InvalidScenario as exc:  # e.g. a kill during a pause of the same service
            trial.skipped = f"invalid: {exc.problems[0].message}"
        except TrialStopped as exc:
            self._stop = exc
            trial.skipped = str(exc)
        self.log(_line(trial))
        return trial

    def _spent(self) -> str | None:
        if self._stop is not None:
            return "stopped"
        if self.result.runs >= self.budget.runs:
            return "budget: runs"
        if self.clock() - self._started >= self.budget.seconds:
            return "budget: time"
        return None


class _Broke(Exception):
    """Raised inside the hypothesis test for a schedule that broke an SLO."""

    def __init__(self, schedule: list[dict[str, Any]]):
        super().__init__("an SLO broke")
        self.schedule = schedule


def _key(schedule: list[dict[str, Any]]) -> str:
    return json.dumps(schedule, sort_keys=True)


def _line(trial: Trial) -> str:
    if trial.outcome is None:
        return f"try {trial.number:3d}: {describe(trial.schedule)} -> not run ({trial.skipped})"
    failed = ", ".join(trial.outcome.failed)
    return (f"try {trial.number:3d}: {describe(trial.schedule)} -> {trial.outcome.verdict}"
            f"{f' ({failed})' if failed else ''} in {trial.outcome.seconds:.1f} s")
