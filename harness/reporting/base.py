"""The reporter registry: one small class per output file, registered by one line.

A reporter renders the :class:`~harness.judge.Judgement` of a run (never a dict) into
the text of one file in the run directory::

    @register
    class MarkdownReporter(Reporter):
        filename = "report.md"

        def render(self, judgement):
            return f"# {judgement.scenario}: {judgement.verdict}\\n"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from harness.judge import Judgement

_REPORTERS: dict[str, type["Reporter"]] = {}


class Reporter:
    """Base class: set ``filename`` and implement ``render``."""

    filename: ClassVar[str]

    def render(self, judgement: "Judgement") -> str:
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
