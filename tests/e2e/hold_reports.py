"""``python -m tests.e2e.hold_reports run ...``: chaos-harness with one more reporter,
which holds the analyze phase (the reports being written) until a signal arrives.

The first time it renders, it creates ``<run dir>/holding`` and waits (at most 60 s)
until the run's journal holds a ``signal_received`` record; a test that waits for that
file knows the harness is writing its reports when it signals. Its file, ``held.txt``,
holds the status of the report it rendered. ``HOLD_REPORTS_DIR`` names the reports
directory.
"""

import os
import sys
import time
from pathlib import Path

from harness.cli import main
from harness.journal import read_journal
from harness.reporting import Reporter, register


@register
class HoldingReporter(Reporter):
    """Writes ``held.txt``; holds the first rendering until a signal is journaled."""

    filename = "held.txt"
    rendered = 0

    def render(self, judgement):
        """The run's status; the first time, only after a signal arrived."""
        type(self).rendered += 1
        if type(self).rendered == 1:
            run_dir = Path(os.environ["HOLD_REPORTS_DIR"]) / judgement.run_id
            (run_dir / "holding").touch()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                    r["kind"] == "signal_received" for r in read_journal(run_dir)):
                time.sleep(0.05)
        return f"{judgement.status}\n"


if __name__ == "__main__":
    sys.exit(main())
