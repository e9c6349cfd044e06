"""The report queries: counts over a tenant's invitations and guests, never a row per row.

Timestamps are fixed-width ISO text (domain/timestamps.py), so windows are plain text
comparisons on the (tenant_id, created_at) index on both databases. Durations are exact
whole microseconds: SQLite from strftime('%s') of the whole seconds (given the fraction it
rounds) plus the fraction's digits, PostgreSQL from
the text cast to timestamptz; a percentile is the value at its rank (ROW_NUMBER() in one sort),
the rank computed by the caller with integers (PostgreSQL's percentile_disc multiplies
floats, which can land one row off).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.driver import Transaction

_IN_WINDOW = "tenant_id = :tid AND created_at >= :start AND created_at < :end"
# unixepoch() (SQLite 3.38) parses a time in about half of strftime's time.
_EPOCH = "unixepoch({})" if sqlite3.sqlite_version_info >= (3, 38) else "strftime('%s', {})"
_MICROS = {
    "sqlite": (
        "((CAST(" + _EPOCH.format("substr(completed_at, 1, 19)") + " AS INTEGER)"
        " - CAST(" + _EPOCH.format("substr(created_at, 1, 19)") + " AS INTEGER)) * 1000000"
        " + CAST(substr(completed_at, 21, 6) AS INTEGER)"
        " - CAST(substr(created_at, 21, 6) AS INTEGER))"
    ),
    "postgresql": (
        "CAST(EXTRACT(EPOCH FROM (CAST(completed_at AS timestamptz)"
        " - CAST(created_at AS timestamptz))) * 1000000 AS BIGINT)"
    ),
}
_STATE = (
    "CASE WHEN status = 'PendingAcceptance' AND expires_at IS NOT NULL AND expires_at <= :now"
    " THEN 'Expired' ELSE status END"
)
# The text a breakdown groups by: the requester as given, or the address's domain.
_KEYS = {
    "requester": {
        "sqlite": "COALESCE(requested_by, '')",
        "postgresql": "COALESCE(requested_by, '')",
    },
    "domain": {
        "sqlite": "substr(email, instr(email, '@') + 1)",
        "postgresql": "split_part(email, '@', 2)",
    },
}


class SqlReports:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        # SQLite's planner prefers the narrower (tenant, status, created_at) index for a
        # status condition, then reads every row from the table for the other columns; the
        # window's own index holds them all (migration 0019).
        self.window_table = (
            "invitations INDEXED BY ix_invitations_reports"
            if tx.dialect == "sqlite"
            else "invitations"
        )

    def _window(self, tenant_id: str, start: str, end: str) -> dict[str, Any]:
        return {"tid": tenant_id, "start": start, "end": end}

    async def outcomes(self, tenant_id: str, *, start: str, end: str, now: str) -> dict[str, int]:
        """Invitations created in [start, end) by state: their status, and Expired for a
        pending one past its expiry at `now`."""
        rows = await self.tx.fetchall(
            f"SELECT {_STATE} AS state, COUNT(*) AS n FROM {self.window_table}"  # noqa: S608 (fixed text)
            f" WHERE {_IN_WINDOW} GROUP BY 1",
            self._window(tenant_id, start, end) | {"now": now},
        )
        return {str(r["state"]): int(r["n"]) for r in rows}

    async def accept_micros_at(
        self, tenant_id: str, *, start: str, end: str, ranks: Sequence[int]
    ) -> list[int]:
        """The time to accept (µs) at each rank (1-based) among the invitations created in
        [start, end) and accepted, fastest first: one pass and one sort for every rank."""
        names = {f"r{i}": r for i, r in enumerate(ranks)}
        rows = await self.tx.fetchall(
            "SELECT rn, us FROM (SELECT us, ROW_NUMBER() OVER (ORDER BY us) AS rn FROM"  # noqa: S608
            f" (SELECT {_MICROS[self.tx.dialect]} AS us FROM {self.window_table}"
            f" WHERE {_IN_WINDOW} AND status = 'Completed') AS accepted) AS ranked"
            " WHERE rn IN (" + ", ".join(f":{n}" for n in names) + ")",
            self._window(tenant_id, start, end) | names,
        )
        found = {int(r["rn"]): int(r["us"]) for r in rows}
        return [found[r] for r in ranks]

    async def top_keys(
        self, tenant_id: str, by: str, *, start: str, end: str, limit: int
    ) -> list[tuple[str, int]]:
        """The `limit` requesters or domains with the most invitations in the window (ties by
        name); a requester key '' stands for invitations that name none."""
        key = _KEYS[by][self.tx.dialect]
        # Ties in code point order on both databases (PostgreSQL's default collation may not be).
        order = f'{key} COLLATE "C"' if self.tx.dialect == "postgresql" else "k"
        rows = await self.tx.fetchall(
            f"SELECT {key} AS k, COUNT(*) AS n FROM {self.window_table}"  # noqa: S608 (fixed text)
            f" WHERE {_IN_WINDOW} GROUP BY 1 ORDER BY n DESC, {order} LIMIT :limit",
            self._window(tenant_id, start, end) | {"limit": limit},
        )
        return [(str(r["k"]), int(r["n"])) for r in rows]

    async def per_day(
        self, tenant_id: str, by: str, keys: Sequence[str], *, start: str, end: str
    ) -> list[tuple[str, str, int]]:
        """(UTC day, key, invitations) of the given keys in the window."""
        if not keys:
            return []
        key = _KEYS[by][self.tx.dialect]
        names = {f"k{i}": k for i, k in enumerate(keys)}
        rows = await self.tx.fetchall(
            f"SELECT substr(created_at, 1, 10) AS day, {key} AS k, COUNT(*) AS n"  # noqa: S608
            f" FROM {self.window_table} WHERE {_IN_WINDOW} AND {key} IN ("
            + ", ".join(f":{n}" for n in names)
            + ") GROUP BY 1, 2",
            self._window(tenant_id, start, end) | names,
        )
        return [(str(r["day"]), str(r["k"]), int(r["n"])) for r in rows]

    async def day_totals(self, tenant_id: str, *, start: str, end: str) -> list[tuple[str, int]]:
        """(UTC day, invitations) in the window."""
        rows = await self.tx.fetchall(
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS n FROM invitations"  # noqa: S608
            f" WHERE {_IN_WINDOW} GROUP BY 1",
            self._window(tenant_id, start, end),
        )
        return [(str(r["day"]), int(r["n"])) for r in rows]

    async def pending_counts(self, tenant_id: str, *, before: str, now: str) -> tuple[int, int]:
        """(pending invitations created before `before`, how many of them are past expiry)."""
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN expires_at IS NOT NULL"
            " AND expires_at <= :now THEN 1 ELSE 0 END), 0) AS expired FROM invitations"
            " WHERE tenant_id = :tid AND status = 'PendingAcceptance' AND created_at < :before",
            {"tid": tenant_id, "before": before, "now": now},
        )
        return (int(row["n"]), int(row["expired"])) if row else (0, 0)

    async def pending_page(
        self,
        tenant_id: str,
        *,
        before: str,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Pending invitations created before `before`, oldest first, after a keyset position
        (created_at, id); `limit` rows."""
        params: dict[str, Any] = {"tid": tenant_id, "before": before, "limit": limit}
        keyset = ""
        if after is not None:
            keyset = " AND (i.created_at > :a_at OR (i.created_at = :a_at AND i.id > :a_id))"
            params["a_at"], params["a_id"] = after
        rows = await self.tx.fetchall(
            "SELECT i.id, i.user_id, i.email, i.requested_by, i.created_at, i.expires_at,"  # noqa: S608 (fixed text)
            " u.display_name FROM invitations i JOIN users u ON u.id = i.user_id"
            " WHERE i.tenant_id = :tid AND i.status = 'PendingAcceptance'"
            " AND i.created_at < :before" + keyset + " ORDER BY i.created_at, i.id LIMIT :limit",
            params,
        )
        return [dict(r) for r in rows]

    async def sign_in_counts(self, tenant_id: str, *, after: Sequence[str]) -> dict[int, int]:
        """The tenant's guests by category: 0 without a sign-in, then 1, 2, 3 for a last
        sign-in later than `after[0]`, `[1]`, `[2]`, and 4 for the rest."""
        # One row of running counts, not a GROUP BY: no sort of a row per guest. On SQLite
        # the guests are read in id order (migration 0021), so each look-up of a last
        # sign-in lands next to the one before instead of anywhere in its index.
        hint = " INDEXED BY ix_users_tenant_type_id" if self.tx.dialect == "sqlite" else ""
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS total, COUNT(a.last_sign_in_at) AS seen,"  # noqa: S608 (fixed text)
            " COALESCE(SUM(CASE WHEN a.last_sign_in_at > :t31 THEN 1 ELSE 0 END), 0) AS d31,"
            " COALESCE(SUM(CASE WHEN a.last_sign_in_at > :t91 THEN 1 ELSE 0 END), 0) AS d91,"
            " COALESCE(SUM(CASE WHEN a.last_sign_in_at > :t181 THEN 1 ELSE 0 END), 0) AS d181"
            f" FROM users u{hint} LEFT JOIN sign_in_activity a ON a.user_id = u.id"
            " WHERE u.tenant_id = :tid AND u.user_type = 'Guest'",
            {"tid": tenant_id, "t31": after[0], "t91": after[1], "t181": after[2]},
        )
        assert row is not None
        total, seen = int(row["total"]), int(row["seen"])
        d31, d91, d181 = int(row["d31"]), int(row["d91"]), int(row["d181"])
        return {0: total - seen, 1: d31, 2: d91 - d31, 3: d181 - d91, 4: seen - d181}
