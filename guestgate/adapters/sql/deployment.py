"""The `deployment` table: the shared settings `serve` records at start (see deployment.py).

Read and written with the plain drivers, before any event loop runs, like the migrations: a
command needs them to build its settings, and `serve` writes them once before its workers
start. Nothing here ever creates a database: `schema_revision` tells a command whether the
database it was pointed at exists at all.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from guestgate.adapters.sql import migrate
from guestgate.errors import ConfigError

_UPSERT_SQLITE = (
    "INSERT INTO deployment (name, value, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)
_UPSERT_PG = (
    "INSERT INTO deployment (name, value, updated_at) VALUES (%s, %s, %s)"
    " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


def schema_revision(database_url: str, *, shown: str) -> str | None:
    """The schema revision of an existing database, or None when it holds no guestgate schema.

    `shown` names the database in messages. A SQLite file that is missing is never created.
    """
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        if not path.is_file():
            return None
        try:
            return migrate.current_revision(database_url)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot read the database {shown}: {exc}") from None
    import psycopg

    try:
        return migrate.current_revision(database_url)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot open the database {shown}: {reason}") from None


def read(database_url: str) -> dict[str, str]:
    """The recorded shared settings (empty until a `serve` of this version has started)."""
    query = "SELECT name, value FROM deployment"
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as lite:
            return {str(name): str(value) for name, value in lite.execute(query)}
    import psycopg

    with psycopg.connect(_psycopg_url(database_url), connect_timeout=5) as conn:
        return {str(name): str(value) for name, value in conn.execute(query)}


def write(database_url: str, values: Mapping[str, str], *, now: str) -> None:
    """Replace the recorded settings with `values`, in one transaction.

    An upsert rather than delete-and-insert: two servers starting at once on one PostgreSQL
    database each commit their own set without a key conflict.
    """
    names = sorted(values)
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as lite:
            lite.execute("BEGIN IMMEDIATE")
            try:
                lite.executemany(_UPSERT_SQLITE, [(n, values[n], now) for n in names])
                marks = ", ".join("?" for _ in names)
                lite.execute(f"DELETE FROM deployment WHERE name NOT IN ({marks})", names)  # noqa: S608
                lite.execute("COMMIT")
            except BaseException:
                lite.execute("ROLLBACK")
                raise
        return
    import psycopg

    with (
        psycopg.connect(_psycopg_url(database_url), connect_timeout=5) as conn,
        conn.transaction(),
        conn.cursor() as cursor,
    ):
        cursor.executemany(_UPSERT_PG, [(n, values[n], now) for n in names])
        cursor.execute("DELETE FROM deployment WHERE name <> ALL(%s)", (names,))


def _psycopg_url(database_url: str) -> str:
    return database_url.replace("postgres://", "postgresql://", 1)
