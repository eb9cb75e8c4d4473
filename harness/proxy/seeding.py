"""Reproducible randomness: every random choice comes from a seeded stream.

Toxiproxy ignores ``-seed`` (it seeds a generator and throws it away). Here every
stage of every connection draws from its own ``random.Random`` derived from the
server seed and stable names, so a run with ``--seed N`` makes the same toxicity
rolls, jitter values and slicer cuts whenever the same API calls and connections
happen in the same order::

    >>> Seeder(7).rng("db", 0, "downstream", "lag", 1).random() == \\
    ...     Seeder(7).rng("db", 0, "downstream", "lag", 1).random()
    True
"""

from __future__ import annotations

import random
import secrets

__all__ = ["Seeder"]


class Seeder:
    """Derives independent generators from one seed (``None``: a random seed)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed: int = secrets.randbits(63) if seed is None else int(seed)

    def rng(self, *parts: object) -> random.Random:
        """A generator for one (proxy, connection index, direction, toxic, serial)."""
        # str seeds go through SHA-512 in CPython: stable across processes and
        # independent of PYTHONHASHSEED.
        return random.Random("\x1f".join([str(self.seed), *map(str, parts)]))
