from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from guestgate.adapters.sql import migrate, schema_search, snapshot
from guestgate.adapters.sql.schema import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
    return factory()


def _declared(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether metadata declares the object: schema_search.py's are compared on their own."""
    return type_ != "index" or name not in schema_search.INDEXES


def schema_difference(database_url: str) -> list[object]:
    engine = migrate.make_engine(database_url)
    try:
        with engine.connect() as connection, warnings.catch_warnings():
            # SQLAlchemy cannot reflect SQLite's expression index (schema_search.py's).
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            context = MigrationContext.configure(connection, opts={"include_name": _declared})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def search_objects(database_url: str) -> list[tuple[str, ...]]:
    """schema_search.py's objects as the database holds them (their definitions)."""
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(
                "SELECT type, name, sql FROM sqlite_master"
                " WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name",
                (json.dumps(schema_search.INDEXES),),
            ).fetchall()
    else:
        import psycopg

        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)"
                " UNION ALL SELECT 'extension', extname, '' FROM pg_extension"
                " WHERE extname = 'pg_trgm' ORDER BY 2",
                (list(schema_search.INDEXES),),
            ).fetchall()
    return [tuple(str(v) for v in r) for r in rows]


def count_triggers(database_url: str) -> list[tuple[str, ...]]:
    """schema_counts.py's triggers (and PostgreSQL's function) as the database holds them."""
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            ).fetchall()
    else:
        import psycopg

        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger"
                " WHERE NOT tgisinternal UNION ALL SELECT proname::text,"
                " pg_get_functiondef(oid) FROM pg_proc WHERE proname LIKE 'guest\\_state\\_count%'"
                " ORDER BY 1"
            ).fetchall()
    return [tuple(str(v) for v in r) for r in rows]


def test_migrations_and_snapshot_make_the_same_search_objects(
    empty_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(empty_database_url, from_snapshot=False)
    other = (
        f"sqlite:///{tmp_path}/snapshot.db"
        if empty_database_url.startswith("sqlite:")
        else empty_database_url + "_snapshot"
    )
    if not other.startswith("sqlite:"):
        import psycopg

        with psycopg.connect(empty_database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{other.rsplit("/", 1)[1]}"')
    try:
        assert migrate.create_from_snapshot(other)
        made = search_objects(empty_database_url)
        expected = 1 if empty_database_url.startswith("sqlite:") else 4
        assert len(made) == expected
        assert made == search_objects(other)
        triggers = count_triggers(empty_database_url)
        # SQLite: three triggers; PostgreSQL: three triggers and their three functions.
        assert len(triggers) == (3 if empty_database_url.startswith("sqlite:") else 6)
        assert triggers == count_triggers(other)
    finally:
        if not other.startswith("sqlite:"):
            import psycopg

            with psycopg.connect(empty_database_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{other.rsplit("/", 1)[1]}"')


def test_migrations_produce_exactly_the_declared_schema(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, from_snapshot=False)
    assert migrate.current_revision(empty_database_url) == migrate.HEAD
    assert schema_difference(empty_database_url) == []


def test_a_new_database_gets_the_same_schema_from_the_snapshot(empty_database_url: str) -> None:
    assert migrate.create_from_snapshot(empty_database_url)
    assert migrate.current_revision(empty_database_url) == migrate.HEAD
    assert schema_difference(empty_database_url) == []
    assert not migrate.create_from_snapshot(empty_database_url) or (
        not empty_database_url.startswith("sqlite:")
    )  # SQLite: never applied twice; PostgreSQL: reports the schema already at HEAD
    migrate.upgrade(empty_database_url)  # a no-op now


def test_snapshot_is_not_applied_to_a_database_with_tables(tmp_path: Path) -> None:
    path = tmp_path / "used.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE something_else (x INTEGER)")
    assert not migrate.create_from_snapshot(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"something_else"}


@pytest.mark.parametrize("dialect", snapshot.DIALECTS)
def test_snapshot_files_are_current(dialect: str) -> None:
    assert snapshot.path_of(dialect).read_text() == snapshot.render(dialect), (
        "run: python -m guestgate.adapters.sql.snapshot"
    )


def test_upgrade_is_idempotent(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == migrate.HEAD


def test_head_constant_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == migrate.HEAD
