"""Deleted users kept for restore (Entra's deleted items), newest first."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.users import DeletedUser, User, fold


def _deleted(row: Row) -> DeletedUser:
    record = json.loads(row["record"])
    return DeletedUser(
        user=User(**record["user"]),
        sponsors=tuple(record["sponsors"]),
        deleted_at=row["deleted_at"],
        last_sign_in_at=record.get("last_sign_in_at"),
    )


class SqlDeletedUsers:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, deleted: DeletedUser) -> None:
        """Keep `deleted`; a user deleted again (restored in between) replaces its old row."""
        user = deleted.user
        record = {
            "user": asdict(user),
            "sponsors": list(deleted.sponsors),
            "last_sign_in_at": deleted.last_sign_in_at,
        }
        await self.tx.execute("DELETE FROM deleted_users WHERE id = :id", {"id": user.id})
        await self.tx.execute(
            "INSERT INTO deleted_users (id, tenant_id, email_key, upn_key, deleted_at, record)"
            " VALUES (:id, :tid, :key, :upn, :at, :record)",
            {
                "id": user.id,
                "tid": user.tenant_id,
                "key": user.email_key,
                "upn": fold(user.user_principal_name),
                "at": deleted.deleted_at,
                "record": json.dumps(record),
            },
        )

    async def get(self, tenant_id: str, user_id: str) -> DeletedUser | None:
        row = await self.tx.fetchone(
            "SELECT * FROM deleted_users WHERE tenant_id = :tid AND id = :id",
            {"tid": tenant_id, "id": user_id},
        )
        return None if row is None else _deleted(row)

    async def list(
        self, tenant_id: str, *, after: tuple[str, str] | None, limit: int
    ) -> Sequence[DeletedUser]:
        """Newest deletion first, keyset-paged on (deleted_at, id)."""
        sql = "SELECT * FROM deleted_users WHERE tenant_id = :tid"
        params: dict[str, object] = {"tid": tenant_id, "limit": limit}
        if after is not None:
            sql += " AND (deleted_at < :at OR (deleted_at = :at AND id < :id))"
            params["at"], params["id"] = after
        rows = await self.tx.fetchall(
            sql + " ORDER BY deleted_at DESC, id DESC LIMIT :limit", params
        )
        return [_deleted(r) for r in rows]

    async def remove(self, tenant_id: str, user_id: str) -> bool:
        return (
            await self.tx.execute(
                "DELETE FROM deleted_users WHERE tenant_id = :tid AND id = :id",
                {"tid": tenant_id, "id": user_id},
            )
            == 1
        )

    async def upn_taken(self, tenant_id: str, upn: str) -> bool:
        """Whether a deleted user keeps this userPrincipalName (compared folded)."""
        row = await self.tx.fetchone(
            "SELECT 1 AS x FROM deleted_users WHERE tenant_id = :tid AND upn_key = :upn",
            {"tid": tenant_id, "upn": fold(upn)},
        )
        return row is not None

    async def purge(self, *, deleted_before: str, limit: int) -> Sequence[tuple[str, str]]:
        """Remove up to `limit` users deleted before the time; their (tenant id, user id)."""
        rows = await self.tx.fetchall(
            "SELECT tenant_id, id FROM deleted_users WHERE deleted_at < :before"
            " ORDER BY deleted_at, id LIMIT :limit",
            {"before": deleted_before, "limit": limit},
        )
        for row in rows:
            await self.tx.execute("DELETE FROM deleted_users WHERE id = :id", {"id": row["id"]})
        return [(r["tenant_id"], r["id"]) for r in rows]
