"""PostgreSQL through a small asyncpg pool (about four connections per worker).

asyncpg speaks the wire protocol itself and prepares every statement once per connection;
measured here, a four-statement invitation transaction costs its client about two thirds
of what it cost through psycopg's async connections (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from typing import Any, cast

import asyncpg

from guestgate import metrics
from guestgate.adapters.sql.driver import Params, Row, Transaction
from guestgate.adapters.sql.postgres_connection import (
    RETRYABLE,
    PostgresTransaction,
    unavailable,
)
from guestgate.errors import Unavailable

CONNECT_SECONDS = 5.0  # to open a connection, or to wait for a free one
STATEMENT_CACHE = 1024  # prepared statements kept per connection (the app has a few hundred)
# Requests per group commit: 8 gave the same throughput as 16 or 32 with a shorter tail
# (docs/performance.md). Each request's savepoint that writes takes a subtransaction id,
# and PostgreSQL keeps only 64 per transaction in shared memory before snapshots slow down.
MAX_GROUP = 8


async def _reset(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool.

    asyncpg's default reset runs a query on every release (unlisten, reset settings, unlock
    advisory locks); guestgate keeps no session state, so only a transaction a cancelled
    request left open has to go.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PostgresDatabase:
    """A small asyncpg pool per process and event loop; write transactions commit in groups.

    On this kind of machine a commit's WAL flush is most of PostgreSQL's cost of an invite,
    so the write transactions of concurrent requests share commits, as on SQLite: each
    request's work is a savepoint in a *group*, one PostgreSQL transaction on one pooled
    connection that the requests use one after another and that commits as soon as none is
    left waiting (or `MAX_GROUP` have joined). A request's ``commit()`` returns only once
    its group is committed, so nothing is acknowledged before it is durable, and if the
    group's commit fails every request in it fails. Up to ``pool_size`` groups are open at
    once; a request joins the one with the shortest queue. Reads run on their own
    connections without a transaction and see committed data only.
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._turns = asyncio.Semaphore(pool_size)
        # How long a transaction waited to start: a pooled connection, a group to join.
        self._write_wait = metrics.database_wait("postgresql", "write")
        self._read_wait = metrics.database_wait("postgresql", "read")
        self._groups: list[_Group] = []  # the groups requests may still join
        self._tasks: set[asyncio.Future[None]] = set()  # groups starting or committing
        self.commits = 0  # group commits by this process

    async def _get_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            # asyncpg's pool lets a newcomer take a connection ahead of those already
            # waiting, which showed as a doubled p99 under load; the semaphore (first come,
            # first served) hands each freed connection to the longest waiter instead.
            self._turns = asyncio.Semaphore(self.pool_size)
            self._groups = []
            # min_size 0: start-up does not wait for (or fail on) the database server;
            # connections open on first use and a request that finds it down gets a 503.
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=0,
                max_size=self.pool_size,
                timeout=CONNECT_SECONDS,
                statement_cache_size=STATEMENT_CACHE,
                reset=_reset,
            )
            self._pool_loop = loop
        return self._pool

    async def _session(self) -> PostgresTransaction:
        """A pooled connection of our own, in turn (first come, first served)."""
        pool = await self._get_pool()
        turns = self._turns
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                await turns.acquire()
                try:
                    conn = await pool.acquire()
                except BaseException:
                    turns.release()
                    raise
        except RETRYABLE as exc:
            raise unavailable(exc, "the database is unreachable; retry shortly") from exc
        return PostgresTransaction(pool, conn, turns)

    async def begin(self, *, write: bool = True, alone: bool = False) -> Transaction:
        started = time.perf_counter()
        tx = await self._begin(write=write, alone=alone)
        (self._write_wait if write else self._read_wait).observe(time.perf_counter() - started)
        return tx

    async def _begin(self, *, write: bool = True, alone: bool = False) -> Transaction:
        if not write:
            # Reads run each statement on its own: under READ COMMITTED a transaction would
            # give them nothing (every statement takes a new snapshot) and cost two round trips.
            return await self._session()
        if alone:
            # Its own transaction on its own connection: the row locks it takes are held for
            # its few statements only, never while a group waits on another group.
            session = await self._session()
            try:
                await session.execute("BEGIN")
            except BaseException:
                await session.rollback()
                raise
            return session
        await self._get_pool()
        group = self._join()
        try:
            if not group.opened.done():
                await asyncio.wait([group.opened])
            group.opened.result()  # raises if the group's transaction could not begin
            await group.lock.acquire()
        except BaseException:
            self._leave(group)
            raise
        member = _Member(self, group)
        if group.done.done():  # the group failed while this request waited
            member.finish()
            group.done.result()
        if group.work:
            # Earlier requests' work is in the transaction: this one's can be undone alone.
            command = "RELEASE SAVEPOINT request; SAVEPOINT request"
            try:
                await member.execute(command if group.savepoint else "SAVEPOINT request")
            except BaseException as exc:
                group.fail(exc)  # the transaction's state is unknown: no one may commit it
                member.finish()
                raise
            group.savepoint = member.savepoint = True
        return member

    def _join(self) -> _Group:
        groups = self._groups
        group = min(groups, key=lambda g: g.pending) if groups else None
        if group is None or (group.pending and len(groups) < self.pool_size):
            group = _Group(asyncio.get_running_loop())
            groups.append(group)
            self._track(self._start(group))
        group.pending += 1
        group.joined += 1
        if group.joined >= MAX_GROUP:
            groups.remove(group)
        return group

    def _leave(self, group: _Group) -> None:
        """A request is done with the group: the last one out lets it commit."""
        group.pending -= 1
        if not group.pending:
            if group in self._groups:
                self._groups.remove(group)
            self._track(self._flush(group))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, group: _Group) -> None:
        try:
            group.session = await self._session()
            await group.session.execute("BEGIN")
        except BaseException as exc:
            if group in self._groups:
                self._groups.remove(group)
            if group.session is not None:
                await group.session.release()
                group.session = None
            error = exc if isinstance(exc, Unavailable) else unavailable(exc, "cannot begin")
            group.opened.set_exception(error)
            group.opened.exception()  # retrieved: the waiting requests raise it themselves
            group.fail(exc)
            if not isinstance(exc, Exception):
                raise
            return
        group.opened.set_result(None)

    async def _flush(self, group: _Group) -> None:
        """Commit a group once no request is left in it."""
        if not group.opened.done():
            await asyncio.wait([group.opened])
        session = group.session
        if session is None:
            return  # it never began (see _start)
        if group.done.done():  # failed: closing the connection ends the transaction
            session.broken = True
            await session.release()
            return
        try:
            if group.work:
                await session.commit()
                self.commits += 1
            else:
                await session.rollback()  # every request in it rolled back
        except Exception as exc:
            group.fail(exc)
        else:
            group.done.set_result(None)

    async def ping(self) -> None:
        tx = await self.begin(write=False)
        try:
            await tx.fetchone("SELECT 1 AS ok")
        finally:
            await tx.rollback()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if self._pool is not None and self._pool_loop is asyncio.get_running_loop():
            await self._pool.close()
        self._pool = None


class _Group:
    """Write transactions of concurrent requests on one connection, committed together."""

    __slots__ = ("done", "joined", "lock", "opened", "pending", "savepoint", "session", "work")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.opened: asyncio.Future[None] = loop.create_future()  # BEGIN went through
        self.done: asyncio.Future[None] = loop.create_future()  # committed (or failed)
        self.lock = asyncio.Lock()  # one request at a time on the connection
        self.session: PostgresTransaction | None = None
        self.pending = 0  # requests in the group that have not finished
        self.joined = 0
        self.savepoint = False  # a request's savepoint is open; the next one releases it
        self.work = False  # some request committed its work into the transaction

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            error = unavailable(exc, "the database could not commit; retry shortly")
            self.done.set_exception(error)
            self.done.exception()  # a group nobody waits for must not warn


class _Member:
    """One request's write transaction: its turn on the group's connection."""

    __slots__ = ("_db", "_failed", "_group", "_open", "savepoint")
    dialect = "postgresql"

    def __init__(self, db: PostgresDatabase, group: _Group) -> None:
        self._db, self._group = db, group
        self._open, self._failed, self.savepoint = True, False, False

    def finish(self) -> None:
        self._open = False
        self._group.lock.release()
        self._db._leave(self._group)

    async def _call(self, method: str, sql: str, params: Params) -> Any:
        group = self._group
        assert group.session is not None
        try:
            return await getattr(group.session, method)(sql, params)
        except BaseException as exc:
            self._failed = True
            if group.session.broken:
                group.fail(exc)  # the connection is gone, and the group's work with it
            raise

    async def execute(self, sql: str, params: Params = None) -> int:
        count: int = await self._call("execute", sql, params)
        return count

    async def fetchone(self, sql: str, params: Params = None) -> Row | None:
        return cast("Row | None", await self._call("fetchone", sql, params))

    async def fetchall(self, sql: str, params: Params = None) -> Sequence[Row]:
        return cast("Sequence[Row]", await self._call("fetchall", sql, params))

    async def commit(self) -> None:
        if not self._open:
            return
        if self._failed:
            # Whoever caught the failed statement's error must not report success.
            await self.rollback()
            raise RuntimeError("the transaction had failed; a statement in it raised an error")
        self._group.work = True
        self.finish()
        await asyncio.shield(self._group.done)  # acknowledged only once the group is durable

    async def rollback(self) -> None:
        if not self._open:
            return
        group = self._group
        try:
            if not group.done.done():
                # The first request of a group has no savepoint: start the transaction anew.
                await self._call(
                    "execute",
                    "ROLLBACK TO SAVEPOINT request" if self.savepoint else "ROLLBACK; BEGIN",
                    None,
                )
        except BaseException as exc:
            group.fail(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self.finish()
