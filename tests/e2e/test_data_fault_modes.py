"""End to end on the embedded backend: every issue-12 data fault under live load, in turn
(``tests/scenarios/e2e/data-modes.yaml``), with report.json's numbers checked: rows
touched, checksums restored, and what the reference pipeline's defences made of each."""

import pytest

from tests.e2e.conftest import assert_nothing_left, chaos_run, window

pytestmark = pytest.mark.slow

ROWS = 10_000  # the reference table; every fault touches half of it


def test_every_data_fault_touches_its_rows_and_the_table_comes_back(reports_dir):
    result, run_dir, report = chaos_run("data-modes.yaml", reports_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    check_data_modes(report)
    assert_nothing_left(run_dir)


def check_data_modes(report):
    """The numbers of a ``data-modes.yaml`` run, on any backend."""
    faults = {f["fault"]: f for f in report["data"]["faults"]}
    assert {name: (f["rows"], f["mode"]) for name, f in faults.items()} == {
        "scaled": (ROWS // 2, "scale"), "swapped": (ROWS // 2, "swap"), "nulled": (ROWS // 2, "null"),
        "stale": (ROWS // 2, "stale"), "retyped": (None, "retype"), "added": (None, "add")}
    assert faults["swapped"]["columns"] == ["account_age_days", "avg_amount_30d"]
    stores = report["data"]["stores"]
    assert len(stores) == 6  # one snapshot per fault: none overlaps another
    assert all(s["restored"] and s["checksum_after"] == s["checksum_before"] for s in stores)
    assert len({s["checksum_before"] for s in stores}) == 1  # each fault found the table as it was
    assert [s["restored_by"] for s in stores] == list(faults)
    rate = {name: window(report, name)["fallback_rate"] for name in ("baseline", *faults)}
    # x1000 and NULL are out of the model's ranges: about the share of requests on hit rows
    assert rate["scaled"] > 0.3 and rate["nulled"] > 0.3
    assert rate["retyped"] > 0.8  # a text column: schema drift, fallback everywhere (0.98 quiet, 0.897 busy)
    # swapped values stay in range, stale rows still score, an extra column is ignored
    assert max(rate["baseline"], rate["swapped"], rate["stale"], rate["added"]) < 0.05
    assert report["requests"]["error_rate"] < 0.01
