"""Run the Alembic migrations programmatically (``guestgate db upgrade`` and ``serve``).

Alembic and SQLAlchemy take about two seconds to import on a small machine, so the common case
(schema already at HEAD) is answered with the plain driver and never imports them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0003"  # the newest revision in migrations/versions; a test keeps the two in step


def sqlalchemy_url(database_url: str) -> str:
    """Our URL to SQLAlchemy's: PostgreSQL goes through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url.removeprefix(prefix)
    return database_url


def make_engine(database_url: str) -> sa.Engine:
    import sqlalchemy as sa

    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(sqlalchemy_url(database_url), poolclass=sa.pool.NullPool)


def current_revision(database_url: str) -> str | None:
    """The schema revision recorded in the database, read with the plain driver."""
    query = "SELECT version_num FROM alembic_version"
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        if not Path(path).exists():
            return None
        with sqlite3.connect(path) as conn:
            try:
                row = conn.execute(query).fetchone()
            except sqlite3.OperationalError:
                return None
        return None if row is None else str(row[0])
    import psycopg

    url = database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, connect_timeout=5) as conn:
        try:
            pg_row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return None if pg_row is None else str(pg_row[0])


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; concurrent callers on PostgreSQL are serialised."""
    if revision == "head" and current_revision(database_url) == HEAD:
        return
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two processes starting at once must not both create the tables.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(736500001)"))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
