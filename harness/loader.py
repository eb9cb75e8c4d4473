"""Scenario files -> :class:`~harness.model.Scenario`, with every problem located.

Nothing here starts anything: ``load_scenario`` reads YAML, validates types, fault
kinds and SLO expressions, and cross-checks names against the pipeline declaration.
Each problem names file, line and key path, in one message per problem::

    scenarios/bad.yaml:12: faults[0].latency.latency_ms: must be >= 0 (got -5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import InvalidScenario, Problem
from harness.faults.registry import fault_kinds, get_fault
from harness.model import COMMON_FAULT_KEYS, FaultSpec, Scenario
from harness.overlaps import overlap_problems
from harness.pipeline import PIPELINE_FILE, Pipeline, load_pipeline

Loc = tuple[Any, ...]


def load_scenario(path: str | Path, backend: str | None = None) -> Scenario:
    """Load and fully validate one scenario file; raise InvalidScenario listing problems.

    ``backend`` overrides the file's own ``backend`` (as ``run --backend`` does) for the
    checks of faults and links that exist on some backends only.
    """
    return _Loader(Path(path), backend).load()


def resolve_pipeline_dir(pipeline: str, scenario_file: Path) -> Path:
    """Find a scenario's ``pipeline`` directory: beside the file, in its parents, or cwd."""
    relative = Path(pipeline)
    if relative.is_absolute():
        return relative
    for base in [scenario_file.resolve().parent, *scenario_file.resolve().parents, Path.cwd()]:
        if (base / relative / PIPELINE_FILE).is_file():
            return base / relative
    return Path.cwd() / relative


class _Loader:
    def __init__(self, path: Path, backend: str | None = None):
        self.path = path
        self.backend = backend
        self.problems: list[Problem] = []
        self.lines: dict[Loc, int] = {}

    def problem(self, loc: Loc, message: str) -> None:
        line = _line_of(self.lines, tuple(p for p in loc if not str(p).startswith("function-")))
        self.problems.append(Problem(str(self.path), line, _dotted(loc), message))

    def load(self) -> Scenario:
        data = self._read()
        faults = self._faults(data.get("faults"))
        specs = tuple(spec for _, spec in faults or ())
        scenario = self._validated(Scenario, {**data, "faults": specs}, ()) if faults is not None or "faults" not in data else None
        if faults:
            self._check_pipeline(data, faults)
        if scenario is not None:
            self._cross_check(scenario)
        if self.problems:
            raise InvalidScenario(sorted(self.problems, key=lambda p: p.line or 0))
        return scenario

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidScenario([Problem(str(self.path), None, "", f"cannot read file: {exc.strerror}")])
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            reason = getattr(exc, "problem", None) or str(exc)
            raise InvalidScenario([Problem(str(self.path), line, "", f"invalid YAML: {reason}")])
        if not isinstance(data, dict):
            raise InvalidScenario([Problem(str(self.path), 1, "",
                                           f"expected a mapping of scenario keys, got {type(data).__name__}")])
        _index_lines(node, (), self.lines)
        return data

    def _faults(self, raw: Any) -> list[tuple[int, FaultSpec]] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            self.problem(("faults",), f"must be a list of faults (got {type(raw).__name__})")
            return None
        kinds = fault_kinds()
        specs = []
        for i, item in enumerate(raw):
            loc = ("faults", i)
            if not isinstance(item, dict):
                self.problem(loc, f"must be a mapping with name, at, for and one fault kind (got {item!r})")
                continue
            given = [k for k in item if k not in COMMON_FAULT_KEYS]
            if len(given) != 1:
                what = "no fault kind" if not given else f"several fault kinds {given}"
                self.problem(loc, f"{what}; give exactly one of: {', '.join(kinds)}")
                continue
            kind = given[0]
            if kind not in kinds:
                self.problem(loc + (kind,), f"unknown fault kind {kind!r}; known kinds: {', '.join(kinds)}")
                continue
            common = {k: item[k] for k in COMMON_FAULT_KEYS if k in item}
            params = self._validated(kinds[kind].Params, item[kind] or {}, loc + (kind,))
            spec = self._validated(FaultSpec, {**common, "kind": kind, "params": params}, loc)
            if params is not None and spec is not None:
                specs.append((i, spec))
        return specs

    def _validated(self, model: type, data: Any, loc: Loc) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self._add_pydantic(exc, loc)
            return None

    def _add_pydantic(self, exc: ValidationError, prefix: Loc) -> None:
        for error in exc.errors():
            self.problem(prefix + tuple(error["loc"]), _message(error))

    def _cross_check(self, scenario: Scenario) -> None:
        names = [f.name for f in scenario.faults]
        for i, name in enumerate(names):
            if name in names[:i]:
                self.problem(("faults", i, "name"), f"duplicate fault name {name!r}")
        for i, fault in enumerate(scenario.faults):
            if fault.at >= scenario.load.duration:
                self.problem(("faults", i, "at"), f"must be before the load ends at "
                             f"{scenario.load.duration:g}s (got {fault.at:g}s)")
            elif fault.ends_at is not None and fault.ends_at > scenario.load.duration:
                self.problem(("faults", i, "for"), f"fault would end at {fault.ends_at:g}s, "
                             f"after the load ends at {scenario.load.duration:g}s")
        for loc, message in overlap_problems(scenario.faults):
            self.problem(loc, message)
        for key in scenario.expect.during:
            if key not in names:
                self.problem(("expect", "during", key), f"names no fault; faults are: {names}")
        if isinstance(scenario.expect.recovery_time, dict):
            for key in scenario.expect.recovery_time:
                if key not in names:
                    self.problem(("expect", "recovery_time", key), f"names no fault; faults are: {names}")

    def _check_pipeline(self, data: dict[str, Any], faults: list[tuple[int, FaultSpec]]) -> None:
        directory = resolve_pipeline_dir(str(data.get("pipeline", Scenario.model_fields["pipeline"].default)), self.path)
        try:
            pipeline = load_pipeline(directory)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            self.problem(("pipeline",), f"cannot load {directory / PIPELINE_FILE}: {exc}")
            return
        backend = self.backend or data.get("backend", "process")
        for i, fault in faults:
            supported = getattr(get_fault(fault.kind), "backends", None)
            if supported and backend not in (*supported, "auto"):
                self.problem(("faults", i, fault.kind), f"runs only on the {' or '.join(supported)} "
                             f"backend; this scenario's backend is {backend!r}")
            for field, known in (("link", pipeline.links), ("service", pipeline.services)):
                value = getattr(fault.params, field, None)
                if value is not None and value not in known:
                    self.problem(("faults", i, fault.kind, field),
                                 f"pipeline {pipeline.name!r} has no {field} {value!r}; "
                                 f"it has: {', '.join(known)}")
            link = pipeline.links.get(getattr(fault.params, "link", None) or "")
            if link is not None and not link.on(backend):
                self.problem(("faults", i, fault.kind, "link"),
                             f"link {fault.params.link!r} exists only on the {' or '.join(link.backends)} "
                             f"backend; this scenario's backend is {backend!r}")
            if fault.kind in ("corrupt_features", "schema_change"):
                self._check_columns(pipeline, fault, i)

    def _check_columns(self, pipeline: Pipeline, fault: FaultSpec, i: int) -> None:
        if pipeline.feature_store is None:
            self.problem(("faults", i, fault.kind), f"pipeline {pipeline.name!r} declares no feature_store")


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = loc + (key.value,)
            _index_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, loc + (i,), lines)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-plain"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


_MESSAGES = {
    "greater_than_equal": "must be >= {ge} (got {input!r})",
    "greater_than": "must be > {gt} (got {input!r})",
    "less_than_equal": "must be <= {le} (got {input!r})",
    "less_than": "must be < {lt} (got {input!r})",
    "extra_forbidden": "unknown key (value {input!r}); check the spelling against the schema",
    "missing": "is required",
    "literal_error": "must be one of {expected} (got {input!r})",
}


def _message(error: dict[str, Any]) -> str:
    template = _MESSAGES.get(error["type"])
    if template:
        try:
            return template.format(input=error.get("input"), **error.get("ctx", {}))
        except (KeyError, IndexError):
            pass
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("value_error",) or "input" not in error:
        return message
    return f"{message[0].lower()}{message[1:]} (got {error['input']!r})"


def _line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())

