"""Two processes' worth of connections share one pacer, on SQLite and PostgreSQL.

Each `Database` below is what one `serve` worker or instance holds: its own pool (or its own
SQLite connections), its own event-loop tasks, nothing shared with the other but the
database. Together they must keep the pace one process would.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.services.pacing import Pacer

pytestmark = pytest.mark.anyio

LIMIT, WINDOW = 10, 1.0
MARGIN = 0.2  # as bootstrap gives Graph's window: grants are recorded after they leave


async def test_two_processes_together_never_exceed_the_limit_in_any_window(
    database_url: str,
) -> None:
    databases = [connect(database_url, pool_size=2) for _ in range(2)]
    pacers = [
        Pacer(
            lambda db=db: SqlUnitOfWork(db, alone=True),
            name="graph-invitations",
            limit=LIMIT,
            window=WINDOW + MARGIN,
        )
        for db in databases
    ]
    grants: list[tuple[float, int]] = []

    async def invite(process: int) -> None:
        await pacers[process].acquire("tenant-a")
        grants.append((time.time(), process))

    started = time.time()
    try:
        await asyncio.gather(*(invite(i % 2) for i in range(24)))
        tx = await databases[0].begin(write=False)
        try:
            row = await tx.fetchone(
                "SELECT free_at FROM pacers WHERE name = :name", {"name": pacers[0].key("tenant-a")}
            )
        finally:
            await tx.rollback()
    finally:
        for db in databases:
            await db.close()

    stamps = sorted(t for t, _ in grants)
    assert len(stamps) == 24
    assert {process for _, process in grants} == {0, 1}  # both took turns
    worst = max(sum(1 for u in stamps if t <= u < t + WINDOW) for t in stamps)
    assert worst <= LIMIT
    # The stored state agrees with the answers: 24 turns reserved, none lost or shared.
    assert row is not None
    assert row["free_at"] >= int(started * 1_000_000) + 24 * pacers[0].interval_us
