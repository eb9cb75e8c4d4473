"""The scenario as frozen, typed data. No I/O here: ``loader`` reads files.

A scenario (YAML) names a pipeline, a load, a steady state, timed faults and the SLOs
to expect. Every class is frozen; vary a scenario with ``model_copy(update=...)``.

>>> s = Scenario.model_validate({"name": "demo", "load": {"users": 2, "duration": "10s"}})
>>> s.load.duration
10.0
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator,
                      model_serializer, model_validator)

from harness.conditions import ConditionText
from harness.explore.menu import ExploreMenu
from harness.units import MAX_DURATION_S, Duration, SLOBound, Threshold, format_duration

COMMON_FAULT_KEYS = ("name", "at", "for")
"""Keys every fault has in YAML; the one other key is its kind, holding its params."""
MAX_FAULTS = 100
"""Most faults one scenario may declare."""
MAX_OFFERED_RPS = 100_000
"""Most requests per second a load may aim for (``users`` x ``rate_per_user``)."""
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


class Frozen(BaseModel):
    """Base of every scenario class: immutable, unknown keys rejected, numbers finite."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


class LoadSpec(Frozen):
    """Locust load: ``users`` users reaching the ingress, each at ``rate_per_user`` req/s.

    Bounds: 1-10,000 users, a spawn rate up to 10,000 users/s, up to 10,000 req/s per
    user and ``MAX_OFFERED_RPS`` (100,000 req/s) in all, for more than 0 s and at most 7 days;
    0-64 Locust workers.
    """

    users: int = Field(10, ge=1, le=10_000)
    spawn_rate: float = Field(10.0, gt=0, le=10_000)
    duration: Duration = Field(30.0, gt=0)
    rate_per_user: float = Field(10.0, gt=0, le=10_000)
    """Requests per second each user aims for (Locust ``constant_throughput``)."""
    workers: int = Field(0, ge=0, le=64)
    """0: one Locust process (the default). N: Locust's distributed mode, a master and
    N worker processes sharing the users; their request logs are merged into one."""

    @model_validator(mode="after")
    def _offered_rate_is_sane(self) -> "LoadSpec":
        offered = self.users * self.rate_per_user
        if offered > MAX_OFFERED_RPS:
            raise ValueError(f"users x rate_per_user aims at {offered:,.0f} req/s; the limit is "
                             f"{MAX_OFFERED_RPS:,} req/s")
        return self


def _within(bound: Threshold | None, *, bare: str | None, units: tuple[str, ...], high: float,
            what: str, takes: str, between: str) -> Threshold | None:
    """``bound`` if written in one of ``units`` (or bare, in unit ``bare``) and in ``[0, high]``.

    ``high`` is in ``bare``'s unit; a bound written in another time unit is converted.
    """
    if bound is None:
        return None
    if bound.unit is not None and bound.unit not in units:
        raise ValueError(f"{what} is written as {takes} (got {bound.text!r})")
    value = bound.bound(bare) if bare in ("ms", "s") else bound.value
    if not 0 <= value <= high:
        raise ValueError(f"{what} must be between {between} (got {bound.text!r})")
    return bound


_SEVEN_DAYS = "0 and 7 days"
_SLO_BOUND = TypeAdapter(SLOBound)


FLAG_RATE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*_rate$"
"""A flag's metric: ``<flag>_rate`` (the share of answers carrying ``<flag>``)."""


def _a_rate(bound: Threshold | None) -> Threshold | None:
    return _within(bound, bare=None, units=("%",), high=1.0, what="a rate",
                   takes="a percentage ('< 1%') or a fraction ('< 0.01')",
                   between="0% and 100% (a bare number is a fraction: 0 to 1)")


class SLOSet(Frozen):
    """Bounds over one window of the request log; each key is one SLO.

    Besides the fixed keys, ``<flag>_rate`` bounds the share of answers carrying one
    of the pipeline's ``answers.flags`` (``fallback_rate``); ``validate`` checks the
    flag is declared. Rates are between 0% and 100%, latencies and recovery times
    between 0 and 7 days, throughput between 0 and 100,000 req/s; anything else is a
    typo caught by ``validate``.
    """

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True, allow_inf_nan=False,
                              json_schema_extra=lambda schema: schema.update(
                                  additionalProperties=False,
                                  patternProperties={FLAG_RATE_PATTERN: schema["properties"]["error_rate"]}))

    error_rate: SLOBound | None = None
    p50_ms: SLOBound | None = None
    p95_ms: SLOBound | None = None
    p99_ms: SLOBound | None = None
    throughput_rps: SLOBound | None = None
    golden_accuracy: SLOBound | None = None
    """Share of golden answers that were right (``scenario.golden`` replays them)."""
    silent_wrong_rate: SLOBound | None = None
    """Share of golden answers that were 200, not flagged, and wrong."""
    prediction_drift_psi: SLOBound | None = None
    """PSI of the golden answers' first ``answers.values`` field against the baseline's."""
    prediction_drift_ks: SLOBound | None = None
    """Two-sample KS statistic of the same, 0 to 1."""

    @model_validator(mode="before")
    @classmethod
    def _flag_rates(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = {}
        for key, value in data.items():
            if key in cls.model_fields or not isinstance(key, str) or not re.match(FLAG_RATE_PATTERN, key):
                out[key] = value
                continue
            try:
                out[key] = _a_rate(_SLO_BOUND.validate_python(value))
            except (ValueError, ValidationError) as exc:
                raise ValueError(f"{key}: {_first_message(exc)}") from None
        return out

    @model_validator(mode="after")
    def _no_other_keys(self) -> "SLOSet":
        unknown = [k for k in (self.model_extra or {}) if not re.match(FLAG_RATE_PATTERN, str(k))]
        if unknown:
            raise ValueError(f"unknown SLO key(s) {', '.join(map(repr, unknown))}; the keys are "
                             f"{', '.join(type(self).model_fields)} and <flag>_rate")
        return self

    @field_validator("error_rate", "golden_accuracy", "silent_wrong_rate")
    @classmethod
    def _a_rate(cls, bound: Threshold | None) -> Threshold | None:
        return _a_rate(bound)

    @field_validator("prediction_drift_psi", "prediction_drift_ks")
    @classmethod
    def _a_drift(cls, bound: Threshold | None) -> Threshold | None:
        return _within(bound, bare=None, units=(), high=1e6, what="a drift statistic",
                       takes="a bare number", between="0 and 1e6")

    @field_validator("p50_ms", "p95_ms", "p99_ms")
    @classmethod
    def _a_latency(cls, bound: Threshold | None) -> Threshold | None:
        return _within(bound, bare="ms", units=("ms", "s", "m"), high=MAX_DURATION_S * 1000,
                       what="a latency",
                       takes="ms, s, m or a bare number of ms", between=_SEVEN_DAYS)

    @field_validator("throughput_rps")
    @classmethod
    def _a_throughput(cls, bound: Threshold | None) -> Threshold | None:
        return _within(bound, bare="req/s", units=(), high=MAX_OFFERED_RPS, what="a throughput",
                       takes="a bare number of req/s",
                       between=f"0 and {MAX_OFFERED_RPS:,} req/s")

    def items(self) -> list[tuple[str, Any]]:
        """The SLOs that are set, as ``(metric, Threshold)`` pairs (flag rates last)."""
        fixed = [(k, getattr(self, k)) for k in type(self).model_fields]
        return [(k, v) for k, v in [*fixed, *(self.model_extra or {}).items()] if v is not None]

    def flags(self) -> list[str]:
        """The flags whose ``<flag>_rate`` is bounded here."""
        return [k[:-len("_rate")] for k in (self.model_extra or {})]


def _first_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return exc.errors()[0]["msg"].removeprefix("Value error, ")
    return str(exc)


class SteadyState(Frozen):
    """What "healthy" means: ``slo`` holding over every ``window``-second window."""

    window: Duration = Field(5.0, gt=0)
    slo: SLOSet = SLOSet(error_rate="< 1%")


class FaultSpec(Frozen):
    """One timed fault: ``name``, ``at`` (from load start), optional ``for``, kind + params.

    In YAML the kind is the key holding the params:
    ``{name: slow, at: 5s, for: 10s, latency: {link: features, latency_ms: 300}}``.
    A fault without ``for`` is either instantaneous (kill) or stays until the load ends.
    """

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    at: Duration = 0.0
    for_: Duration | None = Field(None, alias="for", gt=0)
    kind: str
    params: Any

    @model_validator(mode="before")
    @classmethod
    def _from_yaml_shape(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" in data:
            return data
        from harness.faults.registry import get_fault

        kinds = [k for k in data if k not in COMMON_FAULT_KEYS]
        if len(kinds) != 1:
            raise ValueError(f"expected exactly one fault kind key, got {kinds}")
        kind = kinds[0]
        out = {k: data[k] for k in COMMON_FAULT_KEYS if k in data}
        out.update(kind=kind, params=get_fault(kind).Params.model_validate(data[kind] or {}))
        return out

    @model_serializer
    def _to_yaml_shape(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "at": format_duration(self.at)}
        if self.for_ is not None:
            out["for"] = format_duration(self.for_)
        out[self.kind] = self.params.model_dump(mode="json", exclude_defaults=False)
        return out

    @property
    def ends_at(self) -> float | None:
        """Seconds after load start when the fault is reverted, or None."""
        return None if self.for_ is None else self.at + self.for_


class Expect(Frozen):
    """The SLOs the run is judged by."""

    overall: SLOSet | None = None
    during: dict[str, SLOSet] = {}
    """Per fault name: SLOs over that fault's window (from injection to revert)."""
    recovery_time: SLOBound | dict[str, SLOBound] | None = None
    """One bound for every fault, or a bound per fault name."""
    time_to_detect: SLOBound | None = None
    """From the runbook's fault to its alert condition first holding (needs ``runbook``)."""
    time_to_mitigate: SLOBound | None = None
    """From the runbook's fault to its last bound step done (needs ``runbook``)."""
    time_to_recover: SLOBound | None = None
    """From the runbook's fault to the steady state holding for good (needs ``runbook``)."""
    metrics: tuple[str, ...] = Field((), max_length=50)
    """Expressions on the pipeline's own scraped metrics over the load, e.g.
    ``rate(model_fallback_total) < 5``, or over one window, ``increase(x[FAULT]) > 10``
    (a fault's name or ``baseline``; ``harness.metric_slo``)."""

    @field_validator("metrics")
    @classmethod
    def _expressions(cls, texts: tuple[str, ...]) -> tuple[str, ...]:
        from harness.metrics_scrape import parse_expression

        for text in texts:
            parse_expression(text)
        return texts

    @field_validator("recovery_time", "time_to_detect", "time_to_mitigate", "time_to_recover")
    @classmethod
    def _a_time(cls, bounds: Any) -> Any:
        if bounds is None:
            return None
        for bound in bounds.values() if isinstance(bounds, dict) else [bounds]:
            _within(bound, bare="s", units=("ms", "s", "m"), high=MAX_DURATION_S,
                    what="a recovery time",
                    takes="ms, s, m or a bare number of seconds", between=_SEVEN_DAYS)
        return bounds


class RunbookStep(Frozen):
    """When one step of the runbook runs: ``at`` a time, ``when`` a condition holds, or
    ``after`` another step is done (exactly one)."""

    step: int = Field(ge=1, le=1000)
    at: Duration | None = None
    """Seconds from load start."""
    when: ConditionText | None = None
    after: int | None = Field(None, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_trigger(self) -> "RunbookStep":
        given = [k for k in ("at", "when", "after") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"step {self.step}: give exactly one trigger of at, when, after "
                             f"(got {', '.join(given) or 'none'})")
        return self

    @property
    def trigger(self) -> str:
        """The trigger as written: ``at 20s``, ``when error_rate > 5% for 2s``, ``after 1``."""
        if self.at is not None:
            return f"at {format_duration(self.at)}"
        return f"when {self.when}" if self.when is not None else f"after step {self.after}"


class RunbookSpec(Frozen):
    """A runbook (Markdown, numbered steps) bound to the run (``harness.runbook``)."""

    file: str = Field(min_length=1)
    """The runbook, relative to the pipeline directory (``runbooks/x.md``)."""
    fault: str | None = None
    """The fault it answers (default: the scenario's first): time zero of detect/mitigate/recover."""
    detect: ConditionText | None = None
    """The alert whose first holding is detection (default: the first ``when`` of ``steps``)."""
    timeout: Duration = Field(30.0, gt=0, le=3600)
    """Longest a step's command may run; then its process group is killed and the step fails."""
    steps: tuple[RunbookStep, ...] = Field(max_length=100)


class GoldenSpec(Frozen):
    """Replay the pipeline's golden set beside the load (``harness.golden``)."""

    rate_per_s: float = Field(10.0, gt=0, le=1000)
    """Golden requests per second (one in flight at a time)."""


class Scenario(Frozen):
    """A whole scenario file."""

    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    description: str = ""
    pipeline: str = "fixtures/pipeline"
    """Directory holding ``pipeline.yaml``, relative to the scenario's project root."""
    backend: Literal["process", "docker", "auto"] = "process"
    seed: int = Field(0, ge=0, le=2**63 - 1)
    """Every random choice follows it; numpy and the proxy need 0 <= seed < 2**63."""
    load: LoadSpec = LoadSpec()
    steady_state: SteadyState = SteadyState()
    resolution: Duration = Field(0.1, ge=0.01, le=1.0)
    """Step of the analysis: the series' buckets and the recovery grid (10 ms to 1 s)."""
    faults: tuple[FaultSpec, ...] = Field((), max_length=MAX_FAULTS)
    expect: Expect = Expect()
    abort_if: tuple[ConditionText, ...] = Field((), max_length=20)
    """Stop conditions: when one holds, every fault is healed at once and the run is aborted."""
    allowed_hosts: tuple[str, ...] = Field((), max_length=100)
    """Non-loopback hosts a link's ``upstream`` may name (none by default: loopback only)."""
    runbook: RunbookSpec | None = None
    golden: GoldenSpec | None = None
    """Replay the pipeline's golden set during the load: needed by ``golden_accuracy``,
    ``silent_wrong_rate`` and the ``prediction_drift_*`` SLOs."""
    env: dict[str, dict[str, str]] = {}
    """Environment overrides per service (``{model-server: {FEATURE_VALIDATION: "off"}}``),
    on top of the pipeline's: the process backend merges them into each service's
    environment, the docker backend into its compose services' (``harness.compose_env``)."""
    explore: ExploreMenu | None = None
    """A menu of faults for ``chaos-harness explore`` (``harness.explore.menu``); ``run``
    ignores it and plays ``faults``."""

    @property
    def runbook_fault(self) -> str | None:
        """The fault the runbook answers: its ``fault``, else the first fault."""
        if self.runbook is None:
            return None
        return self.runbook.fault or (self.faults[0].name if self.faults else None)

    def slo_sets(self) -> list[SLOSet]:
        """Every SLO set of the scenario: steady state, overall, each ``during``."""
        return [self.steady_state.slo, *([self.expect.overall] if self.expect.overall else []),
                *self.expect.during.values()]

    def fault(self, name: str) -> FaultSpec:
        """The fault called ``name``; KeyError if there is none.""" 
        for fault in self.faults:
            if fault.name == name:
                return fault
        raise KeyError(name)
