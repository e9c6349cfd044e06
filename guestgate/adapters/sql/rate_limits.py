"""Rate-limit counters: one row per key and window, counted with an atomic upsert."""

from __future__ import annotations

from guestgate.adapters.sql.driver import Transaction
from guestgate.domain.throttle import Count

# One statement: a new key opens a window, an old window starts over, a current one counts
# one more. SQLite serialises writers; PostgreSQL locks the conflicting row, so parallel hits
# of one key are counted one after the other and each sees its own total.
_HIT = (
    "INSERT INTO rate_limits (name, hits, window_ends) VALUES (:name, 1, :ends)"
    " ON CONFLICT (name) DO UPDATE SET"
    " hits = CASE WHEN rate_limits.window_ends <= :now THEN 1 ELSE rate_limits.hits + 1 END,"
    " window_ends = CASE WHEN rate_limits.window_ends <= :now THEN :ends"
    " ELSE rate_limits.window_ends END"
    " RETURNING hits, window_ends"
)


class SqlRateLimits:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def hit(self, name: str, *, now_ms: int, window_ms: int) -> Count:
        """Count one hit of `name`; its count in the window, this hit included."""
        [row] = await self.tx.fetchall(
            _HIT, {"name": name, "now": now_ms, "ends": now_ms + window_ms}
        )
        return Count(hits=int(row["hits"]), window_ends=int(row["window_ends"]))

    async def get(self, name: str, *, now_ms: int) -> Count | None:
        row = await self.tx.fetchone(
            "SELECT hits, window_ends FROM rate_limits WHERE name = :name AND window_ends > :now",
            {"name": name, "now": now_ms},
        )
        return None if row is None else Count(int(row["hits"]), int(row["window_ends"]))

    async def refund(self, name: str, *, now_ms: int) -> None:
        """Take back one hit of the current window (it turned out to be no failure)."""
        await self.tx.execute(
            "UPDATE rate_limits SET hits = hits - 1"
            " WHERE name = :name AND window_ends > :now AND hits > 0",
            {"name": name, "now": now_ms},
        )

    async def purge(self, *, now_ms: int) -> int:
        """Forget counters whose window has ended; how many."""
        return await self.tx.execute(
            "DELETE FROM rate_limits WHERE window_ends <= :now", {"now": now_ms}
        )
