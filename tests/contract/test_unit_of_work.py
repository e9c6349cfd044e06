"""The unit of work: committed work is seen by the next one; anything else is rolled back."""

from __future__ import annotations

import asyncio

import pytest

from tests.contract.builders import UowFactory, committed, make_tenant, make_user, unique
from tests.fakes import FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.anyio


async def tenant_count(make_uow: UowFactory) -> int:
    async with make_uow(write=False) as uow:
        return await uow.tenants.count()


async def test_work_is_rolled_back_unless_committed(make_uow: UowFactory) -> None:
    async with make_uow() as uow:
        await uow.tenants.add(make_tenant())
        assert await uow.tenants.count() == 1  # a transaction sees its own work
    assert await tenant_count(make_uow) == 0


async def test_an_error_rolls_back_even_after_commit_was_asked(make_uow: UowFactory) -> None:
    async def add_then_fail() -> None:
        async with make_uow() as uow:
            await uow.tenants.add(make_tenant())
            await uow.commit()
            raise LookupError

    with pytest.raises(LookupError):
        await add_then_fail()
    assert await tenant_count(make_uow) == 0


async def test_concurrent_adds_of_one_email_key_add_one_user(make_uow: UowFactory) -> None:
    tenant = make_tenant()
    await committed(make_uow, tenant)
    key = f"same-{unique()}@example.com"

    async def add() -> bool:
        async with make_uow() as uow:
            added = await uow.users.add_if_absent(make_user(tenant.id, email_key=key))
            await uow.commit()
        return added

    assert sorted(await asyncio.gather(*(add() for _ in range(4)))) == [False, False, False, True]


async def test_one_unit_of_work_may_run_several_transactions(make_uow: UowFactory) -> None:
    uow = make_uow()
    first, second = make_tenant(), make_tenant()
    async with uow:
        await uow.tenants.add(first)
        await uow.commit()
    async with uow:
        await uow.tenants.add(second)  # not committed: this transaction alone rolls back
    async with uow:
        assert await uow.tenants.get(first.id) == first
        assert await uow.tenants.get(second.id) is None


async def test_the_fake_counts_its_commits_and_shares_its_store() -> None:
    store = FakeStore()
    uow = FakeUnitOfWork(store)
    async with uow:
        await uow.tenants.add(make_tenant())
        await uow.commit()
    async with uow:
        await uow.tenants.add(make_tenant())
    assert uow.committed == 1
    async with FakeUnitOfWork(store, write=False) as reader:
        assert await reader.tenants.count() == 1


async def test_a_read_only_fake_refuses_to_change_data() -> None:
    with pytest.raises(AssertionError, match="read-only"):
        async with FakeUnitOfWork(write=False) as uow:
            await uow.tenants.add(make_tenant())
