"""The same contract tests against the in-memory fakes and the SQL repositories.

Each test gets a fresh, empty store: a `FakeStore`, a migrated SQLite file, or a new
migrated PostgreSQL database (marker `postgres`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from tests.contract.builders import UowFactory
from tests.fakes import FakeStore, FakeUnitOfWork


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UowFactory]:
    """``make_uow()`` opens a write unit of work, ``make_uow(write=False)`` a read-only one."""
    if request.param == "fake":
        store = FakeStore()
        yield lambda write=True: FakeUnitOfWork(store, write=write)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/contract.db"
    else:
        url = request.getfixturevalue("postgres_url_factory")()
    migrate.upgrade(url)
    db = connect(url, pool_size=2)
    yield lambda write=True: SqlUnitOfWork(db, write=write)
    await db.close()
