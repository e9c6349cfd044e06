"""Lean database access for the hot paths: stdlib sqlite3, or a psycopg pool (postgres.py).

SQL is written once with ``:name`` placeholders. SQLite understands them natively; for
PostgreSQL they are rewritten to psycopg's ``%(name)s`` once per statement text and cached.
A `Transaction` is the only way to run SQL; units of work own commit and rollback.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from guestgate.errors import Unavailable

Row = Mapping[str, Any]
BUSY_SECONDS = 10.0  # how long a writer waits for another process's transaction
Params = Mapping[str, Any] | None


class IntegrityError(Exception):
    """A unique or foreign-key constraint refused a write."""


class Transaction(Protocol):
    dialect: str

    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def fetchone(self, sql: str, params: Params = None) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = None) -> Sequence[Row]: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class Database(Protocol):
    dialect: str

    async def begin(self, *, write: bool = True) -> Transaction: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def connect(database_url: str, *, pool_size: int = 4) -> Database:
    if database_url.startswith("sqlite:///"):
        return SqliteDatabase(database_url.removeprefix("sqlite:///"))
    # Imported on demand: psycopg costs ~0.4 s of start-up that SQLite users need not pay.
    from guestgate.adapters.sql.postgres import PostgresDatabase

    return PostgresDatabase(database_url, pool_size=pool_size)


# ---------------------------------------------------------------- SQLite


class SqliteDatabase:
    """One connection per process, transactions serialised by an asyncio lock.

    Measured here, one stdlib connection with ``BEGIN IMMEDIATE`` and a busy timeout beats a
    thread pool, aiosqlite and the ORM by 2-5x. WAL with ``synchronous=NORMAL`` never loses a
    committed transaction when a process crashes; only a power loss can roll back the last
    commits (see docs/performance.md).
    """

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _connection(self) -> sqlite3.Connection:
        # A forked worker must not share its parent's connection.
        if self._conn is None or self._pid != os.getpid():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def begin(self, *, write: bool = True) -> Transaction:
        lock = self._lock()
        await lock.acquire()
        try:
            conn = self._connection()
            if write:
                await self._begin_immediate(conn)
            else:
                conn.execute("BEGIN")  # WAL readers never wait for writers
        except sqlite3.OperationalError as exc:
            lock.release()
            raise Unavailable("the database is busy or unreachable; retry shortly") from exc
        except BaseException:
            lock.release()
            raise
        return _SqliteTransaction(conn, lock)

    async def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock without blocking the event loop while another process has it.

        SQLite's busy handler sleeps inside the C call, which would stall every request of
        this worker; instead try without waiting and yield to the loop between attempts.
        """
        deadline = time.monotonic() + BUSY_SECONDS
        delay = 0.0002
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.005)
        finally:
            # Inside the transaction we hold the lock; a checkpoint may still wait briefly.
            conn.execute("PRAGMA busy_timeout = 5000")

    async def ping(self) -> None:
        tx = await self.begin(write=False)
        try:
            await tx.fetchone("SELECT 1 AS ok")
        finally:
            await tx.rollback()

    async def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


class _SqliteTransaction:
    __slots__ = ("_conn", "_lock", "_open")
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, lock: asyncio.Lock) -> None:
        self._conn, self._lock, self._open = conn, lock, True

    def _run(self, sql: str, params: Params) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params or {})
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            raise Unavailable("the database is busy or unreachable; retry shortly") from exc

    async def execute(self, sql: str, params: Params = None) -> int:
        return self._run(sql, params).rowcount

    async def fetchone(self, sql: str, params: Params = None) -> Row | None:
        row: Row | None = self._run(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Params = None) -> Sequence[Row]:
        rows: list[Row] = self._run(sql, params).fetchall()
        return rows

    def _finish(self, statement: str) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._conn.execute(statement)
        except sqlite3.OperationalError as exc:
            if statement == "COMMIT":
                # A failed commit leaves the transaction open: roll it back before releasing.
                self._conn.execute("ROLLBACK")
                raise Unavailable("the database could not commit; retry shortly") from exc
        finally:
            self._lock.release()

    async def commit(self) -> None:
        self._finish("COMMIT")

    async def rollback(self) -> None:
        self._finish("ROLLBACK")
