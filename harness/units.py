"""Parsing of the scenario's small languages: durations and SLO thresholds.

Durations: ``500ms``, ``15s``, ``1.5m``, ``1h`` or a bare number of seconds.
Thresholds: ``"< 1%"``, ``"<= 250"``, ``"< 250ms"``, ``"> 20%"``, ``"< 10s"``.
Rates written with ``%`` are stored as fractions (``"< 1%"`` -> 0.01); times are
stored in the unit the SLO key names (``p99_ms`` in ms, ``recovery_time`` in s).
"""

from __future__ import annotations

import operator
import re
from typing import Annotated, Any, Callable

from pydantic import (BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema,
                      model_serializer)

_DURATION = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Return ``value`` in seconds; raise ValueError naming the accepted forms.

    >>> parse_duration("1.5m"), parse_duration("250ms"), parse_duration(3)
    (90.0, 0.25, 3.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '15s' or '500ms' (got {value!r})")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"must be >= 0 (got {value!r})")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match["num"]) * _UNIT_SECONDS[match["unit"]]
    raise ValueError(
        f"could not parse duration {value!r}: expected a number followed by ms, s, m or h"
    )


def format_duration(seconds: float) -> str:
    """Write seconds back in the scenario's duration form (``15s``, ``250ms``)."""
    if seconds and seconds < 1:
        return f"{_plain(seconds * 1000)}ms"
    return f"{_plain(seconds)}s"


def _plain(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".")


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0},
                              {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"}],
                    "description": "a duration: 500ms, 15s, 1.5m, 1h or seconds"}),
]
"""A duration in seconds, written in YAML as ``15s``, ``500ms``, ``1m`` or a number."""

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TIME_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
_THRESHOLD = re.compile(r"^\s*(?P<op><=|>=|<|>)\s*(?P<rest>.*)$")
_NUMBER = re.compile(r"^(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>%|ms|s|m)?\s*$")


class Threshold(BaseModel):
    """A parsed SLO bound such as ``"< 1%"``: ``holds(observed)`` compares against it.

    >>> Threshold.parse("< 1%").holds(0.004)
    True
    """

    model_config = ConfigDict(frozen=True)

    op: str
    value: float
    """The number as written; ``%`` already divided by 100."""
    unit: str | None = None
    """``%``, ``ms``, ``s``, ``m`` or None (a bare number in the metric's own unit)."""
    text: str

    @classmethod
    def parse(cls, text: Any) -> "Threshold":
        """Parse ``"< 1%"`` style text; raise ValueError saying what was expected."""
        if isinstance(text, Threshold):
            return text
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            return cls(op="<=", value=float(text), unit=None, text=f"<= {text}")
        if not isinstance(text, str):
            raise ValueError(f"could not parse SLO {text!r}: expected a string like '< 1%'")
        match = _THRESHOLD.match(text)
        if not match:
            raise ValueError(
                f"could not parse SLO {text!r}: expected a comparison (<, <=, >, >=) first"
            )
        number = _NUMBER.match(match["rest"])
        if not number:
            raise ValueError(
                f"could not parse SLO {text!r}: expected a number after {match['op']!r}"
            )
        value = float(number["num"])
        unit = number["unit"]
        if unit == "%":
            value /= 100.0
        return cls(op=match["op"], value=value, unit=unit, text=text.strip())

    def bound(self, metric_unit: str | None = None) -> float:
        """The bound in the metric's unit: ``"< 2s"`` is 2000 for a ``ms`` metric."""
        if self.unit in _TIME_UNITS and metric_unit in _TIME_UNITS:
            return self.value * _TIME_UNITS[self.unit] / _TIME_UNITS[metric_unit]
        return self.value

    def holds(self, observed: float, metric_unit: str | None = None) -> bool:
        """True when ``observed`` (in ``metric_unit``) satisfies this bound."""
        return _OPS[self.op](observed, self.bound(metric_unit))

    @model_serializer
    def _serialize(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Threshold {self.text}>"


def _parse_threshold(value: Any) -> Any:
    if isinstance(value, dict) and {"op", "value"} <= value.keys():
        return value
    return Threshold.parse(value)


SLOBound = Annotated[
    Threshold,
    BeforeValidator(_parse_threshold),
    WithJsonSchema({"type": "string", "pattern": r"^\s*(<=|>=|<|>)\s*-?\d+(\.\d+)?\s*(%|ms|s|m)?\s*$",
                    "description": "an SLO bound such as '< 1%', '<= 250', '< 10s'"}),
]
"""An SLO bound in a scenario: text like ``"< 1%"`` parsed into a Threshold."""
