"""PostgreSQL through a small psycopg 3 async pool (about four connections per worker)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from guestgate.adapters.sql.database import IntegrityError, Params, Row, Transaction
from guestgate.errors import Unavailable

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """Rewrite ``:name`` placeholders to ``%(name)s`` (and escape literal ``%``)."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


class PostgresDatabase:
    """A small async psycopg pool per process (about four connections per worker)."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.pool_size = pool_size
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]] | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None

    async def _get_pool(self) -> AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            pool: AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]] = (
                AsyncConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs={"row_factory": dict_row, "autocommit": False, "connect_timeout": 5},
                    timeout=5,
                    open=False,
                )
            )
            await pool.open(wait=False)
            self._pool, self._pool_loop = pool, loop
        return self._pool

    async def begin(self, *, write: bool = True) -> Transaction:
        pool = await self._get_pool()
        try:
            conn = await pool.getconn()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise Unavailable(
                "the database is unreachable; retry shortly", code="DatabaseUnavailable"
            ) from exc
        return _PostgresTransaction(pool, conn)

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
    __slots__ = ("_conn", "_open", "_pool")
    dialect = "postgresql"

    def __init__(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]],
        conn: psycopg.AsyncConnection[dict[str, Any]],
    ) -> None:
        self._pool, self._conn, self._open = pool, conn, True

    async def _run(self, sql: str, params: Params) -> psycopg.AsyncCursor[dict[str, Any]]:
        try:
            return await self._conn.execute(to_psycopg(sql), params or {})
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except psycopg.OperationalError as exc:
            raise Unavailable(
                "the database is unreachable; retry shortly", code="DatabaseUnavailable"
            ) from exc

    async def execute(self, sql: str, params: Params = None) -> int:
        return (await self._run(sql, params)).rowcount

    async def fetchone(self, sql: str, params: Params = None) -> Row | None:
        return await (await self._run(sql, params)).fetchone()

    async def fetchall(self, sql: str, params: Params = None) -> Sequence[Row]:
        return await (await self._run(sql, params)).fetchall()

    async def _finish(self, commit: bool) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if commit:
                await self._conn.commit()
            else:
                await self._conn.rollback()
        except psycopg.OperationalError as exc:
            if commit:
                raise Unavailable(
                    "the database could not commit; retry shortly", code="DatabaseUnavailable"
                ) from exc
        finally:
            await self._pool.putconn(self._conn)

    async def commit(self) -> None:
        await self._finish(True)

    async def rollback(self) -> None:
        await self._finish(False)
