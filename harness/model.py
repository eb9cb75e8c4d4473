"""The scenario as frozen, typed data. No I/O here: ``loader`` reads files.

A scenario (YAML) names a pipeline, a load, a steady state, timed faults and the SLOs
to expect. Every class is frozen; vary a scenario with ``model_copy(update=...)``.

>>> s = Scenario.model_validate({"name": "demo", "load": {"users": 2, "duration": "10s"}})
>>> s.load.duration
10.0
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from harness.units import Duration, SLOBound, format_duration

COMMON_FAULT_KEYS = ("name", "at", "for")
"""Keys every fault has in YAML; the one other key is its kind, holding its params."""


class Frozen(BaseModel):
    """Base of every scenario class: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LoadSpec(Frozen):
    """Locust load: ``users`` users reaching the ingress, each at ``rate_per_user`` req/s."""

    users: int = Field(10, ge=1, le=10_000)
    spawn_rate: float = Field(10.0, gt=0)
    duration: Duration = 30.0
    rate_per_user: float = Field(10.0, gt=0, le=10_000)
    """Requests per second each user aims for (Locust ``constant_throughput``)."""


class SLOSet(Frozen):
    """Bounds over one window of the request log; each key is one SLO."""

    error_rate: SLOBound | None = None
    p50_ms: SLOBound | None = None
    p95_ms: SLOBound | None = None
    p99_ms: SLOBound | None = None
    fallback_rate: SLOBound | None = None
    throughput_rps: SLOBound | None = None

    def items(self) -> list[tuple[str, Any]]:
        """The SLOs that are set, as ``(metric, Threshold)`` pairs."""
        return [(k, v) for k, v in self if v is not None]


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

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    at: Duration = 0.0
    for_: Duration | None = Field(None, alias="for")
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


class Scenario(Frozen):
    """A whole scenario file."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    pipeline: str = "fixtures/pipeline"
    """Directory holding ``pipeline.yaml``, relative to the scenario's project root."""
    backend: Literal["process", "docker", "auto"] = "process"
    seed: int = 0
    load: LoadSpec = LoadSpec()
    steady_state: SteadyState = SteadyState()
    faults: tuple[FaultSpec, ...] = ()
    expect: Expect = Expect()

    def fault(self, name: str) -> FaultSpec:
        """The fault called ``name``; KeyError if there is none."""
        for fault in self.faults:
            if fault.name == name:
                return fault
        raise KeyError(name)
