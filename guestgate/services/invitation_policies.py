"""Each tenant's invitation policy: read it, change it, and judge an invitation by it.

The rules themselves are pure (domain/invitation_policy.py); the invitation gate
(`Governance.check`) asks them before anything of an invitation is written, and the
redemption pages ask `check_redeemable` again before a pending invitation is accepted (Entra
checks the list at both moments).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from guestgate.domain.emails import parse_email
from guestgate.domain.invitation_policy import (
    ApprovalRule,
    DomainPolicy,
    InvitationPolicy,
    domain_refusal,
)
from guestgate.domain.invitations import Invitation
from guestgate.domain.timestamps import iso
from guestgate.errors import RedemptionError
from guestgate.services.ports import UnitOfWork

# The stable codes of a refused invitation (403), in the error body's `code`.
DOMAIN_NOT_ALLOWED = "DomainNotAllowed"
INVITER_NOT_ALLOWED = "InviterNotAllowed"
DOMAIN_BLOCKED = "domain_blocked"  # the RedemptionError reason of the redemption pages


async def get_policy(uow: UnitOfWork, tenant_id: str) -> InvitationPolicy:
    """The tenant's policy; Entra's defaults when none was set."""
    found = await uow.invitation_policies.get(tenant_id)
    return found if found is not None else InvitationPolicy(tenant_id=tenant_id)


async def check_redeemable(uow: UnitOfWork, invitation: Invitation, org: str) -> None:
    """Entra checks the domain list again when a pending invitation is redeemed: a domain
    blocked since the invitation was made cannot accept it (by link or by signing in)."""
    policy = await get_policy(uow, invitation.tenant_id)
    if not (policy.domains.allowed or policy.domains.blocked):
        return  # no domain list: nothing to check (and no address to parse on every page)
    domain = parse_email(invitation.email).domain
    if domain_refusal(policy, domain) is not None:
        raise RedemptionError(
            DOMAIN_BLOCKED,
            f"{org} no longer accepts guests from {domain}: its invitation policy blocks the"
            " domain, so this invitation cannot be accepted.",
        )


async def read_policy(uow: UnitOfWork, tenant_id: str) -> InvitationPolicy:
    """`get_policy` in a transaction of its own."""
    async with uow:
        return await get_policy(uow, tenant_id)


async def set_policy(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    now: datetime,
    domains: DomainPolicy | None = None,
    allow_invites_from: str | None = None,
    approval: ApprovalRule | None = None,
    app_id: str | None = None,
    request_id: str | None = None,
) -> InvitationPolicy:
    """Change the domain list, `allowInvitesFrom`, the approval rule (None: unchanged),
    audited."""
    async with uow:
        current = await get_policy(uow, tenant_id)
        policy = replace(
            current,
            domains=current.domains if domains is None else domains,
            allow_invites_from=current.allow_invites_from
            if allow_invites_from is None
            else allow_invites_from,
            approval=current.approval if approval is None else approval,
            updated_at=iso(now),
        )
        await uow.invitation_policies.put(policy)
        await uow.audit.record(
            tenant_id=tenant_id,
            app_id=app_id,
            action="policy.invitations.update",
            target=tenant_id,
            request_id=request_id,
            created_at=iso(now),
            details={
                "definition": policy.domains.definition(),
                "allowInvitesFrom": policy.allow_invites_from,
                "guestgateApproval": policy.approval.to_json() if policy.approval.enabled else None,
            },
        )
        await uow.commit()
    return policy
