"""Microsoft 365 mode's invitation ids: which guest user each invitation made in Graph."""

from __future__ import annotations

from guestgate.adapters.sql.driver import Transaction


class SqlGraphInvitations:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, tenant_id: str, invitation_id: str, user_id: str, *, now: str) -> None:
        # An answer read twice (a retried create that landed) records its id once.
        await self.tx.execute(
            "INSERT INTO graph_invitations (tenant_id, invitation_id, user_id, created_at)"
            " VALUES (:tenant_id, :invitation_id, :user_id, :now)"
            " ON CONFLICT (tenant_id, invitation_id) DO NOTHING",
            {
                "tenant_id": tenant_id,
                "invitation_id": invitation_id,
                "user_id": user_id,
                "now": now,
            },
        )

    async def user_id(self, tenant_id: str, invitation_id: str) -> str | None:
        row = await self.tx.fetchone(
            "SELECT user_id FROM graph_invitations"
            " WHERE tenant_id = :tenant_id AND invitation_id = :invitation_id",
            {"tenant_id": tenant_id, "invitation_id": invitation_id},
        )
        return None if row is None else str(row["user_id"])
