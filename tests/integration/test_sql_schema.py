from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from guestgate.adapters.sql import migrate, snapshot
from guestgate.adapters.sql.schema import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
    return factory()


def schema_difference(database_url: str) -> list[object]:
    engine = migrate.make_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


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
