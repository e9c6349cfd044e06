"""The database named by a URL: ``sqlite:///path`` or ``postgresql://…``."""

from __future__ import annotations

from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.sqlite import SqliteDatabase


def connect(database_url: str, *, pool_size: int = 4) -> Database:
    if database_url.startswith("sqlite:///"):
        return SqliteDatabase(database_url.removeprefix("sqlite:///"))
    # Imported on demand: asyncpg adds start-up time that SQLite users need not pay.
    from guestgate.adapters.sql.postgres import PostgresDatabase

    return PostgresDatabase(database_url, pool_size=pool_size)
