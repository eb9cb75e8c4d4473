"""Fuzzing the loader: whatever the bytes, ``validate`` exits 0 or 2, fast, small, no traceback.

Each example is written to a file and run through ``harness.cli.main(["validate", path])``
as the console script runs it; a few hostile files also go through a real
``python -m harness validate`` subprocess whose peak RSS is read from ``wait4``. Limits
asserted per file: exit code 0 or 2, no ``Traceback``, under 1 s of CPU, under 200 MB
(the Python heap's peak from ``tracemalloc`` in process; the whole process's peak RSS
in a subprocess).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

from harness.cli import main
from harness.faults.registry import fault_kinds

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = str(ROOT / "fixtures" / "pipeline")
VALID = (ROOT / "scenarios" / "game-day.yaml").read_bytes()
MB = 1024 * 1024
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)), deadline=None, derandomize=not os.environ.get("FUZZ_EXAMPLES"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _validate(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, out.getvalue() + err.getvalue()


def validate_in_process(directory: Path, content: bytes) -> tuple[int, str]:
    """Write ``content`` to a file and ``check_file`` it."""
    path = directory / "fuzz.yaml"
    path.write_bytes(content)
    return check_file(path)


def check_file(path: Path) -> tuple[int, str]:
    """Validate ``path`` in process; assert the exit code, time and memory limits.

    Time is this process's CPU time (other work on a busy machine cannot inflate it),
    with a wall-clock guard five times looser; memory is tracemalloc's peak in a second
    pass (tracing slows Python down about threefold, so it is not timed).
    """
    wall, cpu = time.perf_counter(), time.process_time()
    code, text = _validate(path)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tracemalloc.start()
    try:
        assert _validate(path) == (code, text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code in (0, 2), text
    assert "Traceback" not in text and "internal error" not in text, text
    assert cpu < 1.0 and wall < 5.0, f"{cpu:.2f} s CPU, {wall:.2f} s wall"
    assert peak < 200 * MB, f"{peak / MB:.0f} MB"
    if code == 2:
        assert text.startswith(str(path)), text  # every problem names the file
    if currently_in_test_context():
        event(f"exit {code}")
    return code, text


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ---------------------------------------------------------------- raw bytes

@st.composite
def mutated_scenario(draw) -> bytes:
    """The game-day scenario with a few bytes flipped, inserted, deleted or cut off."""
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif at:
            del data[at:]
    return bytes(data)


@FUZZ
@given(content=st.one_of(st.binary(max_size=2000), mutated_scenario()))
def test_random_bytes_exit_0_or_2(workdir, content):
    validate_in_process(workdir, content)


# ------------------------------------------------------ random YAML structures

_SCALARS = st.one_of(
    st.sampled_from(["1", "-1", "0", ".nan", ".inf", "-.inf", "1e400", "1.0e400", "0x1F", "0o17",
                     "null", "~", "true", "no", "2001-13-45", "2001-12-14t21:59:43.10-05:00",
                     "'x'", '"\\ud800"', '"\\0"', "9" * 5000, "<<", "!!binary aGVsbG8=",
                     "!!python/object/apply:os.system [echo]", "!!set {a, b}", "!!float x",
                     "!!int 1.5", "!!str", "!custom x", "'a\"; DROP TABLE features; --'", "=", "''"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8).map(
        lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)


@st.composite
def yaml_text(draw) -> str:
    """A flow-style YAML document of random shape: anchors, aliases (also undefined and
    recursive ones), merge keys, duplicate keys, odd tags and scalars."""
    anchors: list[str] = []

    def node(depth: int) -> str:
        kinds = ["scalar", "scalar", "alias"] + (["seq", "map"] if depth < 8 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "scalar":
            return draw(_SCALARS)
        if kind == "alias":
            known = draw(st.sampled_from(anchors)) if anchors and draw(st.booleans()) else "nowhere"
            return f"*{known}"
        anchor = ""
        if draw(st.booleans()):
            anchors.append(f"a{len(anchors)}")
            anchor = f"&{anchors[-1]} "
        count = draw(st.integers(0, 4))
        if kind == "seq":
            return anchor + "[" + ", ".join(node(depth + 1) for _ in range(count)) + "]"
        keys = [draw(st.sampled_from(["name", "load", "faults", "<<", "k", "k", "users"]))
                for _ in range(count)]
        return anchor + "{" + ", ".join(f"{k}: {node(depth + 1)}" for k in keys) + "}"

    return node(0)


@st.composite
def hostile_text(draw) -> str:
    """Alias bombs, deep nesting (flow and block), long merge chains, wide mappings."""
    kind = draw(st.sampled_from(["bomb", "flow", "block", "merge", "wide"]))
    n = draw(st.integers(1, 5000))
    if kind == "bomb":
        width, levels = draw(st.integers(2, 12)), draw(st.integers(1, 12))
        lines = ['l0: &l0 ["lol", "lol"]']
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
        return "name: bomb\n" + "\n".join(lines) + "\n"
    if kind == "flow":
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        return "name: deep\ndescription: " + opener * n + "1" + closer * n + "\n"
    if kind == "block":
        depth = min(n, 400)
        return "name: deep\ndescription:\n" + "".join("  " * i + "- \n" for i in range(depth))
    if kind == "merge":
        return "m0: &m0 {k: 1}\n" + "".join(f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: 1}}\n"
                                             for i in range(1, min(n, 2000)))
    return "name: wide\nload: {" + ", ".join(f"k{i}: {i}" for i in range(n * 4)) + "}\n"


@FUZZ
@given(text=st.one_of(yaml_text(), hostile_text()))
def test_random_yaml_structures_exit_0_or_2(workdir, text):
    validate_in_process(workdir, text.encode("utf-8", "surrogatepass"))


# --------------------------------------------- random scenario-shaped documents

_NUMBERS = st.one_of(st.integers(-10, 20_000), st.integers(-2**70, 2**70), st.floats(),
                     st.sampled_from([10**400, 0.0, -0.0, 1e-300]))
_DURATIONS = st.one_of(st.sampled_from(["0s", "1s", "3s", "500ms", "1.5m", "1h", "7d", "99999999999h",
                                        "-3s", "", "1 fortnight", "9" * 400 + "s"]), _NUMBERS)
_NAMES = st.one_of(st.sampled_from(["features", "ingress", "feature-db", "model-server",
                                    "feature-server", "txn_count_24h", "avg_amount_30d", "entity_id",
                                    'a"; DROP TABLE features; --', "x" * 300, "slow", "kill"]),
                   st.text(max_size=6))
_BOUNDS = st.one_of(st.sampled_from(["< 1%", "> 50%", "< 250", "<= 2s", "< 10s", "< fast", "< 200%",
                                     "< -5", "> 5ms", "< 1" + "0" * 400, "< 2m"]), _NUMBERS)
_ANY = st.recursive(st.one_of(st.none(), st.booleans(), _NUMBERS, _NAMES),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_NAMES, kids, max_size=3),
                    max_leaves=8)
_SLO = st.fixed_dictionaries({}, optional={k: _BOUNDS for k in (
    "error_rate", "p50_ms", "p95_ms", "p99_ms", "fallback_rate", "throughput_rps", "latency")})


def _params_of(kind: str) -> st.SearchStrategy:
    cls = fault_kinds().get(kind)
    fields = list(cls.Params.model_fields) if cls else ["size"]
    value = st.one_of(_NAMES, _NUMBERS, st.booleans(), st.lists(_NAMES, max_size=3),
                      st.sampled_from(["nan", "wrong_type", "upstream"]))
    return st.fixed_dictionaries({}, optional={f: value for f in fields + ["extra"]}) | _ANY


@st.composite
def fault(draw) -> dict:
    kind = draw(st.sampled_from([*fault_kinds(), "meteor_strike"]))
    out = draw(st.fixed_dictionaries({}, optional={"name": _NAMES, "at": _DURATIONS, "for": _DURATIONS}))
    out[kind] = draw(_params_of(kind))
    return out


_SCENARIO = st.fixed_dictionaries(
    {"name": st.one_of(st.just("fuzz"), _NAMES)},
    optional={
        "description": st.text(max_size=20),
        "pipeline": st.sampled_from([PIPELINE, "fixtures/pipeline", "nowhere", "", "/", "\x00"]),
        "backend": st.sampled_from(["process", "docker", "auto", "vm", 1]),
        "seed": _NUMBERS,
        "load": st.fixed_dictionaries({}, optional={"users": _NUMBERS, "spawn_rate": _NUMBERS,
                                                    "duration": _DURATIONS, "rate_per_user": _NUMBERS}),
        "steady_state": st.fixed_dictionaries({}, optional={"window": _DURATIONS, "slo": _SLO}),
        "faults": st.one_of(st.lists(fault(), max_size=4), _ANY),
        "expect": st.fixed_dictionaries({}, optional={
            "overall": _SLO, "during": st.dictionaries(_NAMES, _SLO, max_size=2),
            "recovery_time": st.one_of(_BOUNDS, st.dictionaries(_NAMES, _BOUNDS, max_size=2))}),
    })


@FUZZ
@given(document=_SCENARIO, shared=st.booleans())
def test_random_scenario_shaped_documents_exit_0_or_2(workdir, document, shared):
    if shared and "steady_state" in document and "expect" in document:
        document["expect"]["overall"] = document["steady_state"].get("slo", {})  # an alias
    validate_in_process(workdir, yaml.safe_dump(document, width=1_000_000).encode())


def test_a_valid_scenario_still_exits_0(workdir):
    assert validate_in_process(workdir, VALID)[0] == 0


# ------------------------------------------------ a real `python -m harness validate`

def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "name: bomb\n" + "\n".join(lines) + "\n"


HOSTILE = {
    "alias-bomb": _bomb(12).encode(),
    "nested-5000": ("name: deep\ndescription: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "dense-1mib": b"name: dense\ndescription:\n" + b"- 1\n" * 262_000,
    "binary": bytes(range(256)) * 64,
    "utf-16": "name: utf16\nload: {users: 5}\n".encode("utf-16"),
}


def _hostile(directory: Path, name: str) -> Path:
    path = directory / f"{name}.yaml"
    if name == "50-mb":
        path.write_bytes(b"name: big\ndescription: " + b"x" * (50 * MB) + b"\n")
    else:
        path.write_bytes(HOSTILE[name])
    return path


@pytest.mark.parametrize("name", [*HOSTILE, "50-mb"])
def test_hostile_files_in_process(tmp_path, name):
    assert check_file(_hostile(tmp_path, name))[0] == 2


_FORK_AND_MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "harness", "validate", sys.argv[1]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[2], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""
"""Runs ``python -m harness validate FILE`` and writes its exit code and peak RSS (KiB).

Linux carries a process's peak RSS across ``exec`` from the process that forked it,
so a child forked straight from pytest (hundreds of MB) would report pytest's peak;
forked from this small interpreter, it reports its own (plus at most this one's).
"""


@pytest.mark.parametrize("name", [*HOSTILE, "50-mb"])
def test_hostile_files_through_a_real_subprocess(tmp_path, name):
    """``python -m harness validate FILE``: exit 2, a message, no traceback, peak RSS < 200 MB."""
    path, measured = _hostile(tmp_path, name), tmp_path / "measured"
    result = subprocess.run([sys.executable, "-c", _FORK_AND_MEASURE, str(path), str(measured)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    code, peak_kib = map(int, measured.read_text().split())
    assert code == 2, result.stderr
    assert result.stderr.startswith(f"{path}:") and "Traceback" not in result.stderr, result.stderr
    assert peak_kib * 1024 < 200 * MB, f"{peak_kib / 1024:.0f} MB"
