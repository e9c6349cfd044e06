"""One pooled asyncpg connection: ``:name`` placeholders, the error mapping, its transaction."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

import asyncpg

from guestgate.adapters.sql.driver import Params, Row
from guestgate.errors import IntegrityError, Unavailable

# A quoted literal (left as it is) or a ``:name`` placeholder (not a ``::type`` cast).
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")

# Errors after which the same request may well succeed: the server is gone, restarting or
# shedding load, or the transaction lost a deadlock or a serialization race.
RETRYABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # includes "connection was closed in the middle of operation"
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,  # deadlock, serialization failure
    asyncpg.exceptions.LockNotAvailableError,
    # New connections find no database (dropped, or renamed during a restore): /readyz says so.
    asyncpg.exceptions.InvalidCatalogNameError,
)
# After these the connection's state is unknown: it is closed, not given back.
BROKEN: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # the protocol lost track after a server error
)
# Everything that makes a request a 503 rather than a 500.
UNAVAILABLE = (*RETRYABLE, *BROKEN)


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


def unavailable(exc: BaseException, message: str) -> Unavailable:
    error = Unavailable(message, code="DatabaseUnavailable")
    error.__cause__ = exc
    return error


class PostgresTransaction:
    """One pooled connection in turn: a read, or the session a group commits on (postgres.py)."""

    __slots__ = ("_conn", "_open", "_pool", "_turns", "broken")
    dialect = "postgresql"

    def __init__(
        self, pool: asyncpg.Pool, conn: asyncpg.Connection, turns: asyncio.Semaphore
    ) -> None:
        self._pool, self._conn, self._turns = pool, conn, turns
        self._open, self.broken = True, False

    async def release(self) -> None:
        self._open = False
        try:
            if self.broken:
                self._conn.terminate()  # the pool opens a new connection in its place
            await self._pool.release(self._conn)
        except UNAVAILABLE:
            pass  # a connection the pool could not reset is closed by the pool itself
        finally:
            self._turns.release()

    async def _call(
        self,
        method: str,
        sql: str,
        params: Params,
        outage: str = "the database is unreachable; retry shortly",
    ) -> Any:
        text, names = to_asyncpg(sql)
        args = [params[name] for name in names] if params else []
        try:
            return await getattr(self._conn, method)(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc  # at COMMIT: a deferred constraint
        except asyncpg.exceptions.DataError:
            raise  # a value of the wrong type for its column: a bug, not an outage
        except UNAVAILABLE as exc:
            self.broken = self.broken or isinstance(exc, BROKEN)
            raise unavailable(exc, outage) from exc

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
            status = await self._call(
                "execute", "COMMIT", None, "the database could not commit; retry shortly"
            )
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
            if not self.broken and self._conn.is_in_transaction():
                await self._conn.execute("ROLLBACK")
        except UNAVAILABLE:
            self.broken = True  # closing it ends the transaction on the server
        finally:
            await self.release()
