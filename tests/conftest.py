"""Shared fixtures: settings, real databases (SQLite and PostgreSQL), builders."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.config import DatabaseSettings, Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "GUESTGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def create_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; its URL."""
    name = f"guestgate_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url_factory() -> Iterator[Callable[[], str]]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable")
    created: list[str] = []

    def factory() -> str:
        url = create_postgres_database()
        created.append(url)
        return url

    yield factory
    # Several at once: a suite creates hundreds, and each drop waits on the file system.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(drop_postgres_database, created))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: SQLite in a temp dir, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/guestgate.db"
    else:
        url = request.getfixturevalue("postgres_url_factory")()
    migrate.upgrade(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database=DatabaseSettings(url=database_url), secret_key=secrets.token_bytes(32))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = connect(database_url, pool_size=2)
    yield database
    await database.close()


@pytest.fixture
def uow(db: Database) -> Callable[..., SqlUnitOfWork]:
    def make(write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(db, write=write)

    return make


@pytest.hookimpl(trylast=True)  # after any plugin that reorders tests
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The leak scan runs last: it searches what every other test left behind."""
    items.sort(key=lambda item: item.get_closest_marker("leak_scan") is not None)
