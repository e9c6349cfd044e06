"""How full a delivery queue is: three aggregates a scrape of /metrics reads.

The counts walk the (status, next_attempt_at) index of each queue; the oldest entry reads
the pending rows only, which are few unless deliveries are stuck (when the number matters).
"""

from __future__ import annotations

from guestgate.adapters.sql.driver import Transaction
from guestgate.domain.backlog import QueueState

_QUEUES = frozenset({"outbox", "webhook_deliveries"})


async def queue_state(tx: Transaction, table: str) -> QueueState:
    assert table in _QUEUES  # a name of ours, never a caller's
    row = await tx.fetchone(
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE status = 'pending') AS pending,"  # noqa: S608
        f" (SELECT MIN(created_at) FROM {table} WHERE status = 'pending') AS oldest,"
        f" (SELECT COUNT(*) FROM {table} WHERE status = 'dead') AS dead"
    )
    assert row is not None
    return QueueState(
        pending=int(row["pending"]), oldest_pending_at=row["oldest"], dead=int(row["dead"])
    )
