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
