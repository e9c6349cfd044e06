"""The event log: per-tenant numbers that a rollback gives back, ordered reads, ranges."""

from __future__ import annotations

import json
import uuid

import pytest

from guestgate.domain.events import Event
from guestgate.errors import IntegrityError
from tests.contract.builders import UowFactory, at, make_tenant

pytestmark = pytest.mark.anyio


def event(
    tenant_id: str, sequence: int | None, kind: str = "invitation.created", when: int = 1
) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        sequence=sequence,
        type=kind,
        occurred_at=at(when),
        body=json.dumps({"type": kind, "data": {"sequence": sequence, "n": when}}),
    )


async def test_a_pass_numbers_new_events_per_tenant_and_a_rollback_gives_numbers_back(
    make_uow: UowFactory,
) -> None:
    tenant, other = make_tenant().id, make_tenant().id
    written = [event(tenant, None, when=w) for w in (3, 1, 2)] + [event(other, None, when=5)]
    async with make_uow() as uow:
        for item in written:
            await uow.events.add(item)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.events.after(tenant, after=0, types=[], limit=10) == []  # not yet
    async with make_uow() as uow:
        assert await uow.events.number_pending(10) == 4
        # rolled back: the numbers are given back
    async with make_uow() as uow:
        assert await uow.events.number_pending(2) == 2  # the two that occurred first
        assert await uow.events.number_pending(10) == 2
        assert await uow.events.number_pending(10) == 0
        await uow.commit()
    async with make_uow(write=False) as uow:
        numbered = await uow.events.after(tenant, after=0, types=[], limit=10)
        assert [(e.sequence, json.loads(e.body)["data"]) for e in numbered] == [
            (1, {"sequence": 1, "n": 1}),
            (2, {"sequence": 2, "n": 2}),
            (3, {"sequence": 3, "n": 3}),
        ]
        assert [e.number for e in await uow.events.after(other, after=0, types=[], limit=9)] == [1]
        assert await uow.events.last_sequence(tenant) == 3
        assert await uow.events.last_sequence(make_tenant().id) == 0
    async with make_uow() as uow:
        await uow.events.add(event(tenant, None, when=9))
        assert await uow.events.number_pending(10) == 1
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.events.last_sequence(tenant) == 4


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
