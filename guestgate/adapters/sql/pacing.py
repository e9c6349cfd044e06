"""Pacers: one row per pacer, the time its next turn is free, taken with an atomic upsert."""

from __future__ import annotations

from guestgate.adapters.sql.driver import Transaction

# One statement reserves the next turn: it starts when the last one reserved is free, or
# now if that is past, and the turn after it is free one interval later. SQLite serialises
# writers; PostgreSQL locks the row, so parallel reservations queue one behind the other and
# each gets its own turn. CASE rather than max()/GREATEST(): it reads the same on both.
_RESERVE = (
    "INSERT INTO pacers (name, free_at) VALUES (:name, :next)"
    " ON CONFLICT (name) DO UPDATE SET free_at ="
    " CASE WHEN pacers.free_at > :now THEN pacers.free_at ELSE :now END + :interval"
    " RETURNING free_at"
)


class SqlPacing:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def reserve(self, name: str, *, now_us: int, interval_us: int) -> int:
        """Reserve the next turn of `name`, `interval_us` after the one before: its start
        (microseconds since the epoch)."""
        [row] = await self.tx.fetchall(
            _RESERVE,
            {"name": name, "now": now_us, "interval": interval_us, "next": now_us + interval_us},
        )
        return int(row["free_at"]) - interval_us
