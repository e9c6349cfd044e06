"""Graph change-notification subscriptions, each with its place in the tenant's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.subscriptions import Subscription


def _subscription(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        tenant_id=row["tenant_id"],
        app_id=row["app_id"],
        resource=row["resource"],
        change_types=tuple(row["change_types"].split(",")),
        notification_url=row["notification_url"],
        lifecycle_url=row["lifecycle_url"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


class SqlSubscriptions:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(
        self, subscription: Subscription, *, sealed_state: str | None, cursor: int
    ) -> None:
        await self.tx.execute(
            "INSERT INTO graph_subscriptions (id, tenant_id, app_id, resource, change_types,"
            " notification_url, lifecycle_url, client_state, expires_at, cursor,"
            " next_attempt_at, created_at) VALUES (:id, :tid, :app, :resource, :types, :url,"
            " :lifecycle, :state, :expires, :cursor, :created, :created)",
            {
                "id": subscription.id,
                "tid": subscription.tenant_id,
                "app": subscription.app_id,
                "resource": subscription.resource,
                "types": ",".join(subscription.change_types),
                "url": subscription.notification_url,
                "lifecycle": subscription.lifecycle_url,
                "state": sealed_state,
                "expires": subscription.expires_at,
                "cursor": cursor,
                "created": subscription.created_at,
            },
        )

    async def get(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        row = await self.tx.fetchone(
            "SELECT * FROM graph_subscriptions WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": subscription_id},
        )
        return None if row is None else _subscription(row)

    async def client_state(self, subscription_id: str) -> str | None:
        row = await self.tx.fetchone(
            "SELECT client_state FROM graph_subscriptions WHERE id = :id", {"id": subscription_id}
        )
        return None if row is None else row["client_state"]

    async def list(self, tenant_id: str, app_id: str | None) -> Sequence[Subscription]:
        sql = "SELECT * FROM graph_subscriptions WHERE tenant_id = :tid"
        params: dict[str, Any] = {"tid": tenant_id}
        if app_id is not None:
            sql += " AND app_id = :app"
            params["app"] = app_id
        rows = await self.tx.fetchall(sql + " ORDER BY created_at, id", params)
        return [_subscription(r) for r in rows]

    async def count(self, tenant_id: str, app_id: str | None, *, now: str) -> int:
        row = await self.tx.fetchone(
            "SELECT COUNT(*) AS n FROM graph_subscriptions WHERE tenant_id = :tid"
            " AND app_id IS NOT DISTINCT FROM :app AND expires_at > :now"
            if self.tx.dialect == "postgresql"
            else "SELECT COUNT(*) AS n FROM graph_subscriptions WHERE tenant_id = :tid"
            " AND app_id IS :app AND expires_at > :now",
            {"tid": tenant_id, "app": app_id, "now": now},
        )
        return 0 if row is None else int(row["n"])

    async def set_expiry(self, subscription_id: str, expires_at: str) -> None:
        await self.tx.execute(
            "UPDATE graph_subscriptions SET expires_at = :expires WHERE id = :id",
            {"id": subscription_id, "expires": expires_at},
        )

    async def remove(self, tenant_id: str, subscription_id: str) -> bool:
        count = await self.tx.execute(
            "DELETE FROM graph_subscriptions WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": subscription_id},
        )
        return count > 0

    async def claim(
        self, *, now: str, lease_until: str, limit: int
    ) -> Sequence[tuple[Subscription, str | None, int, str | None]]:
        """Lease live subscriptions with events after their cursor: (subscription, sealed
        client state, cursor, failing since)."""
        due = (
            "SELECT g.id FROM graph_subscriptions g JOIN event_sequences s"
            " ON s.tenant_id = g.tenant_id WHERE g.expires_at > :now"
            " AND g.next_attempt_at <= :now AND g.cursor < s.last_sequence LIMIT :limit"
        )
        if self.tx.dialect == "postgresql":
            due += " FOR UPDATE OF g SKIP LOCKED"
        rows = await self.tx.fetchall(
            "UPDATE graph_subscriptions SET next_attempt_at = :lease"  # noqa: S608
            f" WHERE id IN ({due}) RETURNING *",
            {"now": now, "lease": lease_until, "limit": limit},
        )
        return [
            (_subscription(r), r["client_state"], int(r["cursor"]), r["failing_since"])
            for r in rows
        ]

    async def advance(self, subscription_id: str, *, cursor: int, now: str) -> None:
        await self.tx.execute(
            "UPDATE graph_subscriptions SET cursor = :cursor, next_attempt_at = :now,"
            " failing_since = NULL WHERE id = :id",
            {"id": subscription_id, "cursor": cursor, "now": now},
        )

    async def failed(self, subscription_id: str, *, since: str, next_attempt_at: str) -> None:
        await self.tx.execute(
            "UPDATE graph_subscriptions SET failing_since = :since,"
            " next_attempt_at = :next_at WHERE id = :id",
            {"id": subscription_id, "since": since, "next_at": next_attempt_at},
        )
