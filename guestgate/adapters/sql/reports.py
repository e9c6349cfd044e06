"""The report queries: counts over a tenant's invitations and guests, never a row per row.

Timestamps are fixed-width ISO text (domain/timestamps.py), so windows are plain text
comparisons on the indexes that start with (tenant_id, ...) on both databases. What a report
would otherwise compute for every row on every call is stored when it happens (migration
0023): an invitation's time to accept in exact whole microseconds (`accept_us`, written when
it is redeemed, by `micros_between` below) and a guest's last sign-in on its users row. A
percentile is then the value at its rank in one index range sorted by an integer, the rank
computed by the caller with integers (PostgreSQL's percentile_disc multiplies floats, which
can land one row off); the sign-in categories are five range counts on one index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from guestgate.adapters.sql.driver import Transaction
from guestgate.domain.invitations import EXPIRED, PENDING, STATUSES

_IN_WINDOW = "tenant_id = :tid AND created_at >= :start AND created_at < :end"
# unixepoch() (SQLite 3.38) parses a time in about half of strftime's time.
_EPOCH = "unixepoch({})" if sqlite3.sqlite_version_info >= (3, 38) else "strftime('%s', {})"


def micros_between(dialect: str, later: str, earlier: str) -> str:
    """SQL for the whole microseconds from `earlier` to `later` (stored times; a column or a
    bound name): exact on both databases, SQLite from the whole seconds (strftime('%s') of a
    time with its fraction rounds) plus the fraction's digits."""
    if dialect == "sqlite":
        return (
            f"((CAST({_EPOCH.format(f'substr({later}, 1, 19)')} AS INTEGER)"
            f" - CAST({_EPOCH.format(f'substr({earlier}, 1, 19)')} AS INTEGER)) * 1000000"
            f" + CAST(substr({later}, 21, 6) AS INTEGER)"
            f" - CAST(substr({earlier}, 21, 6) AS INTEGER))"
        )
    return (
        f"CAST(EXTRACT(EPOCH FROM (CAST({later} AS timestamptz)"
        f" - CAST({earlier} AS timestamptz))) * 1000000 AS BIGINT)"
    )


# Up to this many accepted invitations in a window, the time to accept is ranked by sorting
# the window's durations; past it, by walking the tenant's in duration order, whose cost is
# the rank's share of all the tenant's accepted invitations, not the window's length (at
# 1,000,000 invitations over two years the walk is as fast as the sort at 90 days and several
# times faster at a year).
SORT_AT_MOST = 50_000
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
        sqlite = tx.dialect == "sqlite"
        self.status_hint = " INDEXED BY ix_invitations_tenant_status_created" if sqlite else ""
        self.accepted_hint = " INDEXED BY ix_invitations_accepted" if sqlite else ""
        self._in_snapshot = False

    async def _snapshot(self) -> None:
        """On PostgreSQL, every statement of a report in one read-only snapshot, with room to
        sort or group a window's rows in memory.

        A read there runs each statement on its own (postgres.py), so a report's counts and
        the ranks taken from them could come from different moments (an accept in between
        moves a rank past the rows left); and `SET LOCAL` outside a transaction does
        nothing: at the default 4 MB a 90-day window's domains (123,000 rows at 1,000,000
        invitations) were sorted in a temporary file (114-165 ms) rather than hashed
        (52-61 ms). The transaction ends when the connection goes back to the pool.
        """
        if self.tx.dialect == "postgresql" and not self._in_snapshot:
            self._in_snapshot = True
            await self.tx.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            await self.tx.execute("SET LOCAL work_mem = '32MB'")

    def _window(self, tenant_id: str, start: str, end: str) -> dict[str, Any]:
        return {"tid": tenant_id, "start": start, "end": end}

    async def outcomes(self, tenant_id: str, *, start: str, end: str, now: str) -> dict[str, int]:
        """Invitations created in [start, end) by state: their status, and Expired for a
        pending one past its expiry at `now`."""
        await self._snapshot()
        # One range of the (tenant_id, status, created_at, id, expires_at) index per status,
        # counted in index order: no row read, no sort.
        window = self._window(tenant_id, start, end)
        names = {f"s{i}": s for i, s in enumerate(STATUSES)}
        rows = await self.tx.fetchall(
            "SELECT status, COUNT(*) AS n FROM invitations"  # noqa: S608 (bound names)
            " WHERE tenant_id = :tid AND status IN (" + ", ".join(f":{n}" for n in names) + ")"
            " AND created_at >= :start AND created_at < :end GROUP BY status",
            window | names,
        )
        found = {str(r["status"]): int(r["n"]) for r in rows}
        pending = found.get(PENDING, 0)
        if pending:
            row = await self.tx.fetchone(
                "SELECT COUNT(*) AS n FROM invitations WHERE tenant_id = :tid"
                " AND status = 'PendingAcceptance' AND created_at >= :start"
                " AND created_at < :end AND expires_at <= :now",
                window | {"now": now},
            )
            expired = int(row["n"]) if row else 0
            found[PENDING] = pending - expired
            found[EXPIRED] = found.get(EXPIRED, 0) + expired
        return {k: v for k, v in found.items() if v}

    async def accept_micros_at(
        self, tenant_id: str, *, start: str, end: str, ranks: Sequence[int], accepted: int
    ) -> list[int]:
        """The time to accept (µs) at each rank (1-based) among the `accepted` invitations
        created in [start, end) and accepted, fastest first."""
        await self._snapshot()
        window = self._window(tenant_id, start, end)
        in_window = (
            " WHERE tenant_id = :tid AND status = 'Completed'"
            " AND created_at >= :start AND created_at < :end"
        )
        if accepted <= SORT_AT_MOST:
            # The window's stored durations (migration 0023), read from the (tenant_id,
            # status, created_at, ..., accept_us) index and sorted once for every rank.
            names = {f"r{i}": r for i, r in enumerate(ranks)}
            rows = await self.tx.fetchall(
                "SELECT rn, us FROM (SELECT accept_us AS us,"  # noqa: S608 (fixed text)
                " ROW_NUMBER() OVER (ORDER BY accept_us) AS rn FROM invitations"
                f"{self.status_hint}{in_window}) AS ranked"
                " WHERE rn IN (" + ", ".join(f":{n}" for n in names) + ")",
                window | names,
            )
            found = {int(r["rn"]): int(r["us"]) for r in rows}
            return [found[r] for r in ranks]
        # A long window: the (tenant_id, status, accept_us, created_at) index walked in
        # duration order, the window checked on the way, up to each rank; nothing sorted.
        # A rank past the middle is walked to from the slowest end (the rank-th fastest is the
        # (accepted - rank + 1)-th slowest, ties being equal values): p90 reads a tenth of the
        # entries instead of nine tenths. `accepted` is counted in this report's snapshot.
        values = []
        for rank in ranks:
            from_top = rank > accepted - rank + 1
            row = await self.tx.fetchone(
                f"SELECT accept_us FROM invitations{self.accepted_hint}{in_window}"  # noqa: S608 (fixed text)
                f" ORDER BY accept_us{' DESC' if from_top else ''} LIMIT 1 OFFSET :skip",
                window | {"skip": accepted - rank if from_top else rank - 1},
            )
            assert row is not None, rank
            values.append(int(row["accept_us"]))
        return values

    async def top_keys(
        self, tenant_id: str, by: str, *, start: str, end: str, limit: int
    ) -> list[tuple[str, int]]:
        """The `limit` requesters or domains with the most invitations in the window (ties by
        name); a requester key '' stands for invitations that name none."""
        await self._snapshot()
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
        await self._snapshot()
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
        """(UTC day, invitations) in the window, for the days that have any."""
        await self._snapshot()
        # One range count of the (tenant_id, created_at, id) index per day: nothing parsed,
        # grouped or sorted per row.
        days, params = [], self._window(tenant_id, start, end)
        for i, (day, lo, hi) in enumerate(_days(start, end)):
            text = "CAST(:{}{} AS VARCHAR(27))" if i == 0 else ":{}{}"
            days.append(", ".join(text.format(c, i) for c in "dlh"))
            params |= {f"d{i}": day, f"l{i}": lo, f"h{i}": hi}
        rows = await self.tx.fetchall(
            "WITH days (day, lo, hi) AS (VALUES (" + "), (".join(days) + "))"  # noqa: S608 (bound names)
            " SELECT day, (SELECT COUNT(*) FROM invitations WHERE tenant_id = :tid"
            " AND created_at >= days.lo AND created_at < days.hi) AS n FROM days",
            params,
        )
        return [(str(r["day"]), int(r["n"])) for r in rows if r["n"]]

    async def pending_counts(self, tenant_id: str, *, before: str, now: str) -> tuple[int, int]:
        """(pending invitations created before `before`, how many of them are past expiry)."""
        await self._snapshot()
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
        await self._snapshot()
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
        await self._snapshot()
        # Five range counts on (tenant_id, user_type, last_sign_in_at) (migration 0023): no
        # row read, nothing joined.
        guests = "SELECT COUNT(*) FROM users WHERE tenant_id = :tid AND user_type = 'Guest' AND"
        row = await self.tx.fetchone(
            f"SELECT ({guests} last_sign_in_at IS NULL) AS c0,"
            f" ({guests} last_sign_in_at > :t31) AS c1,"
            f" ({guests} last_sign_in_at > :t91 AND last_sign_in_at <= :t31) AS c2,"
            f" ({guests} last_sign_in_at > :t181 AND last_sign_in_at <= :t91) AS c3,"
            f" ({guests} last_sign_in_at <= :t181) AS c4",
            {"tid": tenant_id, "t31": after[0], "t91": after[1], "t181": after[2]},
        )
        assert row is not None
        return {i: int(row[f"c{i}"]) for i in range(5)}


def _days(start: str, end: str) -> list[tuple[str, str, str]]:
    """(UTC day, from, to) of each day [start, end) touches, cut to [start, end)."""
    found: list[tuple[str, str, str]] = []
    day = date.fromisoformat(start[:10])
    while True:
        lo = f"{day.isoformat()}T00:00:00.000000Z"
        if lo >= end:
            return found
        hi = f"{(day + timedelta(days=1)).isoformat()}T00:00:00.000000Z"
        found.append((day.isoformat(), max(lo, start), min(hi, end)))
        day += timedelta(days=1)
