"""Holding Python's garbage collector off for a short, time-critical stretch.

A full collection can take tens of milliseconds once numpy and friends are loaded: long
enough to make a fault land late, or to double the time of a tight parsing loop.

>>> with gc_paused():        # doctest: +SKIP
...     apply_the_change()
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the garbage collector inside the block; restore its previous state after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
