"""SQLite group commit: requests that write together share one commit, and none is
acknowledged before that commit is durable (guestgate/adapters/sql/sqlite.py)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from guestgate.adapters.sql import sqlite
from guestgate.adapters.sql.sqlite import SqliteDatabase
from guestgate.adapters.sql.sqlite_checkpoint import BACKSTOP_PAGES
from guestgate.errors import IntegrityError, Unavailable

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = SqliteDatabase(str(tmp_path / "group.db"))
    tx = await db.begin()
    await tx.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
    await tx.execute(
        "CREATE TABLE children (id INTEGER PRIMARY KEY,"
        " parent INTEGER REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    await tx.commit()
    yield db
    await db.close()


def committed_names(db: SqliteDatabase) -> set[str]:
    """What another connection (another process, after a crash) sees."""
    with sqlite3.connect(db.path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM items")}


async def insert(db: SqliteDatabase, name: str) -> None:
    tx = await db.begin()
    try:
        await tx.execute("INSERT INTO items (name) VALUES (:name)", {"name": name})
    except BaseException:
        await tx.rollback()
        raise
    await tx.commit()


async def test_writes_of_one_turn_share_a_commit_and_are_durable_when_acknowledged(
    sqlite_db: SqliteDatabase,
) -> None:
    before = sqlite_db.commits
    seen_at_acknowledgement: dict[str, bool] = {}

    async def write(name: str) -> None:
        await insert(sqlite_db, name)
        seen_at_acknowledgement[name] = name in committed_names(sqlite_db)

    names = [f"n{i}" for i in range(50)]
    await asyncio.gather(*(write(n) for n in names))
    assert seen_at_acknowledgement == dict.fromkeys(names, True)
    assert sqlite_db.commits - before == 1


async def test_a_rolled_back_or_refused_request_leaves_the_rest_of_its_group(
    sqlite_db: SqliteDatabase,
) -> None:
    await insert(sqlite_db, "taken")

    async def roll_back(name: str) -> None:
        tx = await sqlite_db.begin()
        await tx.execute("INSERT INTO items (name) VALUES (:name)", {"name": name})
        await tx.rollback()

    outcomes = await asyncio.gather(
        insert(sqlite_db, "a"),
        roll_back("b"),
        insert(sqlite_db, "taken"),  # unique violation: this request alone fails
        insert(sqlite_db, "c"),
        return_exceptions=True,
    )
    assert outcomes[:2] == [None, None]
    assert outcomes[3] is None
    assert isinstance(outcomes[2], IntegrityError)
    assert committed_names(sqlite_db) == {"taken", "a", "c"}


async def test_readers_see_only_committed_data(sqlite_db: SqliteDatabase) -> None:
    tx = await sqlite_db.begin()
    await tx.execute("INSERT INTO items (name) VALUES ('pending')")
    reader = await sqlite_db.begin(write=False)
    assert await reader.fetchall("SELECT name FROM items") == []
    await reader.rollback()
    await tx.commit()
    reader = await sqlite_db.begin(write=False)
    assert [r["name"] for r in await reader.fetchall("SELECT name FROM items")] == ["pending"]
    await reader.rollback()


async def test_a_failed_group_commit_fails_every_request_in_it_and_stores_nothing(
    sqlite_db: SqliteDatabase,
) -> None:
    async def orphan() -> None:
        # A deferred foreign key is checked at COMMIT, so the group's commit itself fails.
        tx = await sqlite_db.begin()
        await tx.execute("INSERT INTO children (parent) VALUES (999)")
        await tx.commit()

    outcomes = await asyncio.gather(
        insert(sqlite_db, "x"), orphan(), insert(sqlite_db, "y"), return_exceptions=True
    )
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    assert committed_names(sqlite_db) == set()
    await insert(sqlite_db, "after")  # the next group starts clean
    assert committed_names(sqlite_db) == {"after"}


async def test_requests_waiting_for_another_process_join_one_group(
    sqlite_db: SqliteDatabase,
) -> None:
    await insert(sqlite_db, "warm")
    other = sqlite3.connect(sqlite_db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    before = sqlite_db.commits
    writers = [asyncio.ensure_future(insert(sqlite_db, f"w{i}")) for i in range(20)]
    await asyncio.sleep(0.3)
    assert not any(w.done() for w in writers)
    assert committed_names(sqlite_db) == {"warm"}
    other.execute("COMMIT")
    other.close()
    await asyncio.gather(*writers)
    assert sqlite_db.commits - before == 1
    assert committed_names(sqlite_db) == {"warm", *(f"w{i}" for i in range(20))}


async def test_writes_give_up_with_503_when_another_process_never_lets_go(
    sqlite_db: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "BUSY_SECONDS", 0.3)
    other = sqlite3.connect(sqlite_db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    outcomes = await asyncio.gather(
        *(insert(sqlite_db, f"late{i}") for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    other.execute("ROLLBACK")
    other.close()
    await insert(sqlite_db, "later")
    assert committed_names(sqlite_db) == {"later"}


def file_size(path: str) -> int:
    return os.stat(path).st_size


async def test_the_log_is_copied_into_the_database_in_a_thread_not_inside_commit(
    sqlite_db: SqliteDatabase,
) -> None:
    """Commits leave the checkpoint (and its fsync) to a background thread; the write
    connection checkpoints inline only past the backstop, far beyond SQLite's 1,000 pages."""
    tx = await sqlite_db.begin()
    await tx.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    await tx.commit()
    write = sqlite_db._connection("write")
    assert write.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
    size_before = file_size(sqlite_db.path)
    for _ in range(40):  # ~2.5 MiB of log, 640 pages: below every inline threshold
        tx = await sqlite_db.begin()
        await tx.execute("INSERT INTO blobs (body) VALUES (:b)", {"b": b"x" * 65536})
        await tx.commit()
        await asyncio.sleep(0.01)
    for _ in range(200):  # only a checkpoint writes pages into the database file
        if file_size(sqlite_db.path) > size_before + 2 * 1024 * 1024:
            break
        await asyncio.sleep(0.02)
    assert file_size(sqlite_db.path) > size_before + 2 * 1024 * 1024
    with sqlite3.connect(sqlite_db.path) as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 40
