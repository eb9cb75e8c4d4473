"""The reporter registry: one small class per output file, registered by one line.

A reporter turns the report (the ``report.json`` content) and the Run it came from into
the text of one file in the run directory::

    @register
    class MarkdownReporter(Reporter):
        filename = "report.md"

        def render(self, report, run):
            return f"# {report['scenario']}: {report['verdict']}\\n"
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.analysis import Run

_REPORTERS: dict[str, type["Reporter"]] = {}


class Reporter:
    """Base class: set ``filename`` and implement ``render``."""

    filename: ClassVar[str]

    def render(self, report: dict[str, Any], run: Run) -> str:
        """The whole file's text."""
        raise NotImplementedError


def register(cls: type[Reporter]) -> type[Reporter]:
    """Class decorator: write ``cls.filename`` in every report."""
    if cls.filename in _REPORTERS and _REPORTERS[cls.filename] is not cls:
        raise ValueError(f"a reporter already writes {cls.filename!r}")
    _REPORTERS[cls.filename] = cls
    return cls


def reporters() -> dict[str, type[Reporter]]:
    """Every registered reporter class, by the file it writes."""
    return dict(_REPORTERS)
