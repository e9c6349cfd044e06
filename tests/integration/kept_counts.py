"""The kept counts of users per state (schema_counts.py) against a recount of the users."""

from __future__ import annotations

from guestgate.adapters.sql.driver import Database

Counts = dict[tuple[str, str, str], int]


async def kept_and_recounted(db: Database) -> tuple[Counts, Counts]:
    """Every tenant's kept counts (summed over shards, zeros left out) and a GROUP BY."""
    tx = await db.begin(write=False)
    try:
        kept = await tx.fetchall(
            "SELECT tenant_id, user_type, state, SUM(n) AS n FROM guest_state_counts"
            " GROUP BY tenant_id, user_type, state",
            {},
        )
        grouped = await tx.fetchall(
            "SELECT tenant_id, user_type, invitation_state AS state, COUNT(*) AS n FROM users"
            " GROUP BY tenant_id, user_type, invitation_state",
            {},
        )
    finally:
        await tx.rollback()

    def counts(rows: list[object]) -> Counts:
        found = {(r["tenant_id"], r["user_type"], r["state"]): int(r["n"]) for r in rows}  # type: ignore[index]
        return {k: n for k, n in found.items() if n}

    return counts(list(kept)), counts(list(grouped))


async def assert_counts_kept(db: Database) -> None:
    kept, recounted = await kept_and_recounted(db)
    assert kept == recounted
