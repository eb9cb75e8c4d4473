"""Import time of the package's entry points, each in a fresh interpreter.

    .venv/bin/python bench/import_bench.py [--repeat 15]

Prints, per module, the minimum and median wall time of ``import <module>`` over the
repeats (the minimum is what the code costs; the median shows the machine's noise), and
which heavy modules the import pulled in.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

MODULES = ("harness", "harness.proxy", "harness.pytest_plugin", "harness.cli")
HEAVY = ("harness.runner", "pydantic", "yaml", "pandas", "numpy", "docker", "requests")
_PROBE = """
import sys, time, json
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
print(json.dumps({{"s": elapsed, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def measure(module: str, repeat: int) -> dict:
    """Min and median import time of ``module`` over ``repeat`` fresh interpreters."""
    times, heavy = [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(module=module, heavy=HEAVY)],
                             capture_output=True, text=True, check=True)
        sample = json.loads(out.stdout)
        times.append(sample["s"])
        heavy = sample["heavy"]
    return {"module": module, "min_ms": min(times) * 1000,
            "median_ms": statistics.median(times) * 1000, "loads": heavy}


def main() -> None:
    """Measure every entry point and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for module in MODULES:
        row = measure(module, args.repeat)
        print(f"{row['module']:24} min {row['min_ms']:7.1f} ms  median {row['median_ms']:7.1f} ms"
              f"  loads: {', '.join(row['loads']) or '-'}")


if __name__ == "__main__":
    main()
