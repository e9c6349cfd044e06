"""PostgreSQL through a small asyncpg pool (about four connections per worker).

asyncpg speaks the wire protocol itself and prepares every statement once per connection;
measured here, a four-statement invitation transaction costs its client about two thirds
of what it cost through psycopg's async connections (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

import asyncpg

from guestgate.adapters.sql.database import IntegrityError, Params, Row, Transaction
from guestgate.errors import Unavailable

# A quoted literal (left as it is) or a ``:name`` placeholder (not a ``::type`` cast).
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
CONNECT_SECONDS = 5.0  # to open a connection, or to wait for a free one
STATEMENT_CACHE = 1024  # prepared statements kept per connection (the app has a few hundred)

# Errors after which the same request may well succeed: the server is gone, restarting or
# shedding load, or the transaction lost a deadlock or a serialization race.
_RETRYABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # includes "connection was closed in the middle of operation"
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,  # deadlock, serialization failure
    asyncpg.exceptions.LockNotAvailableError,
)
# After these the connection's state is unknown: it is closed, not given back.
_BROKEN: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # the protocol lost track after a server error
)


@lru_cache(maxsize=1024)
def to_asyncpg(sql: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite ``:name`` placeholders to ``$n``; the names in the order of their numbers."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql), tuple(names)


def _unavailable(exc: BaseException, message: str) -> Unavailable:
    error = Unavailable(message, code="DatabaseUnavailable")
    error.__cause__ = exc
    return error


async def _reset(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool.

    asyncpg's default reset runs a query on every release (unlisten, reset settings, unlock
    advisory locks); guestgate keeps no session state, so only a transaction a cancelled
    request left open has to go.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PostgresDatabase:
    """A small asyncpg pool per process and event loop."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._turns = asyncio.Semaphore(pool_size)

    async def _get_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            # asyncpg's pool lets a newcomer take a connection ahead of those already
            # waiting, which showed as a doubled p99 under load; the semaphore (first come,
            # first served) hands each freed connection to the longest waiter instead.
            self._turns = asyncio.Semaphore(self.pool_size)
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

    async def begin(self, *, write: bool = True) -> Transaction:
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
        except _RETRYABLE as exc:
            raise _unavailable(exc, "the database is unreachable; retry shortly") from exc
        tx = _PostgresTransaction(pool, conn, turns)
        if write:
            # Reads run each statement on its own: under READ COMMITTED a transaction would
            # give them nothing (every statement takes a new snapshot) and cost two round trips.
            try:
                await tx.execute("BEGIN")
            except BaseException:
                await tx.release()
                raise
        return tx

    async def ping(self) -> None:
        tx = await self.begin(write=False)
        try:
            await tx.fetchone("SELECT 1 AS ok")
        finally:
            await tx.rollback()

    async def close(self) -> None:
        if self._pool is not None and self._pool_loop is asyncio.get_running_loop():
            await self._pool.close()
        self._pool = None


class _PostgresTransaction:
    __slots__ = ("_broken", "_conn", "_open", "_pool", "_turns")
    dialect = "postgresql"

    def __init__(
        self, pool: asyncpg.Pool, conn: asyncpg.Connection, turns: asyncio.Semaphore
    ) -> None:
        self._pool, self._conn, self._turns = pool, conn, turns
        self._open, self._broken = True, False

    async def release(self) -> None:
        self._open = False
        try:
            if self._broken:
                self._conn.terminate()  # the pool opens a new connection in its place
            await self._pool.release(self._conn)
        except (*_RETRYABLE, *_BROKEN):
            pass  # a connection the pool could not reset is closed by the pool itself
        finally:
            self._turns.release()

    async def _call(self, method: str, sql: str, params: Params) -> Any:
        text, names = to_asyncpg(sql)
        args = [params[name] for name in names] if params else []
        try:
            return await getattr(self._conn, method)(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc
        except asyncpg.exceptions.DataError:
            raise  # a value of the wrong type for its column: a bug, not an outage
        except (*_RETRYABLE, *_BROKEN) as exc:
            self._broken = self._broken or isinstance(exc, _BROKEN)
            raise _unavailable(exc, "the database is unreachable; retry shortly") from exc

    async def execute(self, sql: str, params: Params = None) -> int:
        status: str = await self._call("execute", sql, params)
        count = status.rpartition(" ")[2]  # "INSERT 0 1", "UPDATE 3", "DELETE 0"
        return int(count) if count.isdigit() else -1

    async def fetchone(self, sql: str, params: Params = None) -> Row | None:
        return cast("Row | None", await self._call("fetchrow", sql, params))

    async def fetchall(self, sql: str, params: Params = None) -> Sequence[Row]:
        return cast("Sequence[Row]", await self._call("fetch", sql, params))

    async def commit(self) -> None:
        if not self._open:
            return
        try:
            status = await self._conn.execute("COMMIT")
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc  # a deferred constraint, checked at commit
        except (*_RETRYABLE, *_BROKEN) as exc:
            self._broken = self._broken or isinstance(exc, _BROKEN)
            raise _unavailable(exc, "the database could not commit; retry shortly") from exc
        finally:
            await self.release()
        if status != "COMMIT":
            # PostgreSQL answers ROLLBACK to the COMMIT of a transaction a statement broke:
            # whoever caught that statement's error must not report success.
            raise RuntimeError(f"the transaction had failed; COMMIT answered {status}")

    async def rollback(self) -> None:
        if not self._open:
            return
        try:
            if not self._broken and self._conn.is_in_transaction():
                await self._conn.execute("ROLLBACK")
        except (*_RETRYABLE, *_BROKEN):
            self._broken = True  # closing it ends the transaction on the server
        finally:
            await self.release()
