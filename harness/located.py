"""Problems located in an input file: key path and line for each validation error.

Both the scenario loader and the pipeline reader turn pydantic's errors into
:class:`~harness.errors.Problem` lines in the attrs/Hypothesis form::

    scenarios/bad.yaml:12: faults[0].latency.latency_ms: must be >= 0 (got -5)
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from harness.errors import Problem
from harness.yamlfile import Loc, YamlDocument

_UNION_TAG = re.compile(r"^(function-\w+|(dict|list|tuple|set)\[.*\])")
"""pydantic's names for validators and union members inside an error's ``loc``."""

_MESSAGES = {
    "greater_than_equal": "must be >= {ge} (got {input})",
    "greater_than": "must be > {gt} (got {input})",
    "less_than_equal": "must be <= {le} (got {input})",
    "less_than": "must be < {lt} (got {input})",
    "extra_forbidden": "unknown key (value {input}); check the spelling against the schema",
    "missing": "is required",
    "literal_error": "must be one of {expected} (got {input})",
    "finite_number": "must be a finite number (got {input})",
    "string_too_long": "must be at most {max_length} characters (got {input})",
    "string_pattern_mismatch": "must match {pattern} (got {input})",
    "too_long": "must hold at most {max_length} items (got {actual_length})",
}


def problem_at(doc: YamlDocument, loc: Loc, message: str) -> Problem:
    """One problem at key path ``loc`` of ``doc``, with the line that path starts on."""
    loc = tuple(p for p in loc if not _hidden(p))
    return Problem(str(doc.path), doc.line_of(loc), dotted(loc), message)


def not_a_mapping(doc: YamlDocument, what: str) -> Problem:
    """The problem of a file whose top level is not a mapping (a list, a string, empty)."""
    return Problem(str(doc.path), 1, "", f"expected a mapping of {what}, got {type(doc.data).__name__}")


def problems_of(exc: ValidationError, doc: YamlDocument, prefix: Loc = ()) -> list[Problem]:
    """One located problem per error of ``exc``, its key paths under ``prefix``."""
    return [problem_at(doc, prefix + tuple(error["loc"]), message(error)) for error in exc.errors()]


def dotted(loc: Loc) -> str:
    """``("faults", 0, "at")`` -> ``faults[0].at``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _hidden(part):
            out += f".{part}" if out else str(part)
    return out


def _hidden(part: Any) -> bool:
    return isinstance(part, str) and _UNION_TAG.match(part) is not None


def message(error: dict[str, Any]) -> str:
    """One pydantic error as a short sentence ending in what was given."""
    template = _MESSAGES.get(error["type"])
    if template:
        try:
            return template.format(input=_short(error.get("input")), **error.get("ctx", {}))
        except (KeyError, IndexError, ValueError):
            pass
    text = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("value_error",) or "input" not in error:
        return text
    return f"{text[0].lower()}{text[1:]} (got {_short(error['input'])})"


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else f"{shown[:77]}..."
