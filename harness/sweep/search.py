"""The sweep: a bounded bisection over real runs towards each SLO's breaking point.

The first two runs are the range's ends. Each SLO that passes at one end and fails at
the other has an **edge**: the neighbouring pair of tried values ``a < b`` where its
verdict changes first, seen from the low end. Each further run tries the midpoint of
the widest edge (any SLO's), and its verdicts narrow every edge it falls in, until the
runs are spent or every edge is one step wide (1 for integers). The **breaking point**
is the value next to the edge on the failing side; the truth lies within ``b - a`` of
it (if the SLO is monotone in the parameter; a verdict that flips back says it is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.sweep.param import SweepParam
from harness.trials import Outcome, run_trial, variant_data, write_variant


@dataclass(frozen=True)
class Point:
    """One tried value and its run."""

    number: int
    value: float
    file: Path
    outcome: Outcome

    def passed(self, slo: str) -> bool:
        """Whether ``slo`` held in this run (an SLO it lacks or could not judge did not)."""
        return any(s["name"] == slo and s["status"] == "passed" for s in self.outcome.slos)


@dataclass(frozen=True)
class Edge:
    """Where one SLO's verdict changes along the parameter."""

    slo: str
    fails: str
    """``above`` (passes at the low end, fails at the high end), ``below``, ``everywhere``
    or ``nowhere``."""
    low: float | None = None
    """``a``: the last tried value with the low end's verdict."""
    high: float | None = None
    """``b``: the first tried value with the other verdict."""
    monotone: bool = True

    @property
    def breaking_point(self) -> float | None:
        """The tried value next to the edge on the failing side (None without an edge)."""
        if self.low is None:
            return None
        return self.high if self.fails == "above" else self.low

    @property
    def step(self) -> float | None:
        """``b - a``: how far the truth may be from the breaking point."""
        return None if self.low is None else self.high - self.low


def edges(points: list[Point]) -> list[Edge]:
    """Each SLO's edge over ``points`` (the range's two ends must be among them)."""
    ordered = sorted(points, key=lambda p: p.value)
    names = list(dict.fromkeys(s["name"] for p in ordered for s in p.outcome.slos))
    out = []
    for name in names:
        held = [p.passed(name) for p in ordered]
        if held[0] == held[-1]:
            out.append(Edge(name, "nowhere" if held[0] else "everywhere", monotone=len(set(held)) == 1))
            continue
        first = held.index(not held[0])
        out.append(Edge(name, "above" if held[0] else "below", low=ordered[first - 1].value,
                        high=ordered[first].value, monotone=held[first:].count(held[0]) == 0))
    return out


class Sweeper:
    """Run ``source`` at values of ``param`` (at most ``runs``), bisecting towards each edge."""

    def __init__(self, data: dict[str, Any], source_file: Path, param: SweepParam, out_dir: Path, *,
                 runs: int, backend: str | None = None, log: Callable[[str], None] = print,
                 runner: Callable[..., Outcome] = run_trial):
        self.data, self.source_file, self.param, self.out_dir = data, source_file, param, out_dir
        self.runs, self.backend, self.log, self.runner = runs, backend, log, runner
        self.points: list[Point] = []

    def variant(self, value: float, path: Path) -> Path:
        """Write the scenario with the parameter at ``value`` to ``path``."""
        data = self.param.apply(variant_data(self.data, self.source_file, path.parent), value)
        return write_variant(data, path)

    def sweep(self) -> list[Edge]:
        """Run the ends, then bisect; return each SLO's edge."""
        for value in (self.param.low, self.param.high):
            self._run(value)
        while len(self.points) < self.runs:
            value = self._next_value()
            if value is None:
                break
            self._run(value)
        return edges(self.points)

    def _next_value(self) -> float | None:
        """The midpoint of the widest edge that can still be split, or None."""
        for edge in sorted((e for e in edges(self.points) if e.step), key=lambda e: -e.step):
            middle = (edge.low + edge.high) / 2
            if self.param.integer:
                middle = float(round(middle))
            elif self.param.duration:
                middle = round(middle, 3)
            if edge.low < middle < edge.high:
                return middle
        return None

    def _run(self, value: float) -> None:
        number = len(self.points) + 1
        file = self.variant(value, self.out_dir / "variants" / f"{number:03d}.yaml")
        outcome = self.runner(file, reports_dir=self.out_dir / "runs", backend=self.backend)
        self.points.append(Point(number, value, file, outcome))
        failed = ", ".join(outcome.failed)
        self.log(f"run {number}: {self.param.path_text} = {self.param.value(value)} -> "
                 f"{outcome.verdict}{f' ({failed})' if failed else ''} in {outcome.seconds:.1f} s")
