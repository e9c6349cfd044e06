"""Invitation policies: one row per tenant, written whole with an upsert."""

from __future__ import annotations

import json

from guestgate.adapters.sql.driver import Transaction
from guestgate.domain.invitation_policy import (
    NO_APPROVAL,
    InvitationPolicy,
    parse_approval,
    parse_definition,
)

_PUT = (
    "INSERT INTO invitation_policies"
    " (tenant_id, definition, allow_invites_from, updated_at, approval)"
    " VALUES (:tenant_id, :definition, :allow, :updated_at, :approval)"
    " ON CONFLICT (tenant_id) DO UPDATE SET definition = excluded.definition,"
    " allow_invites_from = excluded.allow_invites_from, updated_at = excluded.updated_at,"
    " approval = excluded.approval"
)


class SqlInvitationPolicies:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def get(self, tenant_id: str) -> InvitationPolicy | None:
        row = await self.tx.fetchone(
            "SELECT definition, allow_invites_from, updated_at, approval FROM invitation_policies"
            " WHERE tenant_id = :tenant_id",
            {"tenant_id": tenant_id},
        )
        if row is None:
            return None
        return InvitationPolicy(
            tenant_id=tenant_id,
            domains=parse_definition(row["definition"]),  # stored only once validated
            allow_invites_from=row["allow_invites_from"],
            updated_at=row["updated_at"],
            approval=NO_APPROVAL
            if row["approval"] is None
            else parse_approval(json.loads(row["approval"])),
        )

    async def put(self, policy: InvitationPolicy) -> None:
        await self.tx.execute(
            _PUT,
            {
                "tenant_id": policy.tenant_id,
                "definition": policy.domains.definition(),
                "allow": policy.allow_invites_from,
                "updated_at": policy.updated_at,
                "approval": json.dumps(policy.approval.to_json())
                if policy.approval.enabled
                else None,
            },
        )
