"""Invitation policies: none until set, stored whole, one per tenant, kept only if committed."""

from __future__ import annotations

import uuid

import pytest

from guestgate.domain.invitation_policy import (
    ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS,
    NONE,
    InvitationPolicy,
    parse_definition,
)
from tests.contract.builders import UowFactory

pytestmark = pytest.mark.anyio

BLOCK = (
    '{"B2BManagementPolicy":{"Version":1,"InvitationsAllowedAndBlockedDomainsPolicy":'
    '{"BlockedDomains":["Gmail.com","*.Bücher.example"]}}}'
)

STAMP = "2026-12-02T03:00:00.000000Z"


async def test_a_tenant_has_no_policy_until_one_is_put(make_uow: UowFactory) -> None:
    async with make_uow(write=False) as uow:
        assert await uow.invitation_policies.get(str(uuid.uuid4())) is None


async def test_put_then_get_returns_the_policy_with_its_other_settings(
    make_uow: UowFactory,
) -> None:
    policy = InvitationPolicy(
        tenant_id=str(uuid.uuid4()),
        domains=parse_definition(BLOCK),
        allow_invites_from=ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS,
        updated_at="2026-12-02T03:00:00.000000Z",
    )
    async with make_uow() as uow:
        await uow.invitation_policies.put(policy)
        await uow.commit()
    async with make_uow(write=False) as uow:
        found = await uow.invitation_policies.get(policy.tenant_id)
    assert found == policy
    assert found.domains.blocked == ("gmail.com", "*.xn--bcher-kva.example")
    assert found.domains.other == {"Version": 1}


async def test_a_second_put_replaces_the_first_and_other_tenants_keep_theirs(
    make_uow: UowFactory,
) -> None:
    first, other = str(uuid.uuid4()), str(uuid.uuid4())
    async with make_uow() as uow:
        await uow.invitation_policies.put(
            InvitationPolicy(
                tenant_id=first, domains=parse_definition(BLOCK), updated_at="2026-12-02T03:00:00Z"
            )
        )
        await uow.invitation_policies.put(
            InvitationPolicy(
                tenant_id=other, allow_invites_from=NONE, updated_at="2026-12-02T03:00:00Z"
            )
        )
        await uow.commit()
    allow = parse_definition(
        '{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":'
        '{"AllowedDomains":["fabrikam.com"]}}}'
    )
    replaced = InvitationPolicy(tenant_id=first, domains=allow, updated_at="2026-12-02T04:00:00Z")
    async with make_uow() as uow:
        await uow.invitation_policies.put(replaced)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.invitation_policies.get(first) == replaced
        kept = await uow.invitation_policies.get(other)
    assert kept is not None
    assert kept.allow_invites_from == NONE


async def test_a_put_not_committed_is_not_kept(make_uow: UowFactory) -> None:
    tenant = str(uuid.uuid4())
    async with make_uow() as uow:
        await uow.invitation_policies.put(
            InvitationPolicy(
                tenant_id=tenant, allow_invites_from=NONE, updated_at="2026-12-02T03:00:00Z"
            )
        )
    async with make_uow(write=False) as uow:
        assert await uow.invitation_policies.get(tenant) is None
