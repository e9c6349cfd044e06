"""The event log on SQLite and PostgreSQL: per-tenant numbers, and a feed that never skips."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain import events as event_rules
from guestgate.domain.events import Event
from guestgate.domain.timestamps import utcnow
from guestgate.services import events, tenants

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]


async def new_tenant(uow: UowFactory, name: str = "Contoso") -> str:
    domain = f"{name.lower()}{random.randrange(10**9)}.example"
    tenant = await tenants.create_tenant(uow(), name=name, domains=[domain], now=utcnow())
    return tenant.id


async def emit(uow: UowFactory, tenant_id: str, label: str, *, hold: float = 0.0) -> Event:
    async with uow() as work:
        event = await events.emit(
            work,
            tenant_id=tenant_id,
            event_type=event_rules.INVITATION_CREATED,
            data={"invitationId": label},
            now=utcnow(),
        )
        # Keep the transaction open a while after the number was taken: writers that come
        # later must not commit a higher number before this one.
        await asyncio.sleep(hold)
        await work.commit()
    return event


async def all_events(uow: UowFactory, tenant_id: str) -> list[Event]:
    return list(await events.feed(uow, tenant_id=tenant_id, after=0, types=[], limit=1000))


async def test_each_tenant_numbers_its_events_from_one(uow: UowFactory) -> None:
    first, second = await new_tenant(uow), await new_tenant(uow, "Fabrikam")
    for label in ("a", "b", "c"):
        await emit(uow, first, label)
    await emit(uow, second, "x")
    assert [e.sequence for e in await all_events(uow, first)] == [1, 2, 3]
    assert [e.sequence for e in await all_events(uow, second)] == [1]


async def test_a_rolled_back_change_leaves_no_event_and_no_gap(uow: UowFactory) -> None:
    tenant_id = await new_tenant(uow)
    await emit(uow, tenant_id, "kept")
    async with uow() as work:
        await events.emit(
            work,
            tenant_id=tenant_id,
            event_type=event_rules.INVITATION_REVOKED,
            data={},
            now=utcnow(),
        )  # no commit: rolled back
    await emit(uow, tenant_id, "next")
    found = await all_events(uow, tenant_id)
    assert [e.sequence for e in found] == [1, 2]
    assert [e.type for e in found] == ["invitation.created"] * 2


async def test_the_feed_filters_by_type_and_pages_by_cursor(uow: UowFactory) -> None:
    tenant_id = await new_tenant(uow)
    for label in ("a", "b", "c", "d"):
        await emit(uow, tenant_id, label)
    page = await events.feed(uow, tenant_id=tenant_id, after=1, types=[], limit=2)
    assert [e.sequence for e in page] == [2, 3]
    none = await events.feed(uow, tenant_id=tenant_id, after=0, types=["user.deleted"], limit=10)
    assert none == []


async def test_the_feed_never_skips_an_event_under_concurrent_writers(uow: UowFactory) -> None:
    """Writers hold their transaction open for a random while after numbering their event;
    a reader follows the feed all along. Every page it reads must continue exactly where the
    previous one stopped (a gap would be an event that commits later with a lower number),
    and at the end it must have read every stored event once, in order."""
    tenant_id = await new_tenant(uow)
    writers, each = 6, 12
    rng = random.Random(20)
    holds = [[rng.random() * 0.02 for _ in range(each)] for _ in range(writers)]
    done = asyncio.Event()
    seen: list[Event] = []

    async def writer(i: int) -> None:
        for j in range(each):
            await emit(uow, tenant_id, f"{i}-{j}", hold=holds[i][j])

    async def reader() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            page = await events.feed(uow, tenant_id=tenant_id, after=cursor, types=[], limit=5)
            assert [e.sequence for e in page] == list(range(cursor + 1, cursor + 1 + len(page)))
            seen.extend(page)
            if page:
                cursor = page[-1].sequence
            elif finished:
                return
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(i) for i in range(writers)))
    done.set()
    await reading
    stored = await all_events(uow, tenant_id)
    assert len(stored) == writers * each
    assert [e.sequence for e in stored] == list(range(1, writers * each + 1))
    assert [e.id for e in seen] == [e.id for e in stored]
