"""What repositories need from a database driver: transactions over ``:name`` SQL.

SQL is written once with ``:name`` placeholders. SQLite understands them natively
(sqlite.py); for PostgreSQL they are rewritten to asyncpg's ``$n`` once per statement text
and cached (postgres.py). A `Transaction` is the only way to run SQL; units of work own
commit and rollback. Both drivers raise `errors.IntegrityError` when a constraint refuses a write
and `guestgate.errors.Unavailable` when the database is busy or unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Row = Mapping[str, Any]
Params = Mapping[str, Any] | None


class Transaction(Protocol):
    dialect: str

    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def fetchone(self, sql: str, params: Params = None) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = None) -> Sequence[Row]: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class Database(Protocol):
    dialect: str

    # `alone`: a short write that commits by itself, never in a group commit (rate-limit
    # counters: rows every request touches, which two groups could lock in opposite order).
    async def begin(self, *, write: bool = True, alone: bool = False) -> Transaction: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...
