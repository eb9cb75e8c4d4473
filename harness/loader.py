"""Scenario files -> :class:`~harness.model.Scenario`, with every problem located.

Nothing here starts anything. ``load_scenario`` checks, in this order:

1. the file itself (:mod:`harness.yamlfile`): size, encoding, nesting, aliases,
   duplicate keys;
2. every key's type and range (:mod:`harness.model`, each fault kind's ``Params``);
3. the pipeline, always: the ``pipeline`` directory must hold a valid
   ``pipeline.yaml``; faults must name its links and services, suit the backend,
   and name only the feature-store columns it declares;
4. across keys (``_cross_check``): fault names, times within the load, expectations
   that name faults and can be judged, a steady-state window that fits;
5. blast radius and runbook: a link's ``upstream`` off loopback only to a host listed
   in ``allowed_hosts``; the runbook file parses and holds every bound step.

Each problem names file, line and key path, in one message per problem::

    scenarios/bad.yaml:12: faults[0].latency.latency_ms: must be >= 0 (got -5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.compose_env import compose_services
from harness.errors import InvalidScenario, Problem
from harness.faults.base import DataFault
from harness.faults.registry import fault_kinds, get_fault
from harness.located import not_a_mapping, problem_at, problems_of
from harness.metrics_scrape import parse_expression
from harness.model import COMMON_FAULT_KEYS, MAX_FAULTS, FaultSpec, Scenario, SLOSet
from harness.overlaps import overlap_problems
from harness.pipeline import PIPELINE_FILE, Pipeline, load_pipeline
from harness.proxy.addr import is_loopback_host
from harness.runbook import RunbookError, parse_runbook
from harness.units import Threshold
from harness.yamlfile import Loc, YamlDocument, read_yaml

_BACKENDS = ("process", "docker", "auto")


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
        self.doc = YamlDocument(path, None, {})

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(problem_at(self.doc, loc, message))

    def load(self) -> Scenario:
        self.doc = read_yaml(self.path)
        data = self.doc.data
        if not isinstance(data, dict):
            raise InvalidScenario([not_a_mapping(self.doc, "scenario keys")])
        faults = self._faults(data.get("faults"))
        scenario = None
        if faults is not None:
            specs = tuple(spec for _, spec in faults)
            scenario = self._validated(Scenario, {**data, "faults": specs}, ())
        pipeline = self._pipeline(data.get("pipeline", Scenario.model_fields["pipeline"].default))
        if pipeline is not None:
            backend = self.backend or data.get("backend", "process")
            docker_only = pipeline.docker_only()
            if docker_only and backend == "process":
                self.problem(("backend",) if "backend" in data else ("pipeline",),
                             f"pipeline {pipeline.name!r} runs on the docker backend only: service(s) "
                             f"{', '.join(docker_only)} have no command (its compose file starts them); "
                             f"use backend: docker")
            for i, fault in faults or ():
                self._check_targets(pipeline, backend, fault, i)
                self._check_store(pipeline, fault, i)
            self._check_flags(pipeline, data)
            self._check_upstreams(pipeline, backend, data.get("allowed_hosts"))
            if scenario is not None and scenario.runbook is not None:
                self._check_runbook(scenario, pipeline)
            if scenario is not None:
                self._check_env(scenario, pipeline, backend)
                self._check_correctness(scenario, pipeline)
        if scenario is not None:
            self._cross_check(scenario)
        if self.problems:
            mine = str(self.path)
            raise InvalidScenario(sorted(self.problems, key=lambda p: (p.file != mine, p.line or 0)))
        return scenario

    def _faults(self, raw: Any) -> list[tuple[int, FaultSpec]] | None:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(("faults",), f"must be a list of faults (got {type(raw).__name__})")
            return None
        if len(raw) > MAX_FAULTS:
            self.problem(("faults",), f"at most {MAX_FAULTS} faults (got {len(raw)})")
            return None
        kinds = fault_kinds()
        specs = []
        for i, item in enumerate(raw):
            loc = ("faults", i)
            if not isinstance(item, dict):
                self.problem(loc, f"must be a mapping with name, at, for and one fault kind (got {item!r:.60})")
                continue
            given = [k for k in item if k not in COMMON_FAULT_KEYS]
            if len(given) != 1:
                what = "no fault kind" if not given else f"several fault kinds {given}"
                self.problem(loc, f"{what}; give exactly one of: {', '.join(kinds)}")
                continue
            kind = given[0]
            if kind not in kinds:
                self.problem(loc + (kind,), f"unknown fault kind {kind!r:.60}; known kinds: {', '.join(kinds)}")
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
            self.problems += problems_of(exc, self.doc, loc)
            return None

    def _pipeline(self, raw: Any) -> Pipeline | None:
        """The scenario's pipeline, or None after saying why it cannot be read."""
        if not isinstance(raw, str):
            return None  # the model reports the type
        try:
            directory = resolve_pipeline_dir(raw, self.path)
            found = (directory / PIPELINE_FILE).is_file()
        except (OSError, ValueError) as exc:
            self.problem(("pipeline",), f"cannot resolve {raw!r:.80}: {exc}")
            return None
        if not found:
            self.problem(("pipeline",), f"no {PIPELINE_FILE} in {raw!r:.80} (looked beside the "
                         f"scenario, in its parent directories and in the current directory)")
            return None
        try:
            return load_pipeline(directory)
        except InvalidScenario as exc:
            self.problems += exc.problems
            return None

    def _check_targets(self, pipeline: Pipeline, backend: Any, fault: FaultSpec, i: int) -> None:
        """Links, services and artifacts the fault names exist in the pipeline, on this backend."""
        if backend not in _BACKENDS:
            backend = "auto"  # the model reports a bad backend; check what holds anywhere
        supported = getattr(get_fault(fault.kind), "backends", None)
        if supported and backend not in (*supported, "auto"):
            self.problem(("faults", i, fault.kind), f"runs only on the {' or '.join(supported)} "
                         f"backend; this scenario's backend is {backend!r}")
        for field, known in (("link", pipeline.links), ("service", pipeline.services),
                             ("artifact", pipeline.artifacts)):
            value = getattr(fault.params, field, None)
            if value is not None and value not in known:
                self.problem(("faults", i, fault.kind, field),
                             f"pipeline {pipeline.name!r} has no {field} {value!r}; "
                             f"it has: {', '.join(known) or 'none'}")
        artifact = getattr(fault.params, "artifact", None)
        if backend == "docker" and artifact in pipeline.artifacts and (
                pipeline.docker is None or artifact not in pipeline.docker.artifacts):
            self.problem(("faults", i, fault.kind, "artifact"),
                         f"pipeline {pipeline.name!r} does not say where artifact {artifact!r} is in "
                         f"its containers (docker.artifacts in its {PIPELINE_FILE})")
        link = pipeline.links.get(getattr(fault.params, "link", None) or "")
        if link is not None and not link.on(backend):
            self.problem(("faults", i, fault.kind, "link"),
                         f"link {fault.params.link!r} exists only on the {' or '.join(link.backends)} "
                         f"backend; this scenario's backend is {backend!r}")

    def _check_store(self, pipeline: Pipeline, fault: FaultSpec, i: int) -> None:
        """A data fault names a declared store, and only its declared feature columns, never the key."""
        if not issubclass(get_fault(fault.kind), DataFault):
            return
        loc = ("faults", i, fault.kind)
        try:
            _, store = pipeline.store_named(getattr(fault.params, "store", None))
        except LookupError as exc:
            self.problem(loc + (("store",) if getattr(fault.params, "store", None) else ()), str(exc))
            return
        declared = store.columns
        what = f"hashes {store.key_pattern!r}" if store.redis else f"table {store.table!r}"
        named = [(("column",), getattr(fault.params, "column", None))]
        named += [(("columns", j), c) for j, c in enumerate(getattr(fault.params, "columns", None) or ())]
        for where, column in named:
            if column is None:
                continue
            if column == store.key:
                self.problem(loc + where, f"{column!r} is the key of {what}; "
                             f"data faults change feature columns only")
            elif declared is not None and column not in declared:
                self.problem(loc + where, f"{what} of pipeline {pipeline.name!r} has "
                             f"no column {column!r}; its columns are: {', '.join(declared)}")
        for field in ("rename_to", "add_column"):
            new = getattr(fault.params, field, None)
            if new is not None and (new == store.key or new in (declared or ())):
                self.problem(loc + (field,), f"{what} already has a column "
                             f"{new!r}; give a new name")

    def _check_env(self, scenario: Scenario, pipeline: Pipeline, backend: Any) -> None:
        """``env`` names services the backend runs: the pipeline's (process), its compose
        project's (docker), either (``auto``)."""
        if not scenario.env:
            return
        where = {}
        if backend in ("process", "auto") or backend not in _BACKENDS:
            where["process"] = (f"pipeline {pipeline.name!r}", list(pipeline.services))
        if backend in ("docker", "auto") and pipeline.docker is not None:
            files = [pipeline.path(f) for f in pipeline.docker.compose]
            try:
                where["docker"] = (f"the compose project of pipeline {pipeline.name!r} "
                                   f"({', '.join(f.name for f in files)})", compose_services(files))
            except (OSError, ValueError) as exc:
                self.problem(("env",), f"cannot read the compose file(s) of pipeline {pipeline.name!r}: {exc}")
                return
        for service in scenario.env:
            if where and not any(service in names for _, names in where.values()):
                owner, names = where.get(backend, next(iter(where.values())))
                self.problem(("env", service), f"{owner} has no service {service!r}; it has: {', '.join(names)}")

    def _check_correctness(self, scenario: Scenario, pipeline: Pipeline) -> None:
        """Golden SLOs need ``golden`` (and the pipeline's golden set), drift ones a
        declared answer value."""
        named = {key for slo in scenario.slo_sets() for key, _ in slo.items()}
        golden_keys = sorted(named & {"golden_accuracy", "silent_wrong_rate", "prediction_drift_psi",
                                      "prediction_drift_ks"})
        if golden_keys and scenario.golden is None:
            self.problem(("golden",), f"{', '.join(golden_keys)} need the golden probe: add golden: {{rate_per_s: 10}}")
        if scenario.golden is not None and pipeline.golden is None:
            self.problem(("golden",), f"pipeline {pipeline.name!r} declares no golden set")
        if any(k.startswith("prediction_drift") for k in golden_keys) and not pipeline.answers.values:
            self.problem(("golden",), f"pipeline {pipeline.name!r} declares no answers.values to measure drift on")

    def _check_flags(self, pipeline: Pipeline, data: dict[str, Any]) -> None:
        """Each ``<flag>_rate`` SLO names a flag the pipeline declares (when it declares any)."""
        declared = pipeline.answers.flags
        if not declared:
            return
        expect = data.get("expect") if isinstance(data.get("expect"), dict) else {}
        steady = data.get("steady_state") if isinstance(data.get("steady_state"), dict) else {}
        during = expect.get("during") if isinstance(expect.get("during"), dict) else {}
        sets = [(("steady_state", "slo"), steady.get("slo")), (("expect", "overall"), expect.get("overall")),
                *((("expect", "during", name), slo) for name, slo in during.items())]
        for loc, slo in sets:
            for key in slo if isinstance(slo, dict) else ():
                if (isinstance(key, str) and key.endswith("_rate") and key not in SLOSet.model_fields
                        and key[:-len("_rate")] not in declared):
                    self.problem(loc + (key,), f"pipeline {pipeline.name!r} declares no flag "
                                 f"{key[:-len('_rate')]!r}; its flags are: {', '.join(declared)}")

    def _check_upstreams(self, pipeline: Pipeline, backend: Any, allowed: Any) -> None:
        """Blast radius: a link may lead off loopback only to a host the scenario allows."""
        allowed = set(allowed) if isinstance(allowed, list) else set()
        for name, link in pipeline.links.items():
            host = link.upstream_host
            if host is None or not link.on(backend if backend in _BACKENDS else "auto"):
                continue
            if not is_loopback_host(host) and host not in allowed:
                self.problem(("allowed_hosts",), f"link {name!r} of pipeline {pipeline.name!r} leads to "
                             f"{link.upstream}, off this machine; the harness refuses to proxy (and "
                             f"fault) a host the scenario does not list in allowed_hosts")

    def _check_runbook(self, scenario: Scenario, pipeline: Pipeline) -> None:
        """The runbook file parses and the bound steps exist in it."""
        spec = scenario.runbook
        try:
            runbook = parse_runbook(pipeline.dir / spec.file)
        except RunbookError as exc:
            self.problem(("runbook", "file"), f"{spec.file!r} (in {pipeline.dir}): "
                         + "; ".join(str(p) for p in exc.problems))
            return
        bound = [s.step for s in spec.steps]
        for i, step in enumerate(spec.steps):
            if step.step not in runbook.steps:
                self.problem(("runbook", "steps", i, "step"), f"the runbook has no step {step.step}; "
                             f"its steps are {sorted(runbook.steps)}")
            if step.after is not None and step.after not in bound:
                self.problem(("runbook", "steps", i, "after"), f"step {step.after} is not bound here; "
                             f"bound steps: {bound}")
            fault = next((f for f in scenario.faults if f.name == scenario.runbook_fault), None)
            if step.at is not None and fault is not None and step.at < fault.at:
                self.problem(("runbook", "steps", i, "at"), f"{step.at:g}s is before the runbook's fault "
                             f"{fault.name!r} (at {fault.at:g}s): the times count from the fault")
            if bound.count(step.step) > 1 and bound.index(step.step) != i:
                self.problem(("runbook", "steps", i, "step"), f"step {step.step} is bound twice")

    def _cross_check(self, scenario: Scenario) -> None:
        """Checks across keys, each its own method: a new check is one more entry here."""
        for check in (self._check_fault_names, self._check_fault_times, self._check_overlaps,
                      self._check_expect_names, self._check_steady_window, self._check_runbook_times):
            check(scenario)

    def _check_runbook_times(self, scenario: Scenario) -> None:
        """time_to_* need a runbook and its fault; a ``fault`` it names must exist."""
        names = [f.name for f in scenario.faults]
        if scenario.runbook is not None and scenario.runbook.fault is not None \
                and scenario.runbook.fault not in names:
            self.problem(("runbook", "fault"), f"names no fault; faults are: {names}")
        for key in ("time_to_detect", "time_to_mitigate", "time_to_recover"):
            if getattr(scenario.expect, key) is None:
                continue
            if scenario.runbook is None:
                self.problem(("expect", key), "needs a runbook: the times count from its fault to "
                             "its alert, its last step and the steady state")
            elif scenario.runbook_fault is None:
                self.problem(("expect", key), "needs a fault: the times count from the runbook's fault")

    def _check_fault_names(self, scenario: Scenario) -> None:
        seen: set[str] = set()
        for i, fault in enumerate(scenario.faults):
            if fault.name in seen:
                self.problem(("faults", i, "name"), f"duplicate fault name {fault.name!r}")
            seen.add(fault.name)

    def _check_fault_times(self, scenario: Scenario) -> None:
        duration = scenario.load.duration
        for i, fault in enumerate(scenario.faults):
            if fault.at >= duration:
                self.problem(("faults", i, "at"), f"must be before the load ends at "
                             f"{duration:g}s (got {fault.at:g}s)")
            elif fault.ends_at is not None and fault.ends_at > duration:
                self.problem(("faults", i, "for"), f"fault would end at {fault.ends_at:g}s, "
                             f"after the load ends at {duration:g}s")
            if fault.for_ is not None and get_fault(fault.kind).instant:
                self.problem(("faults", i, "for"), f"a {fault.kind} fault happens at one instant "
                             f"and has no duration; remove 'for'")

    def _check_overlaps(self, scenario: Scenario) -> None:
        for loc, message in overlap_problems(scenario.faults):
            self.problem(loc, message)

    def _check_expect_names(self, scenario: Scenario) -> None:
        names = [f.name for f in scenario.faults]
        for key in scenario.expect.during:
            if key not in names:
                self.problem(("expect", "during", key), f"names no fault; faults are: {names}")
            elif get_fault(scenario.fault(key).kind).instant:
                self.problem(("expect", "during", key), f"{key} is instant "
                             f"({scenario.fault(key).kind}): its window is empty, so there is "
                             f"nothing to judge; bound its recovery_time instead")
        for i, text in enumerate(scenario.expect.metrics):
            window = parse_expression(text).window
            if window is not None and window != "baseline" and window not in names:
                self.problem(("expect", "metrics", i), f"[{window}] names no fault; a window is a fault's "
                             f"name or baseline; faults are: {names}")
            elif window is not None and window != "baseline" and get_fault(scenario.fault(window).kind).instant:
                self.problem(("expect", "metrics", i), f"[{window}] is instant ({scenario.fault(window).kind}): "
                             f"its window is empty, so there is nothing to judge")
        if isinstance(scenario.expect.recovery_time, dict):
            for key in scenario.expect.recovery_time:
                if key not in names:
                    self.problem(("expect", "recovery_time", key), f"names no fault; faults are: {names}")

    def _check_steady_window(self, scenario: Scenario) -> None:
        """The window fits in the load, and after each fault whose recovery is bounded.

        Recovery needs one full window between the fault's end (a kill: its instant) and
        the next fault or the load's end (``harness.recovery.measure_recovery``); without
        one the recovery_time verdict would be ``unknown`` whatever the system does.
        """
        window, duration = scenario.steady_state.window, scenario.load.duration
        if window > duration:
            self.problem(("steady_state", "window"), f"{window:g}s is longer than the load "
                         f"({duration:g}s)")
            return
        bounds = scenario.expect.recovery_time
        named = ([f.name for f in scenario.faults] if isinstance(bounds, Threshold)
                 else [n for n in bounds or {} if n in {f.name for f in scenario.faults}])
        loc = ("expect", "recovery_time")
        for name in named:
            where = loc + (name,) if isinstance(bounds, dict) else loc
            reason = _unmeasurable_recovery(scenario, scenario.fault(name))
            if reason:
                self.problem(where, f"the recovery of {name} cannot be measured: {reason}")


def _unmeasurable_recovery(scenario: Scenario, fault: FaultSpec) -> str:
    """Why the planned times leave no room to measure ``fault``'s recovery, or ''."""
    if get_fault(fault.kind).instant:
        start = fault.at
    elif fault.ends_at is None:
        return "it has no 'for', so it is reverted only when the load stops"
    else:
        start = fault.ends_at
    window, duration = scenario.steady_state.window, scenario.load.duration
    later = [f.at for f in scenario.faults if f is not fault and f.at >= start]
    horizon = min([duration, *later])
    if start + window <= horizon + 1e-9:  # harness.recovery: one window [R, R + W)
        return ""
    until = "the next fault" if horizon < duration else "the end of the load"
    return (f"no full {window:g}s steady-state window fits between its end at {start:g}s and "
            f"{until} at {horizon:g}s; shorten steady_state.window or leave more time")
