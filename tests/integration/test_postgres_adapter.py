"""The PostgreSQL adapter on a real server: placeholders, row counts, errors, fair turns."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator

import psycopg
import pytest

from guestgate.adapters.sql.postgres import MAX_GROUP, PostgresDatabase
from guestgate.adapters.sql.postgres_connection import to_asyncpg
from guestgate.errors import IntegrityError, Unavailable

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
async def pg(postgres_url_factory: object) -> AsyncIterator[PostgresDatabase]:
    url = postgres_url_factory()  # type: ignore[operator]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, note TEXT)")
    db = PostgresDatabase(url, pool_size=1)
    yield db
    await db.close()


async def names(db: PostgresDatabase) -> list[str]:
    tx = await db.begin(write=False)
    try:
        return [r["name"] for r in await tx.fetchall("SELECT name FROM items ORDER BY id")]
    finally:
        await tx.rollback()


def test_placeholders_are_numbered_once_per_name() -> None:
    sql, names_ = to_asyncpg(
        "SELECT :a::text, ':quoted', x FROM t WHERE b = :b AND c = :a AND d::int = :c"
    )
    assert sql == "SELECT $1::text, ':quoted', x FROM t WHERE b = $2 AND c = $1 AND d::int = $3"
    assert names_ == ("a", "b", "c")


async def test_row_counts_and_rows(pg: PostgresDatabase) -> None:
    tx = await pg.begin()
    assert await tx.execute("INSERT INTO items VALUES (:id, :name)", {"id": 1, "name": "a"}) == 1
    assert await tx.execute("INSERT INTO items VALUES (:id, :name)", {"id": 2, "name": "b"}) == 1
    assert await tx.execute("UPDATE items SET note = :n WHERE id > :min", {"n": "x", "min": 0}) == 2
    row = await tx.fetchone("SELECT name, note FROM items WHERE id = :id", {"id": 2})
    assert row is not None
    assert (row["name"], row["note"]) == ("b", "x")
    assert await tx.fetchone("SELECT name FROM items WHERE id = :id", {"id": 9}) is None
    await tx.commit()
    assert await names(pg) == ["a", "b"]


async def test_rollback_and_an_uncommitted_transaction_store_nothing(pg: PostgresDatabase) -> None:
    tx = await pg.begin()
    await tx.execute("INSERT INTO items VALUES (1, 'a')")
    await tx.rollback()
    assert await names(pg) == []


async def test_unique_violation_is_an_integrity_error(pg: PostgresDatabase) -> None:
    tx = await pg.begin()
    await tx.execute("INSERT INTO items VALUES (1, 'a')")
    await tx.commit()
    tx = await pg.begin()
    with pytest.raises(IntegrityError):
        await tx.execute("INSERT INTO items VALUES (2, 'a')")
    await tx.rollback()
    assert await names(pg) == ["a"]


async def test_a_transaction_a_failed_statement_broke_is_never_reported_committed(
    pg: PostgresDatabase,
) -> None:
    """PostgreSQL answers ROLLBACK to such a COMMIT; success must not be reported."""
    tx = await pg.begin()
    await tx.execute("INSERT INTO items VALUES (1, 'a')")
    with pytest.raises(IntegrityError):
        await tx.execute("INSERT INTO items VALUES (1, 'b')")
    with pytest.raises(RuntimeError, match="had failed"):
        await tx.commit()
    assert await names(pg) == []
    await pg.ping()  # the connection went back to the pool in a usable state


async def test_connections_are_handed_out_first_come_first_served(pg: PostgresDatabase) -> None:
    """Under contention each freed connection goes to the longest waiter: requests that
    arrive while it is being handed on must queue behind (jumping the queue doubled p99)."""
    requested = itertools.count()
    granted: list[int] = []

    async def request(delay: float) -> None:
        await asyncio.sleep(delay)
        ticket = next(requested)
        tx = await pg.begin(write=False)
        granted.append(ticket)
        await tx.fetchone("SELECT 1 AS one")
        await tx.rollback()

    arrivals = random.Random(8)
    await asyncio.gather(*(request(arrivals.random() * 0.05) for _ in range(300)))
    assert len(granted) == 300
    assert granted == sorted(granted)


async def insert(pg: PostgresDatabase, item: int, *, undo: bool = False) -> None:
    tx = await pg.begin()
    await tx.execute("INSERT INTO items VALUES (:id, :name)", {"id": item, "name": f"n{item}"})
    await asyncio.sleep(0)  # let the others queue up behind
    if undo:
        await tx.rollback()
    else:
        await tx.commit()


async def test_concurrent_writes_share_commits_and_each_is_durable_when_acknowledged(
    pg: PostgresDatabase,
) -> None:
    async def write_then_read(item: int) -> bool:
        await insert(pg, item)
        # Acknowledged: another connection (another process) sees it now.
        return f"n{item}" in await names(pg)

    seen = await asyncio.gather(*(write_then_read(i) for i in range(40)))
    assert all(seen)
    assert sorted(await names(pg)) == sorted(f"n{i}" for i in range(40))
    assert 40 / MAX_GROUP <= pg.commits < 40  # shared, and no group grew past MAX_GROUP


async def test_a_request_that_rolls_back_takes_only_its_own_work_with_it(
    pg: PostgresDatabase,
) -> None:
    # The first request of a group has no savepoint; the others do.
    await asyncio.gather(
        insert(pg, 1, undo=True), insert(pg, 2), insert(pg, 3, undo=True), insert(pg, 4)
    )
    assert sorted(await names(pg)) == ["n2", "n4"]


async def test_a_failed_statement_fails_only_its_own_request(pg: PostgresDatabase) -> None:
    async def duplicate() -> None:
        tx = await pg.begin()
        try:
            with pytest.raises(IntegrityError):  # n1 of the request before, same transaction
                await tx.execute("INSERT INTO items VALUES (9, 'n1')")
        finally:
            await tx.rollback()

    await asyncio.gather(insert(pg, 1), duplicate(), insert(pg, 2))
    assert sorted(await names(pg)) == ["n1", "n2"]


async def test_losing_the_connection_fails_every_request_of_the_group(
    pg: PostgresDatabase,
) -> None:
    first = await pg.begin()
    await first.execute("INSERT INTO items VALUES (1, 'n1')")
    row = await first.fetchone("SELECT pg_backend_pid() AS pid")
    assert row is not None
    others = [asyncio.create_task(insert(pg, item)) for item in (2, 3)]
    await asyncio.sleep(0.05)  # queued behind the first, in the same group
    with psycopg.connect(pg.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
    with pytest.raises(Unavailable):
        await first.commit()
    for task in others:
        with pytest.raises(Unavailable):
            await task
    assert await names(pg) == []
    await insert(pg, 4)  # a new group on a new connection
    assert await names(pg) == ["n4"]


async def test_an_unreachable_server_is_a_quick_503() -> None:
    db = PostgresDatabase("postgresql://postgres@127.0.0.1:1/none")  # nothing listens on 1
    try:
        with pytest.raises(Unavailable) as caught:
            await db.begin()
        assert caught.value.code == "DatabaseUnavailable"
    finally:
        await db.close()
