"""Retention at the ports: sent and dead messages past a time are forgotten, pending ones never."""

from __future__ import annotations

import pytest

from tests.contract.builders import UowFactory, at
from tests.contract.test_outbox import add, claim

pytestmark = pytest.mark.anyio


async def test_purge_forgets_old_sent_and_dead_messages_only(make_uow: UowFactory) -> None:
    await add(make_uow, "old-sent", "old-dead", "new-sent", "pending", now=at(0))
    await claim(make_uow, at(1), at(61))
    async with make_uow() as uow:
        await uow.outbox.mark_sent("old-sent", at(5))
        await uow.outbox.mark_failed("old-dead", error="550", next_attempt_at=at(9), dead=True)
        await uow.outbox.mark_sent("new-sent", at(500))
        await uow.outbox.mark_failed("pending", error="451", next_attempt_at=at(9), dead=False)
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.outbox.purge(before=at(100)) == 2
        await uow.commit()
    async with make_uow(write=False) as uow:
        left = await uow.outbox.list(status=None, limit=10)
    assert sorted(m.id for m in left) == ["new-sent", "pending"]
