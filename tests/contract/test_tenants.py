"""Tenants: add, read by id or domain, links, listing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from guestgate.errors import IntegrityError
from tests.contract.builders import UowFactory, at, committed, make_tenant, unique

pytestmark = pytest.mark.anyio


async def test_get_returns_the_added_tenant_with_its_domains_in_order(
    make_uow: UowFactory,
) -> None:
    tenant = make_tenant(domains=(f"b{unique()}.example", f"a{unique()}.example"))
    await committed(make_uow, tenant)
    async with make_uow(write=False) as uow:
        assert await uow.tenants.get(tenant.id) == tenant
        assert await uow.tenants.get(tenant.id, links=False) == tenant
        assert await uow.tenants.get(make_tenant().id) is None


async def test_a_new_tenant_has_no_links_until_they_are_set(make_uow: UowFactory) -> None:
    tenant = make_tenant(landing_url="https://ignored.example")
    await committed(make_uow, tenant)
    async with make_uow() as uow:
        found = await uow.tenants.get(tenant.id)
        assert found is not None
        assert (found.privacy_url, found.logo_url, found.landing_url) == (None, None, None)
        await uow.tenants.set_links(
            tenant.id,
            privacy_url="https://p.example",
            logo_url=None,
            landing_url="https://l.example",
        )
        await uow.commit()
    async with make_uow(write=False) as uow:
        found = await uow.tenants.get(tenant.id)
    assert found is not None
    assert (found.privacy_url, found.logo_url, found.landing_url) == (
        "https://p.example",
        None,
        "https://l.example",
    )
    assert (found.name, found.domains) == (tenant.name, tenant.domains)


async def test_set_invitation_lifetime_changes_only_that_tenants_lifetime(
    make_uow: UowFactory,
) -> None:
    tenant, other = make_tenant(invitation_lifetime_days=30), make_tenant()
    await committed(make_uow, tenant, other)
    async with make_uow() as uow:
        await uow.tenants.set_invitation_lifetime(tenant.id, 0)
        await uow.tenants.set_invitation_lifetime(make_tenant().id, 5)  # unknown: no change
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.tenants.get(tenant.id) == replace(tenant, invitation_lifetime_days=0)
        assert await uow.tenants.get(other.id) == other
        assert await uow.tenants.count() == 2


async def test_get_by_domain_finds_the_tenant_of_each_of_its_domains(
    make_uow: UowFactory,
) -> None:
    tenant = make_tenant(domains=(f"a{unique()}.example", f"b{unique()}.example"))
    other = make_tenant()
    await committed(make_uow, tenant, other)
    async with make_uow(write=False) as uow:
        for domain in tenant.domains:
            assert await uow.tenants.get_by_domain(domain) == tenant
            assert await uow.tenants.domain_taken(domain)
        assert await uow.tenants.get_by_domain(other.domains[0]) == other
        assert await uow.tenants.get_by_domain("unknown.example") is None
        assert not await uow.tenants.domain_taken("unknown.example")


async def test_a_taken_domain_refuses_a_second_tenant(make_uow: UowFactory) -> None:
    tenant = make_tenant()
    await committed(make_uow, tenant)
    async with make_uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.tenants.add(make_tenant(domains=(f"x{unique()}.example", *tenant.domains)))
    async with make_uow(write=False) as uow:
        assert await uow.tenants.count() == 1


async def test_list_is_ordered_by_creation_then_id_and_count_counts(
    make_uow: UowFactory,
) -> None:
    late = make_tenant(created_at=at(20))
    early = make_tenant(created_at=at(10))
    tied = sorted(
        [make_tenant(created_at=at(15)), make_tenant(created_at=at(15))], key=lambda t: t.id
    )
    async with make_uow(write=False) as uow:
        assert await uow.tenants.list() == []
        assert await uow.tenants.count() == 0
    await committed(make_uow, late, tied[1], early, tied[0])
    async with make_uow(write=False) as uow:
        assert await uow.tenants.list() == [early, *tied, late]
        assert await uow.tenants.count() == 4
