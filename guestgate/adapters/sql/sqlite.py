"""SQLite through the stdlib driver: one write and one read connection, group commit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from guestgate import metrics
from guestgate.adapters.sql.driver import Params, Row, Transaction
from guestgate.adapters.sql.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer
from guestgate.errors import IntegrityError, Unavailable

BUSY_SECONDS = 10.0  # how long a writer waits for another process's transaction


class SqliteDatabase:
    """Two connections per process: one for writes, one for reads; writes commit in groups.

    Measured here, stdlib connections with ``BEGIN IMMEDIATE`` beat a thread pool, aiosqlite
    and the ORM by 2-5x. WAL with ``synchronous=NORMAL`` never loses a committed transaction
    when a process crashes; only a power loss can roll back the last commits (see
    docs/performance.md).

    Group commit: every write transaction of a request is a savepoint inside a *group*, one
    SQLite transaction shared by the requests that write in the same turn of the event loop
    and committed right after it. A request's ``commit()`` returns only once its group is
    committed, so nothing is acknowledged before it is durable, and if the group's commit
    fails every request in it fails. One commit per group instead of one per request saves
    most of SQLite's per-commit work and, with several worker processes, most of the page
    cache reloads that another process's commit forces. Reads use their own connection, so
    they see committed data only and never wait for a group.
    """

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conns: dict[str, sqlite3.Connection] = {}
        self._pid = 0
        self._locks: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Lock] = {}
        # How long a transaction waited to start: for a write, SQLite's write lock.
        self._write_wait = metrics.database_wait("sqlite", "write")
        self._read_wait = metrics.database_wait("sqlite", "read")
        self._group: _Group | None = None
        self.commits = 0  # groups committed by this process (write transactions share them)
        self._checkpointer = Checkpointer(path)

    def _connection(self, role: str) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # A forked worker must not share its parent's connections.
            self._conns, self._pid, self._group = {}, os.getpid(), None
        conn = self._conns.get(role)
        if conn is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # 32 MiB of pages per connection instead of SQLite's 2 MiB: every invite touches
            # random pages of the id, address and ticket indexes, which then stay in memory.
            conn.execute("PRAGMA cache_size = -32768")
            if role == "read":
                conn.execute("PRAGMA query_only = ON")
            else:
                # The log is copied back in a thread (sqlite_checkpoint.py), not in COMMIT.
                conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
                # A statement inside a request's savepoint, or one that fires a trigger (the
                # kept guest counts, schema_counts.py), keeps a statement journal to undo
                # itself; in a temporary file that was a write per statement (a users INSERT
                # took 38 us with it, 26 us in memory, and an AFTER INSERT trigger added 35 us
                # on disk, 8 us in memory). Writers' statements are small; the read
                # connection, whose sorts can be large, keeps SQLite's default.
                conn.execute("PRAGMA temp_store = MEMORY")
            self._conns[role] = conn
        return conn

    def _lock(self, role: str) -> asyncio.Lock:
        key = (asyncio.get_running_loop(), role)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def begin(self, *, write: bool = True, alone: bool = False) -> Transaction:
        started = time.perf_counter()
        tx = await self._begin(write=write, alone=alone)
        (self._write_wait if write else self._read_wait).observe(time.perf_counter() - started)
        return tx

    async def _begin(self, *, write: bool = True, alone: bool = False) -> Transaction:
        # One writer at a time: a group cannot wait on another, so `alone` needs nothing here.
        if not write:
            return await self._begin_read()
        lock = self._lock("write")
        waiting: _Group | None = None  # the group this request waits to join
        try:
            while True:
                group = self._group
                if group is not None and not group.opened.done():
                    # Another process holds the write lock; wait with the others for it.
                    if waiting is not group:
                        if waiting is not None:
                            waiting.leave()
                        waiting, group.joining = group, group.joining + 1
                    await asyncio.wait([group.opened])
                    group.opened.result()  # raises if the write lock could not be had
                    continue
                await lock.acquire()
                with _released_on_error(lock):
                    current = self._group
                    if current is not None and current.done.done():
                        current = self._group = None  # failed; its flusher has nothing to do
                    if current is not group:
                        lock.release()  # the group changed while we waited for the connection
                        continue
                    conn = self._connection("write")
                    if group is None:
                        group = self._open_group(conn, lock)
                        if not group.opened.done():
                            lock.release()
                            continue
                    group.opened.result()  # raises if the write lock could not be had
                    conn.execute("SAVEPOINT request")
                return _SqliteTransaction(conn, lock, group)
        finally:
            if waiting is not None:
                waiting.leave()

    async def _begin_read(self) -> Transaction:
        lock = self._lock("read")
        await lock.acquire()
        with _released_on_error(lock):
            conn = self._connection("read")
            conn.execute("BEGIN")  # WAL readers never wait for writers
        return _SqliteTransaction(conn, lock, None)

    def _open_group(self, conn: sqlite3.Connection, lock: asyncio.Lock) -> _Group:
        """A new group: SQLite's write lock now if it is free, else from a polling task."""
        loop = asyncio.get_running_loop()
        group = self._group = _Group(loop.create_future(), loop.create_future())
        if self._try_begin(conn):
            group.opened.set_result(None)
            group.flusher = asyncio.ensure_future(self._flush(group, lock))
        else:
            group.flusher = asyncio.ensure_future(self._wait_then_flush(group, lock))
        return group

    @staticmethod
    def _try_begin(conn: sqlite3.Connection) -> bool:
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return False
        finally:
            # Inside the transaction we hold the lock; a checkpoint may still wait briefly.
            conn.execute("PRAGMA busy_timeout = 5000")

    async def _wait_then_flush(self, group: _Group, lock: asyncio.Lock) -> None:
        """Another process holds SQLite's write lock: poll for it without blocking the loop.

        SQLite's own busy handler sleeps inside the C call, which would stall every request
        of this worker. The requests that arrive meanwhile all join this group.
        """
        deadline = time.monotonic() + BUSY_SECONDS
        delay = 0.0002
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.001)
            async with lock:
                try:
                    if self._try_begin(self._connection("write")):
                        break
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError("database is locked")
                except sqlite3.Error as exc:
                    group.refuse(exc)
                    if self._group is group:
                        self._group = None
                    return
        group.opened.set_result(None)
        await self._flush(group, lock)

    async def _flush(self, group: _Group, lock: asyncio.Lock) -> None:
        """Commit a group once the requests of this turn of the event loop have joined it."""
        if group.joining:
            await group.all_joined.wait()
        async with lock:
            if self._group is group:
                self._group = None
            if group.done.done():  # failed already (see _SqliteTransaction._abandon)
                return
            conn = self._connection("write")
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                group.fail(exc)
            else:
                self.commits += 1
                group.done.set_result(None)
                self._checkpointer.after_commit()

    async def ping(self) -> None:
        tx = await self.begin(write=False)
        try:
            await tx.fetchone("SELECT 1 AS ok")
        finally:
            await tx.rollback()

    async def close(self) -> None:
        group = self._group
        if group is not None and group.flusher is not None:
            await asyncio.wait([group.flusher])
        await self._checkpointer.close()
        if self._pid == os.getpid():
            for conn in self._conns.values():
                conn.close()
        self._conns = {}


@contextlib.contextmanager
def _released_on_error(lock: asyncio.Lock) -> Iterator[None]:
    """Starting a transaction failed: give the connection back; SQLite errors become 503."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        lock.release()
        raise Unavailable("the database is busy or unreachable; retry shortly") from exc
    except BaseException:
        lock.release()
        raise


class _Group:
    """Write transactions committed together; `done` resolves when their commit did."""

    __slots__ = ("all_joined", "done", "flusher", "joining", "opened")

    def __init__(self, opened: asyncio.Future[None], done: asyncio.Future[None]) -> None:
        self.opened = opened  # SQLite's write lock is ours (or could not be had)
        self.done = done
        self.joining = 0  # requests woken by `opened` that have not joined yet
        self.all_joined = asyncio.Event()
        self.flusher: asyncio.Future[None] | None = None

    def leave(self) -> None:
        """A waiting request joined the group (or gave up): the last one lets it commit."""
        self.joining -= 1
        if not self.joining:
            self.all_joined.set()

    def refuse(self, exc: BaseException) -> None:
        error = Unavailable("the database is busy or unreachable; retry shortly")
        error.__cause__ = exc
        self.opened.set_exception(error)
        self.opened.exception()  # retrieved: waiters re-raise it themselves
        self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            error = Unavailable("the database could not commit; retry shortly")
            error.__cause__ = exc
            self.done.set_exception(error)
            self.done.exception()  # a group nobody waits for must not warn


class _SqliteTransaction:
    """A read transaction, or one request's savepoint inside a group (see SqliteDatabase)."""

    __slots__ = ("_conn", "_group", "_lock", "_open")
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, lock: asyncio.Lock, group: _Group | None) -> None:
        self._conn, self._lock, self._open, self._group = conn, lock, True, group

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

    async def commit(self) -> None:
        if not self._open:
            return
        self._open = False
        group = self._group
        try:
            if group is None:
                self._conn.execute("COMMIT")
            else:
                self._conn.execute("RELEASE request")
        except sqlite3.Error as exc:
            self._abandon(exc)
            raise Unavailable("the database could not commit; retry shortly") from exc
        finally:
            self._lock.release()
        if group is not None:
            await asyncio.shield(group.done)  # acknowledged only once the group is durable

    async def rollback(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if self._group is None:
                self._conn.execute("ROLLBACK")
            else:
                self._conn.execute("ROLLBACK TO request")
                self._conn.execute("RELEASE request")
        except sqlite3.Error as exc:
            self._abandon(exc)
        finally:
            self._lock.release()

    def _abandon(self, exc: BaseException) -> None:
        """SQLite may end the whole transaction on an I/O error: then the group is lost."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
        if self._group is not None:
            self._group.fail(exc)
