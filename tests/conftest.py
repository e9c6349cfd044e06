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
from tests.leaks import REGISTRY, scan

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


# Every PostgreSQL database the session made: dropped at its end, after the leak scan.
CREATED_DATABASES: list[str] = []


@pytest.fixture(scope="session")
def postgres_url_factory() -> Callable[[], str]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable")

    def factory() -> str:
        url = create_postgres_database()
        CREATED_DATABASES.append(url)
        return url

    return factory


@pytest.fixture(scope="session", autouse=True)
def leak_scan_at_the_end() -> Iterator[None]:
    """Set up first, so torn down last: once every test of this process has finished, no
    secret the suite handled may be in any log, error body or database it left (a leak is an
    error at the teardown of the last test); then the PostgreSQL databases are dropped."""
    yield
    try:
        leaks = scan(REGISTRY)
        print(
            f"\nleak scan: {len(REGISTRY.logs)} logs, {len(REGISTRY.error_bodies)} error bodies"
            f" and {len(REGISTRY.databases)} databases searched for {len(REGISTRY.secrets)}"
            f" secrets and {len(REGISTRY.codes)} codes"
        )
        assert leaks == [], "secrets found where they must never be:\n" + "\n".join(leaks)
    finally:
        # Several at once: a suite creates hundreds, and each drop waits on the file system.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(drop_postgres_database, CREATED_DATABASES))


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


# The modules with the longest tests (a minute or more each: kill loops, the bench harness,
# scale-out, fault injection, fuzzing) go first, so that with two workers neither is left
# running one of them alone at the end.
LONGEST_FIRST = (
    "tests/security/test_crash.py",
    "tests/e2e/test_bench.py",
    "tests/security/test_scale_out.py",
    "tests/security/test_webhook_crash.py",
    "tests/security/test_faults.py",
    "tests/e2e/test_schema_fuzz.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
