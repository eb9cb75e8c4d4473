"""Shared real parts for the core tier: one throwaway PostgreSQL cluster per session."""

from __future__ import annotations

from typing import Iterator

import pytest

from stack_support import postgres_cluster


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """The DSN of a PostgreSQL cluster run as the postgres user; skips where it cannot run."""
    with postgres_cluster() as dsn:
        if dsn is None:
            pytest.skip("PostgreSQL cannot run here (no initdb/pg_ctl, psycopg, or postgres user)")
        yield dsn
