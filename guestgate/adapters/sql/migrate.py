"""Run the Alembic migrations programmatically (``guestgate db upgrade`` and ``serve``).

Alembic and SQLAlchemy take about two seconds to import on a small machine, so the common case
(schema already at HEAD) is answered with the plain driver and never imports them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    import sqlalchemy as sa

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0032"  # the newest revision in migrations/versions; a test keeps the two in step


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


def create_from_snapshot(database_url: str) -> bool:
    """Create the HEAD schema in an empty database with the plain driver.

    Returns False (and changes nothing) when the database is not empty, so the caller falls
    back to the migrations. The whole script is one transaction.
    """
    dialect = "sqlite" if database_url.startswith("sqlite:") else "postgresql"
    script = (Path(__file__).parent / f"schema.{dialect}.sql").read_text()
    # Statements end with ';' and a blank line (snapshot.py): a trigger's body holds ';' too.
    statements = [s.strip() for s in _without_comments(script).split(";\n\n") if s.strip()]
    if dialect == "sqlite":
        path = Path(database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        lite = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            lite.execute("BEGIN IMMEDIATE")
            if lite.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                lite.execute("ROLLBACK")
                return False
            for statement in statements:
                lite.execute(statement)
            lite.execute("COMMIT")
        finally:
            lite.close()
        return True
    import psycopg

    url = database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, connect_timeout=5) as conn, conn.transaction():
        # The same lock as the migrations: two processes starting at once create it once.
        conn.execute("SELECT pg_advisory_xact_lock(736500001)")
        existing = conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()
        if existing is None or existing[0]:
            return current_revision_in(conn) == HEAD
        for statement in statements:
            conn.execute(statement.encode())  # the script from our package, no parameters
    return True


def current_revision_in(conn: psycopg.Connection[Any]) -> str | None:
    import psycopg

    try:
        with conn.transaction():
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return None if row is None else str(row[0])


def _without_comments(script: str) -> str:
    return "\n".join(line for line in script.splitlines() if not line.startswith("--"))


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


def upgrade(database_url: str, revision: str = "head", *, from_snapshot: bool = True) -> None:
    """Bring the schema to `revision`; concurrent callers on PostgreSQL are serialised.

    An empty database is given the HEAD schema from its SQL snapshot (see `snapshot.py`)
    unless `from_snapshot` is False; anything else goes through the Alembic migrations.
    """
    if revision == "head":
        current = current_revision(database_url)
        if current == HEAD:
            return
        if current is None and from_snapshot and create_from_snapshot(database_url):
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
