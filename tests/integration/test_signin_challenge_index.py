"""Counting a user's recent sign-in challenges reads the index, not the whole table."""

from __future__ import annotations

import sqlalchemy as sa

from guestgate.adapters.sql import migrate

# The query of adapters/sql/signin.py `recent_challenges`.
RECENT = "SELECT COUNT(*) AS n FROM signin_challenges WHERE user_id = :id AND created_at > :since"
INDEX = "ix_signin_challenges_user_created"


def test_recent_challenges_are_counted_from_the_index(database_url: str) -> None:
    engine = migrate.make_engine(database_url)
    params = {"id": "00000000-0000-0000-0000-000000000001", "since": "2026-01-01T00:00:00Z"}
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.execute(sa.text("EXPLAIN QUERY PLAN " + RECENT), params)
                plan = " ".join(str(r[-1]) for r in rows)
            else:
                # An empty table is cheapest to scan; forbid that to see what the planner can use.
                connection.execute(sa.text("SET enable_seqscan = off"))
                rows = connection.execute(sa.text("EXPLAIN " + RECENT), params)
                plan = " ".join(str(r[0]) for r in rows)
    finally:
        engine.dispose()
    assert INDEX in plan, plan
