"""Webhook endpoints, their deliveries (an outbox of events) and the delivery log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.backlog import queue_state
from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.backlog import QueueState
from guestgate.domain.webhooks import (
    Attempt,
    ClaimedDelivery,
    Endpoint,
    Response,
    SealedSecrets,
)


def _endpoint(row: Row) -> Endpoint:
    return Endpoint(
        id=row["id"],
        tenant_id=row["tenant_id"],
        url=row["url"],
        event_types=tuple(json.loads(row["event_types"])),
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
    )


def _names(prefix: str, values: Sequence[str]) -> tuple[str, dict[str, Any]]:
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


class SqlWebhooks:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add_endpoint(self, endpoint: Endpoint, *, sealed_secret: str, cursor: int) -> None:
        await self.tx.execute(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, enabled,"
            " cursor, created_at) VALUES (:id, :tid, :url, :types, :secret, :enabled, :cursor,"
            " :at)",
            {
                "id": endpoint.id,
                "tid": endpoint.tenant_id,
                "url": endpoint.url,
                "types": json.dumps(list(endpoint.event_types)),
                "secret": sealed_secret,
                "enabled": endpoint.enabled,
                "cursor": cursor,
                "at": endpoint.created_at,
            },
        )

    async def get_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint | None:
        row = await self.tx.fetchone(
            "SELECT * FROM webhook_endpoints WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": endpoint_id},
        )
        return None if row is None else _endpoint(row)

    async def list_endpoints(self, tenant_id: str) -> Sequence[Endpoint]:
        rows = await self.tx.fetchall(
            "SELECT * FROM webhook_endpoints WHERE tenant_id = :tid ORDER BY created_at, id",
            {"tid": tenant_id},
        )
        return [_endpoint(r) for r in rows]

    async def remove_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        count = await self.tx.execute(
            "DELETE FROM webhook_endpoints WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": endpoint_id},
        )
        return count > 0

    async def set_secret(
        self, endpoint_id: str, *, sealed: str, previous: str | None, until: str, now: str
    ) -> None:
        await self.tx.execute(
            "UPDATE webhook_endpoints SET secret = :secret, previous_secret = :previous,"
            " previous_until = :until, rotated_at = :now WHERE id = :id",
            {"id": endpoint_id, "secret": sealed, "previous": previous, "until": until, "now": now},
        )

    async def secrets(self, endpoint_id: str) -> SealedSecrets | None:
        row = await self.tx.fetchone(
            "SELECT secret, previous_secret, previous_until FROM webhook_endpoints WHERE id = :id",
            {"id": endpoint_id},
        )
        if row is None:
            return None
        return SealedSecrets(row["secret"], row["previous_secret"], row["previous_until"])

    async def set_enabled(
        self, endpoint_id: str, *, enabled: bool, reason: str | None, cursor: int | None = None
    ) -> None:
        """Enable or disable; enabling moves the cursor on (what passed meanwhile is replayed
        on request, not sent by surprise)."""
        sql = "UPDATE webhook_endpoints SET enabled = :enabled, disabled_reason = :reason"
        params: dict[str, Any] = {"id": endpoint_id, "enabled": enabled, "reason": reason}
        if cursor is not None:
            sql += ", cursor = :cursor"
            params["cursor"] = cursor
        await self.tx.execute(sql + " WHERE id = :id", params)

    async def disable_if_enabled(self, endpoint_id: str, *, reason: str) -> bool:
        """Turn an endpoint off unless it is off already; True if this call did it."""
        changed = await self.tx.execute(
            "UPDATE webhook_endpoints SET enabled = :off, disabled_reason = :reason"
            " WHERE id = :id AND enabled = :on",
            {"id": endpoint_id, "off": False, "on": True, "reason": reason},
        )
        return changed == 1

    async def fan_out(self, *, now: str, endpoints: int, events: int) -> int:
        """Turn new events into deliveries for the endpoints that want them; returns how many.

        Each endpoint keeps the number of the last event it was given. Only committed events
        are visible, and a tenant's events commit in number order (see `SqlEventLog`), so
        nothing below an endpoint's cursor can still appear. On PostgreSQL two workers skip
        each other's endpoints; the unique (endpoint, event) key covers anything else.
        """
        lock = " FOR UPDATE OF w SKIP LOCKED" if self.tx.dialect == "postgresql" else ""
        due = await self.tx.fetchall(
            "SELECT w.id, w.tenant_id, w.event_types, w.cursor FROM webhook_endpoints w"  # noqa: S608
            " JOIN event_sequences s ON s.tenant_id = w.tenant_id"
            f" WHERE w.enabled AND w.cursor < s.last_sequence LIMIT :limit{lock}",
            {"limit": endpoints},
        )
        made = 0
        for row in due:
            found = await self.tx.fetchall(
                "SELECT id, sequence, type FROM events WHERE tenant_id = :tid"
                " AND sequence > :cursor ORDER BY sequence LIMIT :limit",
                {"tid": row["tenant_id"], "cursor": row["cursor"], "limit": events},
            )
            if not found:
                continue
            wanted = set(json.loads(row["event_types"]))
            for event in found:
                if wanted and event["type"] not in wanted:
                    continue
                made += await self._add_delivery(row["id"], event["id"], now)
            await self.tx.execute(
                "UPDATE webhook_endpoints SET cursor = :cursor WHERE id = :id",
                {"id": row["id"], "cursor": found[-1]["sequence"]},
            )
        return made

    async def _add_delivery(self, endpoint_id: str, event_id: str, now: str) -> int:
        return await self.tx.execute(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts,"
            " next_attempt_at, created_at) VALUES (:id, :endpoint, :event, 'pending', 0, :now,"
            " :now) ON CONFLICT (endpoint_id, event_id) DO NOTHING",
            # The delivery's id is derived, so a repeat of the same pair is the same row.
            {
                "id": _delivery_id(endpoint_id, event_id),
                "endpoint": endpoint_id,
                "event": event_id,
                "now": now,
            },
        )

    async def replay(self, endpoint_id: str, event_ids: Sequence[str], now: str) -> int:
        """Queue these events for the endpoint again (or for the first time)."""
        count = 0
        for event_id in event_ids:
            count += await self.tx.execute(
                "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts,"
                " next_attempt_at, created_at) VALUES (:id, :endpoint, :event, 'pending', 0,"
                " :now, :now) ON CONFLICT (endpoint_id, event_id) DO UPDATE SET"
                " status = 'pending', attempts = 0, next_attempt_at = :now, locked_until = NULL",
                {
                    "id": _delivery_id(endpoint_id, event_id),
                    "endpoint": endpoint_id,
                    "event": event_id,
                    "now": now,
                },
            )
        return count

    async def claim(self, *, now: str, lease_until: str, limit: int) -> Sequence[ClaimedDelivery]:
        """Lease due deliveries of enabled endpoints; a crashed worker's lease runs out."""
        due = (
            "SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w"
            " ON w.id = d.endpoint_id WHERE d.status = 'pending' AND d.next_attempt_at <= :now"
            " AND (d.locked_until IS NULL OR d.locked_until <= :now) AND w.enabled"
            " ORDER BY d.next_attempt_at LIMIT :limit"
        )
        if self.tx.dialect == "postgresql":
            due += " FOR UPDATE OF d SKIP LOCKED"
        claimed = await self.tx.fetchall(
            "UPDATE webhook_deliveries SET locked_until = :lease_until,"  # noqa: S608
            f" attempts = attempts + 1 WHERE id IN ({due}) RETURNING id",
            {"now": now, "lease_until": lease_until, "limit": limit},
        )
        if not claimed:
            return []
        names, params = _names("d", [r["id"] for r in claimed])
        rows = await self.tx.fetchall(
            "SELECT d.id, d.endpoint_id, d.event_id, d.attempts, w.tenant_id, w.url,"  # noqa: S608
            " w.secret, w.previous_secret, w.previous_until, e.body FROM webhook_deliveries d"
            " JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id"
            f" WHERE d.id IN ({names})",
            params,
        )
        return [
            ClaimedDelivery(
                id=r["id"],
                endpoint_id=r["endpoint_id"],
                tenant_id=r["tenant_id"],
                event_id=r["event_id"],
                attempts=r["attempts"],
                url=r["url"],
                body=r["body"],
                secrets=SealedSecrets(r["secret"], r["previous_secret"], r["previous_until"]),
            )
            for r in rows
        ]

    async def record_attempt(
        self, delivery: ClaimedDelivery, response: Response, *, now: str
    ) -> None:
        await self.tx.execute(
            "INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempted_at,"
            " status_code, latency_ms, error, response_excerpt) VALUES (:delivery, :endpoint,"
            " :event, :now, :status, :latency, :error, :excerpt)",
            {
                "delivery": delivery.id,
                "endpoint": delivery.endpoint_id,
                "event": delivery.event_id,
                "now": now,
                "status": response.status_code,
                "latency": response.latency_ms,
                "error": None if response.error is None else response.error[:200],
                "excerpt": None if response.excerpt is None else response.excerpt[:500],
            },
        )

    async def mark_delivered(self, delivery_id: str, now: str) -> None:
        await self.tx.execute(
            "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = :now,"
            " locked_until = NULL, last_error = NULL WHERE id = :id",
            {"id": delivery_id, "now": now},
        )

    async def mark_failed(
        self, delivery_id: str, *, error: str, next_attempt_at: str | None
    ) -> None:
        """Try again at `next_attempt_at`, or never (None: the schedule is spent)."""
        await self.tx.execute(
            "UPDATE webhook_deliveries SET status = :status, last_error = :error,"
            " next_attempt_at = COALESCE(:next_at, next_attempt_at), locked_until = NULL"
            " WHERE id = :id",
            {
                "id": delivery_id,
                "status": "pending" if next_attempt_at is not None else "dead",
                "error": error[:200],
                "next_at": next_attempt_at,
            },
        )

    async def backlog(self) -> QueueState:
        return await queue_state(self.tx, "webhook_deliveries")

    async def attempts(
        self, endpoint_id: str, *, limit: int, event_id: str | None = None
    ) -> Sequence[Attempt]:
        """The endpoint's delivery log, newest first."""
        sql = "SELECT * FROM webhook_attempts WHERE endpoint_id = :id"
        params: dict[str, Any] = {"id": endpoint_id, "limit": limit}
        if event_id is not None:
            sql += " AND event_id = :event"
            params["event"] = event_id
        rows = await self.tx.fetchall(sql + " ORDER BY id DESC LIMIT :limit", params)
        return [
            Attempt(
                id=int(r["id"]),
                delivery_id=r["delivery_id"],
                event_id=r["event_id"],
                attempted_at=r["attempted_at"],
                status_code=r["status_code"],
                latency_ms=r["latency_ms"],
                error=r["error"],
                response_excerpt=r["response_excerpt"],
            )
            for r in rows
        ]

    async def delivery_counts(self, endpoint_id: str) -> dict[str, int]:
        rows = await self.tx.fetchall(
            "SELECT status, COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = :id"
            " GROUP BY status",
            {"id": endpoint_id},
        )
        return {r["status"]: int(r["n"]) for r in rows}

    async def purge_log(self, *, before: str, limit: int) -> int:
        """Delete up to `limit` delivery-log rows, then finished deliveries, from before
        `before`; pending deliveries stay. Returns how many rows went."""
        attempts = await self.tx.execute(
            "DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts"
            " WHERE attempted_at < :before ORDER BY id LIMIT :limit)",
            {"before": before, "limit": limit},
        )
        deliveries = await self.tx.execute(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT d.id FROM webhook_deliveries d"
            " WHERE d.status <> 'pending' AND d.created_at < :before"
            " AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id)"
            " LIMIT :limit)",
            {"before": before, "limit": limit},
        )
        return attempts + deliveries


def _delivery_id(endpoint_id: str, event_id: str) -> str:
    return str(uuid.uuid5(uuid.UUID(endpoint_id), event_id))
