"""The event log: events numbered per tenant, written in the transaction of their change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.events import Event, numbered

# The transaction-level advisory lock the numbering pass holds on PostgreSQL (migrate.py
# holds 736500001 while it migrates).
NUMBERING_LOCK = 736500002


def _event(row: Row) -> Event:
    return Event(
        id=row["id"],
        tenant_id=row["tenant_id"],
        sequence=None if row["sequence"] is None else int(row["sequence"]),
        type=row["type"],
        occurred_at=row["occurred_at"],
        body=row["body"],
    )


class SqlEventLog:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def number_pending(self, limit: int) -> int:
        """Number events written since the last pass, in the order they are seen; returns how
        many. Each tenant's counter row is locked until this transaction ends, so numbers
        commit in order and a reader that saw number n has seen every number below it.

        On PostgreSQL one worker numbers at a time: a pass that finds another one running
        returns 0 at once rather than hold a pooled connection while it waits on the
        counter row (the running one goes on until nothing is left).
        """
        postgres = self.tx.dialect == "postgresql"
        if postgres:
            turn = await self.tx.fetchone(
                "SELECT pg_try_advisory_xact_lock(:key) AS mine", {"key": NUMBERING_LOCK}
            )
            if turn is None or not turn["mine"]:
                return 0
        rows = await self.tx.fetchall(
            "SELECT id, tenant_id, body FROM events WHERE sequence IS NULL"
            " ORDER BY occurred_at, id LIMIT :limit",
            {"limit": limit},
        )
        by_tenant: dict[str, list[Row]] = {}
        for row in rows:
            by_tenant.setdefault(row["tenant_id"], []).append(row)
        for tenant_id in sorted(by_tenant):  # one order for every worker: no deadlock
            pending = by_tenant[tenant_id]
            counter = await self.tx.fetchone(
                "INSERT INTO event_sequences (tenant_id, last_sequence) VALUES (:tid, :n)"
                " ON CONFLICT (tenant_id) DO UPDATE"
                " SET last_sequence = event_sequences.last_sequence + :n"
                " RETURNING last_sequence",
                {"tid": tenant_id, "n": len(pending)},
            )
            assert counter is not None
            first = int(counter["last_sequence"]) - len(pending) + 1
            sequences = [first + offset for offset in range(len(pending))]
            bodies = [numbered(row["body"], n) for row, n in zip(pending, sequences, strict=True)]
            ids = [row["id"] for row in pending]
            if postgres:  # one statement for the tenant's batch
                await self.tx.execute(
                    "UPDATE events SET sequence = v.seq, body = v.body"
                    " FROM unnest(:ids::varchar[], :seqs::bigint[], :bodies::text[])"
                    " AS v(id, seq, body) WHERE events.id = v.id",
                    {"ids": ids, "seqs": sequences, "bodies": bodies},
                )
                continue
            for event_id, n, body in zip(ids, sequences, bodies, strict=True):
                await self.tx.execute(
                    "UPDATE events SET sequence = :seq, body = :body WHERE id = :id",
                    {"seq": n, "body": body, "id": event_id},
                )
        return len(rows)

    async def last_sequence(self, tenant_id: str) -> int:
        row = await self.tx.fetchone(
            "SELECT last_sequence FROM event_sequences WHERE tenant_id = :tid", {"tid": tenant_id}
        )
        return 0 if row is None else int(row["last_sequence"])

    async def add(self, event: Event) -> None:
        await self.tx.execute(
            "INSERT INTO events (id, tenant_id, sequence, type, occurred_at, body)"
            " VALUES (:id, :tid, :seq, :type, :at, :body)",
            {
                "id": event.id,
                "tid": event.tenant_id,
                "seq": event.sequence,
                "type": event.type,
                "at": event.occurred_at,
                "body": event.body,
            },
        )

    async def after(
        self, tenant_id: str, *, after: int, types: Sequence[str], limit: int
    ) -> Sequence[Event]:
        """The tenant's events numbered above `after`, in order (of `types`, if given)."""
        sql = "SELECT * FROM events WHERE tenant_id = :tid AND sequence > :after"
        params: dict[str, Any] = {"tid": tenant_id, "after": after, "limit": limit}
        if types:
            params |= {f"t{i}": t for i, t in enumerate(types)}
            sql += f" AND type IN ({', '.join(f':t{i}' for i in range(len(types)))})"
        rows = await self.tx.fetchall(sql + " ORDER BY sequence LIMIT :limit", params)
        return [_event(r) for r in rows]

    async def get(self, tenant_id: str, event_id: str) -> Event | None:
        row = await self.tx.fetchone(
            "SELECT * FROM events WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": event_id},
        )
        return None if row is None else _event(row)

    async def between(self, tenant_id: str, *, start: str, end: str, limit: int) -> Sequence[Event]:
        """Events that occurred in [start, end), in order."""
        rows = await self.tx.fetchall(
            "SELECT * FROM events WHERE tenant_id = :tid AND occurred_at >= :start"
            " AND occurred_at < :end AND sequence IS NOT NULL ORDER BY sequence LIMIT :limit",
            {"tid": tenant_id, "start": start, "end": end, "limit": limit},
        )
        return [_event(r) for r in rows]

    async def oldest_sequence(self, tenant_id: str) -> int | None:
        """The lowest number still kept for the tenant (none kept: None)."""
        row = await self.tx.fetchone(
            "SELECT MIN(sequence) AS oldest FROM events WHERE tenant_id = :tid", {"tid": tenant_id}
        )
        return None if row is None or row["oldest"] is None else int(row["oldest"])

    async def purge(self, *, before: str, limit: int) -> int:
        """Delete up to `limit` numbered events that occurred before `before`, except those
        still owed to someone: a delivery pending, an enabled endpoint that has not fanned
        it out yet, or a live Graph subscription that has not been told of it."""
        return await self.tx.execute(
            # Tenant by tenant (event_sequences has a row for each), so the index on
            # (tenant_id, occurred_at) finds them: no index of its own on the hot insert.
            "DELETE FROM events WHERE id IN (SELECT e.id FROM event_sequences q"
            " JOIN events e ON e.tenant_id = q.tenant_id AND e.occurred_at < :before"
            " WHERE e.sequence IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
            "  WHERE d.event_id = e.id AND d.status = 'pending')"
            " AND NOT EXISTS (SELECT 1 FROM webhook_endpoints w"
            "  WHERE w.tenant_id = e.tenant_id AND w.enabled AND w.cursor < e.sequence)"
            " AND NOT EXISTS (SELECT 1 FROM graph_subscriptions s"
            "  WHERE s.tenant_id = e.tenant_id AND s.expires_at > :before"
            "  AND s.cursor < e.sequence)"
            " LIMIT :limit)",
            {"before": before, "limit": limit},
        )
