"""Read an explore file: an ordinary scenario whose faults come from its ``explore:`` menu.

Everything is checked before anything starts: the scenario itself (the loader), then
each menu entry at its corners (every ``choose`` option, both ends of each ``range``,
the earliest and the latest start with the longest duration) as a scenario of its own,
so a link the pipeline lacks or a range that runs past the load is reported at the
menu entry's line, exit code 2.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InvalidScenario, Problem
from harness.explore.menu import ExploreMenu, MenuFault, param_options
from harness.faults.registry import fault_kinds
from harness.loader import load_scenario
from harness.located import problem_at
from harness.model import Scenario
from harness.trials import variant_data, write_variant
from harness.units import format_duration
from harness.yamlfile import YamlDocument, read_yaml


@dataclass(frozen=True)
class ExploreSource:
    """A validated explore file: its raw data, the scenario and the menu."""

    path: Path
    data: dict[str, Any]
    scenario: Scenario
    menu: ExploreMenu


def load_explore(path: Path, *, backend: str | None = None) -> ExploreSource:
    """Load and check an explore file; raise InvalidScenario with located problems."""
    scenario = load_scenario(path, backend=backend)
    doc = read_yaml(path)
    if scenario.explore is None:
        raise InvalidScenario([problem_at(doc, (), "has no explore: section (the menu of faults "
                                                   "to combine); see docs/explore.md")])
    if scenario.faults:
        raise InvalidScenario([problem_at(doc, ("faults",), "an explored scenario takes its faults "
                                                            "from explore.faults; remove faults")])
    problems: list[Problem] = []
    kinds = fault_kinds()
    with tempfile.TemporaryDirectory(prefix="chaos-explore-") as tmp:
        for i, entry in enumerate(scenario.explore.faults):
            loc = ("explore", "faults", i)
            if entry.kind not in kinds:
                problems.append(problem_at(doc, loc + ("kind",), f"unknown fault kind {entry.kind!r:.60}; "
                                           f"known kinds: {', '.join(kinds)}"))
                continue
            instant = kinds[entry.kind].instant
            if instant == (entry.for_ is not None):
                why = ("happens at one instant: remove 'for'" if instant
                       else "needs 'for': [shortest, longest]")
                problems.append(problem_at(doc, loc, f"a {entry.kind} fault {why}"))
                continue
            problems += _corner_problems(doc, scenario, entry, loc, Path(tmp), backend)
    if problems:
        raise InvalidScenario(problems)
    return ExploreSource(path=path, data=doc.data, scenario=scenario, menu=scenario.explore)


def _corner_problems(doc: YamlDocument, scenario: Scenario, entry: MenuFault, loc: tuple,
                     tmp: Path, backend: str | None) -> list[Problem]:
    """Problems of ``entry`` tried alone at its corners, located at the entry."""
    menu = scenario.explore
    simplest = {name: param_options(value)[0] for name, value in entry.params.items()}
    corners = [simplest]
    for name, value in entry.params.items():
        options = param_options(value)
        ends = options[1:] if isinstance(value, dict) and "choose" in value else options[-1:]
        corners += [{**simplest, name: option} for option in ends if option != simplest[name]]
    problems: list[Problem] = []
    for at in {menu.starts(entry)[0], menu.starts(entry)[-1]}:
        for params in corners:
            fault = {"name": "corner", "at": format_duration(at), entry.kind: params}
            if entry.for_ is not None:
                fault["for"] = format_duration(menu.durations(entry)[-1])
            file = tmp / "corner.yaml"
            write_variant(variant_data(doc.data, doc.path, tmp, faults=[fault]), file)
            try:
                load_scenario(file, backend=backend)
            except InvalidScenario as exc:
                shown = ", ".join(f"{k}={v}" for k, v in params.items())
                for problem in exc.problems:
                    message = f"at {format_duration(at)} with {shown or 'its params'}: {problem.message}"
                    found = problem_at(doc, loc, message)
                    if found not in problems:
                        problems.append(found)
    return problems
