"""The audit log: who did what to which tenant, when."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.audit import AuditRecord

_encoder = msgspec.json.Encoder(order="sorted")


def _encode(details: dict[str, Any]) -> str:
    """Details as JSON with sorted keys, as json.dumps(sort_keys=True) gives, faster."""
    return _encoder.encode(details).decode()


def _record(row: Row) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        app_id=row["app_id"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        request_id=row["request_id"],
        details=json.loads(row["details"]) if row["details"] else None,
        created_at=row["created_at"],
    )


class SqlAuditLog:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def record(
        self,
        *,
        tenant_id: str,
        action: str,
        created_at: str,
        app_id: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.tx.execute(
            "INSERT INTO audit_events"
            " (tenant_id, app_id, actor, action, target, request_id, details, created_at)"
            " VALUES (:tenant_id, :app_id, :actor, :action, :target, :request_id, :details,"
            " :created_at)",
            {
                "tenant_id": tenant_id,
                "app_id": app_id,
                "actor": actor,
                "action": action,
                "target": target,
                "request_id": request_id,
                "details": None if details is None else _encode(details),
                "created_at": created_at,
            },
        )

    async def list(self, tenant_id: str, *, limit: int) -> Sequence[AuditRecord]:
        rows = await self.tx.fetchall(
            "SELECT * FROM audit_events WHERE tenant_id = :tid ORDER BY id DESC LIMIT :limit",
            {"tid": tenant_id, "limit": limit},
        )
        return [_record(r) for r in rows]

    async def search(
        self,
        tenant_id: str,
        *,
        actor: str | None = None,
        action: str | None = None,
        action_prefix: bool = False,
        target: str | None = None,
        start: str | None = None,
        end: str | None = None,
        before: int | None = None,
        limit: int,
    ) -> Sequence[AuditRecord]:
        """The tenant's events newest first, matching every condition given: actor and
        target in any case, the action exactly or (`action_prefix`) by its start, created
        at or after `start` and before `end`, with an id below `before` (keyset paging)."""
        where = ["tenant_id = :tid"]
        params: dict[str, Any] = {"tid": tenant_id, "limit": limit}
        if actor is not None:
            where.append("LOWER(actor) = :actor")
            params["actor"] = actor.lower()
        if target is not None:
            where.append("LOWER(target) = :target")
            params["target"] = target.lower()
        if action is not None and action_prefix:
            # A prefix of letters, digits, '.' and '_' (checked by the caller): no LIKE escapes.
            where.append("action LIKE :action")
            params["action"] = action + "%"
        elif action is not None:
            where.append("action = :action")
            params["action"] = action
        if start is not None:
            where.append("created_at >= :start")
            params["start"] = start
        if end is not None:
            where.append("created_at < :end")
            params["end"] = end
        if before is not None:
            where.append("id < :before")
            params["before"] = before
        # Only the fixed conditions above are joined in; every value is a bound parameter.
        rows = await self.tx.fetchall(
            f"SELECT * FROM audit_events WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY id DESC LIMIT :limit",
            params,
        )
        return [_record(r) for r in rows]
