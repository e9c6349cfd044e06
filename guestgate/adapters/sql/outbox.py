"""The outbox table: messages written in the business transaction, leased to workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.backlog import queue_state
from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.backlog import QueueState
from guestgate.domain.messages import ClaimedMessage, OutboxMessage


def _message(row: Row, payload: dict[str, Any] | None = None) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        tenant_id=row["tenant_id"],
        kind=row["kind"],
        recipient=row["recipient"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        payload=payload,
    )


class SqlOutbox:
    """Messages written in the business transaction, delivered later by a worker."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(
        self, *, id: str, tenant_id: str, kind: str, recipient: str, sealed: str, now: str
    ) -> None:
        await self.tx.execute(
            "INSERT INTO outbox (id, tenant_id, kind, recipient, payload, status, attempts,"
            " next_attempt_at, created_at) VALUES (:id, :tenant_id, :kind, :recipient,"
            " :payload, 'pending', 0, :now, :now)",
            {
                "id": id,
                "tenant_id": tenant_id,
                "kind": kind,
                "recipient": recipient,
                "payload": sealed,
                "now": now,
            },
        )

    async def claim(self, *, now: str, lease_until: str, limit: int) -> Sequence[ClaimedMessage]:
        """Lease due messages to this worker; a crashed worker's lease simply runs out."""
        due = (
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now"
            " AND (locked_until IS NULL OR locked_until <= :now)"
            " ORDER BY next_attempt_at LIMIT :limit"
        )
        if self.tx.dialect == "postgresql":
            # Several workers never take one row: each skips rows another has locked.
            due += " FOR UPDATE SKIP LOCKED"
        rows = await self.tx.fetchall(
            "UPDATE outbox SET locked_until = :lease_until, attempts = attempts + 1"  # noqa: S608
            f" WHERE id IN ({due}) RETURNING *",
            {"now": now, "lease_until": lease_until, "limit": limit},
        )
        return [
            ClaimedMessage(
                id=r["id"],
                tenant_id=r["tenant_id"],
                kind=r["kind"],
                recipient=r["recipient"],
                attempts=r["attempts"],
                sealed=r["payload"],
            )
            for r in rows
        ]

    async def renew(self, message_ids: Sequence[str], lease_until: str) -> None:
        params: dict[str, Any] = {f"id{i}": v for i, v in enumerate(message_ids)}
        names = ", ".join(f":id{i}" for i in range(len(message_ids)))
        await self.tx.execute(
            f"UPDATE outbox SET locked_until = :lease_until WHERE id IN ({names})"  # noqa: S608
            " AND status = 'pending'",
            {**params, "lease_until": lease_until},
        )

    async def mark_sent(self, message_id: str, now: str) -> bool:
        """True when this call marked it (not when it was marked sent already)."""
        # The payload holds redeem links and codes: it is not kept once delivered.
        count = await self.tx.execute(
            "UPDATE outbox SET status = 'sent', sent_at = :now, payload = NULL,"
            " locked_until = NULL, last_error = NULL WHERE id = :id AND status <> 'sent'",
            {"id": message_id, "now": now},
        )
        return count == 1

    async def mark_failed(
        self, message_id: str, *, error: str, next_attempt_at: str, dead: bool
    ) -> None:
        await self.tx.execute(
            "UPDATE outbox SET status = :status, last_error = :error,"
            " next_attempt_at = :next_at, locked_until = NULL WHERE id = :id",
            {
                "id": message_id,
                "status": "dead" if dead else "pending",
                "error": error[:500],
                "next_at": next_attempt_at,
            },
        )

    async def list(self, *, status: str | None, limit: int) -> Sequence[OutboxMessage]:
        sql = "SELECT * FROM outbox"
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            sql += " WHERE status = :status"
            params["status"] = status
        rows = await self.tx.fetchall(sql + " ORDER BY created_at DESC, id LIMIT :limit", params)
        return [_message(r) for r in rows]

    async def backlog(self) -> QueueState:
        return await queue_state(self.tx, "outbox")

    async def purge(self, *, before: str) -> int:
        """Forget sent and dead messages older than `before` (sent, or queued if never sent)."""
        return await self.tx.execute(
            "DELETE FROM outbox WHERE status IN ('sent', 'dead')"
            " AND COALESCE(sent_at, created_at) < :before",
            {"before": before},
        )

    async def retry(self, *, message_id: str | None, now: str) -> int:
        """Put dead messages (one, or all) back in the queue with fresh attempts."""
        sql = (
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = :now,"
            " locked_until = NULL WHERE status = 'dead'"
        )
        params: dict[str, Any] = {"now": now}
        if message_id is not None:
            sql += " AND id = :id"
            params["id"] = message_id
        return await self.tx.execute(sql, params)
