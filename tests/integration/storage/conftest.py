"""A throw-away PostgreSQL cluster (shared with tests/contract: started once per session)."""

from __future__ import annotations

from tests.pg_cluster import postgres_cluster  # noqa: F401  (a fixture)
