"""Console role assignments and console sessions."""

from __future__ import annotations

from collections.abc import Sequence

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.console import ConsoleSession
from guestgate.domain.roles import RoleAssignment


def _assignment(row: Row) -> RoleAssignment:
    return RoleAssignment(
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        role=row["role"],
        assigned_at=row["assigned_at"],
    )


class SqlRoles:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def assign(self, assignment: RoleAssignment) -> bool:
        """True if new; assigning a role the user holds changes nothing."""
        added = await self.tx.execute(
            "INSERT INTO role_assignments (tenant_id, user_id, role, assigned_at)"
            " VALUES (:tid, :uid, :role, :at) ON CONFLICT DO NOTHING",
            {
                "tid": assignment.tenant_id,
                "uid": assignment.user_id,
                "role": assignment.role,
                "at": assignment.assigned_at,
            },
        )
        return added == 1

    async def remove(self, tenant_id: str, user_id: str, role: str) -> bool:
        removed = await self.tx.execute(
            "DELETE FROM role_assignments WHERE tenant_id = :tid AND user_id = :uid"
            " AND role = :role",
            {"tid": tenant_id, "uid": user_id, "role": role},
        )
        return removed == 1

    async def of_user(self, tenant_id: str, user_id: str) -> Sequence[str]:
        rows = await self.tx.fetchall(
            "SELECT role FROM role_assignments WHERE tenant_id = :tid AND user_id = :uid"
            " ORDER BY role",
            {"tid": tenant_id, "uid": user_id},
        )
        return [r["role"] for r in rows]

    async def list(self, tenant_id: str) -> Sequence[RoleAssignment]:
        rows = await self.tx.fetchall(
            "SELECT * FROM role_assignments WHERE tenant_id = :tid ORDER BY assigned_at, user_id,"
            " role",
            {"tid": tenant_id},
        )
        return [_assignment(r) for r in rows]


class SqlConsoleSessions:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, session: ConsoleSession) -> None:
        await self.tx.execute(
            "INSERT INTO console_sessions (session_hash, tenant_id, user_id, created_at,"
            " expires_at, signed_in_at) VALUES (:hash, :tid, :uid, :created, :expires,"
            " :signed_in)",
            {
                "hash": session.session_hash,
                "tid": session.tenant_id,
                "uid": session.user_id,
                "created": session.created_at,
                "expires": session.expires_at,
                "signed_in": session.signed_in_at,
            },
        )

    async def get(self, session_hash: str) -> ConsoleSession | None:
        row = await self.tx.fetchone(
            "SELECT * FROM console_sessions WHERE session_hash = :hash", {"hash": session_hash}
        )
        if row is None:
            return None
        return ConsoleSession(
            session_hash=row["session_hash"],
            tenant_id=row["tenant_id"],
            user_id=row["user_id"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            ended_at=row["ended_at"],
            signed_in_at=row["signed_in_at"],
        )

    async def end(self, session_hash: str, now: str) -> bool:
        ended = await self.tx.execute(
            "UPDATE console_sessions SET ended_at = :now WHERE session_hash = :hash"
            " AND ended_at IS NULL",
            {"hash": session_hash, "now": now},
        )
        return ended == 1
