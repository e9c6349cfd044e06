"""Approval requests (schema_policy.py): stored once, decided once.

Every decision is one UPDATE whose WHERE names the open state, so of two approvers deciding
at once exactly one changes the row: on PostgreSQL the second UPDATE waits for the first's
row lock and then finds the row no longer open; on SQLite writers take turns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.approvals import PENDING, ApprovalRequest

_COLUMNS = (
    "id, tenant_id, status, email, requested_by, sponsors, request, app_id, asked_by,"
    " created_at, expires_at, decided_at, decided_by, comment, answer"
)


def _of(row: Row) -> ApprovalRequest:
    return ApprovalRequest(
        id=row["id"],
        tenant_id=row["tenant_id"],
        status=row["status"],
        email=row["email"],
        requested_by=row["requested_by"],
        sponsors=tuple(json.loads(row["sponsors"])),
        request=json.loads(row["request"]),
        app_id=row["app_id"],
        asked_by=row["asked_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        comment=row["comment"],
        answer=row["answer"],
    )


class SqlApprovals:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, request: ApprovalRequest) -> None:
        await self.tx.execute(
            f"INSERT INTO approval_requests ({_COLUMNS}) VALUES (:id, :tenant_id, :status,"  # noqa: S608
            " :email, :requested_by, :sponsors, :request, :app_id, :asked_by, :created_at,"
            " :expires_at, NULL, NULL, NULL, NULL)",
            {
                "id": request.id,
                "tenant_id": request.tenant_id,
                "status": request.status,
                "email": request.email,
                "requested_by": request.requested_by,
                "sponsors": json.dumps(list(request.sponsors)),
                "request": json.dumps(request.request, ensure_ascii=False),
                "app_id": request.app_id,
                "asked_by": request.asked_by,
                "created_at": request.created_at,
                "expires_at": request.expires_at,
            },
        )

    async def get(self, tenant_id: str, request_id: str) -> ApprovalRequest | None:
        row = await self.tx.fetchone(
            f"SELECT {_COLUMNS} FROM approval_requests"  # noqa: S608 (fixed text)
            " WHERE id = :id AND tenant_id = :tenant_id",
            {"id": request_id, "tenant_id": tenant_id},
        )
        return None if row is None else _of(row)

    async def open(self, tenant_id: str, *, now: str, limit: int) -> Sequence[ApprovalRequest]:
        rows = await self.tx.fetchall(
            f"SELECT {_COLUMNS} FROM approval_requests"  # noqa: S608 (fixed text)
            " WHERE tenant_id = :tenant_id AND status = :open AND expires_at > :now"
            " ORDER BY created_at, id LIMIT :limit",
            {"tenant_id": tenant_id, "open": PENDING, "now": now, "limit": limit},
        )
        return [_of(r) for r in rows]

    async def decide(
        self,
        tenant_id: str,
        request_id: str,
        *,
        status: str,
        now: str,
        by: str | None,
        comment: str | None,
    ) -> bool:
        """Move an open, unexpired request to `status`; False when it was not open."""
        changed = await self.tx.execute(
            "UPDATE approval_requests SET status = :status, decided_at = :now, decided_by = :by,"
            " comment = :comment WHERE id = :id AND tenant_id = :tenant_id AND status = :open"
            " AND expires_at > :now",
            {
                "status": status,
                "now": now,
                "by": by,
                "comment": comment,
                "id": request_id,
                "tenant_id": tenant_id,
                "open": PENDING,
            },
        )
        return changed == 1

    async def reopen(self, tenant_id: str, request_id: str, *, status: str) -> bool:
        """Undo a decision whose invitation could not be made (nothing else was stored)."""
        changed = await self.tx.execute(
            "UPDATE approval_requests SET status = :open, decided_at = NULL, decided_by = NULL,"
            " comment = NULL WHERE id = :id AND tenant_id = :tenant_id AND status = :status"
            " AND answer IS NULL",
            {"open": PENDING, "id": request_id, "tenant_id": tenant_id, "status": status},
        )
        return changed == 1

    async def set_answer(self, request_id: str, answer: str) -> None:
        await self.tx.execute(
            "UPDATE approval_requests SET answer = :answer WHERE id = :id",
            {"answer": answer, "id": request_id},
        )

    async def due(self, *, now: str, limit: int) -> Sequence[ApprovalRequest]:
        """Open requests past their time, oldest first (the worker's sweep)."""
        rows = await self.tx.fetchall(
            f"SELECT {_COLUMNS} FROM approval_requests"  # noqa: S608 (fixed text)
            " WHERE status = :open AND expires_at <= :now ORDER BY expires_at, id LIMIT :limit",
            {"open": PENDING, "now": now, "limit": limit},
        )
        return [_of(r) for r in rows]

    async def expire(self, request_id: str, *, now: str) -> bool:
        """Mark a request expired once; False when it was decided or swept already."""
        changed = await self.tx.execute(
            "UPDATE approval_requests SET status = 'Expired', decided_at = :now"
            " WHERE id = :id AND status = :open AND expires_at <= :now",
            {"now": now, "id": request_id, "open": PENDING},
        )
        return changed == 1
