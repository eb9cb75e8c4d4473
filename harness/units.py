"""Parsing of the scenario's small languages: durations, SLO thresholds, identifiers.

Durations: ``500ms``, ``15s``, ``1.5m``, ``1h`` or a bare number of seconds; finite and
at most ``MAX_DURATION_S`` (7 days).
Thresholds: ``"< 1%"``, ``"<= 250"``, ``"< 250ms"``, ``"> 20%"``, ``"< 10s"``; finite.
Rates written with ``%`` are stored as fractions (``"< 1%"`` -> 0.01); times are
stored in the unit the SLO key names (``p99_ms`` in ms, ``recovery_time`` in s).
Identifiers (SQL table and column names): ``^[A-Za-z_][A-Za-z0-9_]*$``, at most 63
characters (PostgreSQL's limit).
"""

from __future__ import annotations

import math
import operator
import re
from typing import Annotated, Any, Callable

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer,
                      StringConstraints, WithJsonSchema, model_serializer)

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=63)]
"""An SQL identifier (table, key or column name): letters, digits, ``_``; no quotes."""

MAX_DURATION_S = 7 * 24 * 3600.0
"""The longest duration a scenario may write (7 days): longer is a typo, not a plan."""

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
        seconds = _finite(value, "a duration")
        if seconds < 0:
            raise ValueError(f"must be >= 0 (got {value!r})")
        return seconds
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return _finite(match["num"], "a duration") * _UNIT_SECONDS[match["unit"]]
    raise ValueError(
        f"could not parse duration {_clip(value)}: expected a number followed by ms, s, m or h"
    )


def _finite(number: Any, what: str) -> float:
    """``float(number)``, refusing NaN, infinities and ints too large for a float."""
    try:
        value = float(number)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number (got {_clip(number)})")
    return value


def _clip(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else f"{shown[:57]}..."


def _at_most_max_duration(seconds: float) -> float:
    if seconds > MAX_DURATION_S:
        raise ValueError(f"must be at most 7 days ({MAX_DURATION_S:.0f} s; got {format_duration(seconds)})")
    return seconds


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
    AfterValidator(_at_most_max_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_DURATION_S},
                              {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"}],
                    "description": "a duration: 500ms, 15s, 1.5m, 1h or seconds; at most 7 days"}),
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
            value = _finite(text, "an SLO bound")
            return cls(op="<=", value=value, unit=None, text=f"<= {text}")
        if not isinstance(text, str):
            raise ValueError(f"could not parse SLO {_clip(text)}: expected a string like '< 1%'")
        match = _THRESHOLD.match(text)
        if not match:
            raise ValueError(
                f"could not parse SLO {_clip(text)}: expected a comparison (<, <=, >, >=) first"
            )
        number = _NUMBER.match(match["rest"])
        if not number:
            raise ValueError(
                f"could not parse SLO {_clip(text)}: expected a number after {match['op']!r}"
            )
        value = _finite(number["num"], "an SLO bound")
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
