"""The event log: per-tenant numbers that a rollback gives back, ordered reads, ranges."""

from __future__ import annotations

import uuid

import pytest

from guestgate.domain.events import Event
from guestgate.errors import IntegrityError
from tests.contract.builders import UowFactory, at, make_tenant

pytestmark = pytest.mark.anyio


def event(tenant_id: str, sequence: int, kind: str = "invitation.created", when: int = 1) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        sequence=sequence,
        type=kind,
        occurred_at=at(when),
        body=f'{{"n":{sequence}}}',
    )


async def test_numbers_count_per_tenant_and_a_rollback_gives_its_number_back(
    make_uow: UowFactory,
) -> None:
    tenant, other = make_tenant().id, make_tenant().id
    async with make_uow() as uow:
        assert [await uow.events.next_sequence(tenant) for _ in range(3)] == [1, 2, 3]
        assert await uow.events.next_sequence(other) == 1
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.events.next_sequence(tenant) == 4  # rolled back: not committed
    async with make_uow(write=False) as uow:
        assert await uow.events.last_sequence(tenant) == 3
        assert await uow.events.last_sequence(make_tenant().id) == 0


async def test_events_read_in_number_order_by_cursor_type_and_time(make_uow: UowFactory) -> None:
    tenant, other = make_tenant().id, make_tenant().id
    stored = [
        event(tenant, 2, "invitation.revoked", when=2),
        event(tenant, 1, when=1),
        event(tenant, 3, when=3),
        event(other, 1, when=1),
    ]
    async with make_uow() as uow:
        for item in stored:
            await uow.events.add(item)
        await uow.commit()
    async with make_uow(write=False) as uow:
        everything = await uow.events.after(tenant, after=0, types=[], limit=10)
        assert [e.sequence for e in everything] == [1, 2, 3]
        assert everything[1] == stored[0]
        assert [e.sequence for e in await uow.events.after(tenant, after=1, types=[], limit=1)] == [
            2
        ]
        revoked = await uow.events.after(tenant, after=0, types=["invitation.revoked"], limit=10)
        assert [e.id for e in revoked] == [stored[0].id]
        ranged = await uow.events.between(tenant, start=at(2), end=at(3), limit=10)
        assert [e.sequence for e in ranged] == [2]
        assert await uow.events.get(tenant, stored[3].id) is None  # another tenant's
        assert await uow.events.get(other, stored[3].id) == stored[3]


async def test_a_number_is_used_once_per_tenant(make_uow: UowFactory) -> None:
    tenant = make_tenant().id
    async with make_uow() as uow:
        await uow.events.add(event(tenant, 1))
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.events.add(event(tenant, 1))
