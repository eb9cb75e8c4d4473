"""The ``explore:`` section of a scenario: a menu of faults with ranges.

Every choice the menu leaves open is an ordered list of options, simplest first, so
that hypothesis (which shrinks each choice towards its first option) shrinks a failing
schedule towards fewer faults (the list), later (``at``: latest start first), shorter
(``for``: shortest first) and weaker (a parameter's ``range``: lowest value first; a
``choose``: the first value listed)::

    explore:
      max_faults: 3            # a schedule holds 1 to max_faults faults
      step: 1s                 # grid of ``at`` and ``for``
      faults:
        - kind: latency
          at: [3s, 5s]         # earliest and latest start, from load start
          for: [1s, 2s]        # shortest and longest (not for instant kinds such as kill)
          params:
            link: {choose: [features]}
            latency_ms: {range: [100, 1100], step: 500}
        - kind: kill
          at: [3s, 4s]
          params: {service: model}

A parameter is fixed (any plain value), ``{choose: [...]}`` or ``{range: [low, high],
step: s}`` (``step`` defaults to a quarter of the range; integers stay integers).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.units import Duration

MAX_OPTIONS = 1000
"""Most options one open choice may have (a range with a tiny step is a typo)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Choose(_Frozen):
    """A parameter taking one of ``choose`` (the first is the simplest)."""

    choose: tuple[Any, ...] = Field(min_length=1, max_length=MAX_OPTIONS)

    def options(self) -> list[Any]:
        """The values, simplest first."""
        return list(self.choose)


class Span(_Frozen):
    """A numeric parameter from ``range[0]`` to ``range[1]`` in steps of ``step``."""

    range: tuple[float, float]
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _sane(self) -> "Span":
        low, high = self.range
        if low > high:
            raise ValueError(f"range must go from low to high (got {list(self.range)})")
        if len(self.options()) > MAX_OPTIONS:
            raise ValueError(f"at most {MAX_OPTIONS} values; use a larger step")
        return self

    def options(self) -> list[float | int]:
        """``low, low + step, ...`` up to ``high``, weakest first; integers when all are."""
        low, high = self.range
        step = self.step or ((high - low) / 4 or 1.0)
        count = int((high - low) / step + 1e-9) + 1
        whole = all(float(v).is_integer() for v in (low, high, step))
        values = [low + i * step for i in range(count)]
        return [int(v) for v in values] if whole else [round(v, 9) for v in values]


def param_options(value: Any) -> list[Any]:
    """The options of one menu parameter: a ``choose``, a ``range`` or a fixed value."""
    if isinstance(value, dict) and set(value) == {"choose"}:
        return Choose.model_validate(value).options()
    if isinstance(value, dict) and "range" in value:
        return Span.model_validate(value).options()
    return [value]


class MenuFault(_Frozen):
    """One fault kind the explorer may place, with its open choices."""

    kind: str
    at: tuple[Duration, Duration]
    """Earliest and latest start, from load start."""
    for_: tuple[Duration, Duration] | None = Field(None, alias="for")
    """Shortest and longest duration; instant kinds (kill) have none."""
    params: dict[str, Any] = {}

    @model_validator(mode="after")
    def _ordered(self) -> "MenuFault":
        for name, (low, high) in (("at", self.at), ("for", self.for_ or (1, 1))):
            if low > high:
                raise ValueError(f"{name} must be [earliest/shortest, latest/longest] "
                                 f"(got [{low:g}s, {high:g}s])")
        if self.for_ is not None and self.for_[0] <= 0:
            raise ValueError("for must be longer than 0s")
        for name, value in self.params.items():
            try:
                param_options(value)
            except ValueError as exc:
                raise ValueError(f"params.{name}: {exc}") from None
        return self


class ExploreMenu(_Frozen):
    """What ``chaos-harness explore`` may combine into fault schedules."""

    faults: tuple[MenuFault, ...] = Field(min_length=1, max_length=20)
    max_faults: int = Field(3, ge=1, le=10)
    step: Duration = Field(1.0, gt=0)
    """Grid of every ``at`` and ``for``."""

    def starts(self, fault: MenuFault) -> list[float]:
        """``fault``'s start times, latest first (hypothesis shrinks towards later)."""
        return _grid(fault.at[1], fault.at[0], -self.step)

    def durations(self, fault: MenuFault) -> list[float | None]:
        """``fault``'s durations, shortest first; ``[None]`` for an instant kind."""
        if fault.for_ is None:
            return [None]
        return _grid(fault.for_[0], fault.for_[1], self.step)


def _grid(first: float, last: float, step: float) -> list[float]:
    count = int(abs(last - first) / abs(step) + 1e-9) + 1
    return [round(first + i * step, 6) for i in range(min(count, MAX_OPTIONS))]
