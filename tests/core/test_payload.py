"""The payload switch the load consults: reshaping rules, the file as the switch, the fault's undo."""

import json
import random
from types import SimpleNamespace

import pytest

from harness.faults.base import FaultContext
from harness.faults.registry import get_fault
from harness.journal import Journal
from harness.payload import PAYLOAD_FILE, PayloadSwitch, reshape

BODY = {"id": "t-1", "amount": 12.5, "hour": 3, "category": "fuel"}


@pytest.mark.parametrize("spec, expect", [
    ({"rename": {"amount": "amt"}}, {"id": "t-1", "amt": 12.5, "hour": 3, "category": "fuel"}),
    ({"stringify": ["hour", "category"]}, {"id": "t-1", "amount": 12.5, "hour": "3", "category": "fuel"}),
    ({"drop": ["category"]}, {"id": "t-1", "amount": 12.5, "hour": 3}),
    ({"stringify": ["amount"], "rename": {"amount": "amt"}, "drop": ["id"]}, {"amt": "12.5", "hour": 3, "category": "fuel"}),
])
def test_reshape(spec, expect):
    assert reshape(BODY, spec) == expect
    assert reshape([1, 2], spec) == [1, 2]  # not an object: as it is


def test_the_fault_switches_the_load_on_and_off_through_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr("harness.payload.CHECK_S", 0.0)
    switch = PayloadSwitch(tmp_path / PAYLOAD_FILE, seed=1)
    assert switch.apply(BODY) == BODY
    fault = get_fault("payload_schema_change")(get_fault("payload_schema_change").Params(
        rename={"amount": "amt"}, fraction=0.5))
    ctx = FaultContext(backend=SimpleNamespace(run_dir=tmp_path), journal=Journal(tmp_path / "j.jsonl"),
                       rng=random.Random(0), fault_name="p")
    undo = fault.inject(ctx)
    assert json.loads((tmp_path / PAYLOAD_FILE).read_text())["rename"] == {"amount": "amt"}
    shaped = [switch.apply(BODY) for _ in range(2000)]
    assert 0.45 < sum("amt" in b for b in shaped) / len(shaped) < 0.55
    undo()
    assert not (tmp_path / PAYLOAD_FILE).exists() and switch.apply(BODY) == BODY


def test_a_payload_fault_must_change_something():
    with pytest.raises(ValueError, match="at least one"):
        get_fault("payload_schema_change").Params()
