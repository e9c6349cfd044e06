"""Rate-limit counters and the ends of redemption sessions, on the fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from guestgate.domain.throttle import Count
from tests.contract.builders import UowFactory, at, committed, make_invitation, tenant_with_guest

pytestmark = pytest.mark.anyio


async def test_hits_count_within_a_window_and_start_over_after_it(make_uow: UowFactory) -> None:
    async with make_uow() as uow:
        limits = uow.rate_limits
        assert await limits.hit("k", now_ms=1_000, window_ms=60_000) == Count(1, 61_000)
        assert await limits.hit("k", now_ms=2_000, window_ms=60_000) == Count(2, 61_000)
        assert await limits.hit("other", now_ms=2_000, window_ms=10_000) == Count(1, 12_000)
        assert await limits.hit("k", now_ms=61_000, window_ms=60_000) == Count(1, 121_000)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.rate_limits.get("k", now_ms=61_500) == Count(1, 121_000)
        assert await uow.rate_limits.get("other", now_ms=12_000) is None  # its window ended
        assert await uow.rate_limits.get("unknown", now_ms=0) is None


async def test_refund_takes_back_one_hit_of_the_current_window(make_uow: UowFactory) -> None:
    async with make_uow() as uow:
        await uow.rate_limits.hit("k", now_ms=0, window_ms=1_000)
        await uow.rate_limits.hit("k", now_ms=0, window_ms=1_000)
        await uow.rate_limits.refund("k", now_ms=10)
        await uow.rate_limits.refund("unknown", now_ms=10)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.rate_limits.get("k", now_ms=10) == Count(1, 1_000)


async def test_purge_forgets_ended_windows_only(make_uow: UowFactory) -> None:
    async with make_uow() as uow:
        await uow.rate_limits.hit("old", now_ms=0, window_ms=1_000)
        await uow.rate_limits.hit("new", now_ms=0, window_ms=5_000)
        assert await uow.rate_limits.purge(now_ms=1_000) == 1
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.rate_limits.get("new", now_ms=1_000) == Count(1, 5_000)


async def test_parallel_hits_each_see_their_own_total(make_uow: UowFactory) -> None:
    async def one() -> int:
        async with make_uow() as uow:
            count = await uow.rate_limits.hit("burst", now_ms=0, window_ms=60_000)
            await uow.commit()
        return count.hits

    totals = await asyncio.gather(*(one() for _ in range(12)))
    assert sorted(totals) == list(range(1, 13))
    async with make_uow(write=False) as uow:
        assert await uow.rate_limits.get("burst", now_ms=1) == Count(12, 60_000)


async def test_sessions_of_an_invitation_end_together(make_uow: UowFactory) -> None:
    _, guest = await tenant_with_guest(make_uow)
    first, second = make_invitation(guest), make_invitation(guest)
    await committed(make_uow, (first, "t1"), (second, "t2"))
    async with make_uow() as uow:
        for name, invitation in (("a", first), ("b", first), ("c", second)):
            await uow.redeem_sessions.add(
                session_hash=name, invitation_id=invitation.id, now=at(0), expires_at=at(3600)
            )
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.redeem_sessions.end_for_invitation(first.id) == 2
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.redeem_sessions.get("a") is None
        assert await uow.redeem_sessions.get("b") is None
        assert await uow.redeem_sessions.get("c") is not None


async def test_purge_forgets_sessions_that_ended_before_a_time(make_uow: UowFactory) -> None:
    _, guest = await tenant_with_guest(make_uow)
    invitation = make_invitation(guest)
    await committed(make_uow, (invitation, "t1"))
    async with make_uow() as uow:
        for name, ends in (("old", 10), ("new", 100)):
            await uow.redeem_sessions.add(
                session_hash=name, invitation_id=invitation.id, now=at(0), expires_at=at(ends)
            )
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.redeem_sessions.purge(ended_before=at(50)) == 1
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.redeem_sessions.get("old") is None
        assert await uow.redeem_sessions.get("new") is not None


async def test_a_session_starts_only_from_the_current_ticket_of_a_pending_invitation(
    make_uow: UowFactory,
) -> None:
    _, guest = await tenant_with_guest(make_uow)
    pending, revoked = make_invitation(guest), make_invitation(guest, status="Revoked")
    await committed(make_uow, (pending, "t-current"), (revoked, "t-revoked"))
    times = {"now": at(0), "expires_at": at(3600)}
    async with make_uow() as uow:
        sessions = uow.redeem_sessions
        assert await sessions.add_if_current(
            session_hash="ok", invitation_id=pending.id, ticket_hash="t-current", **times
        )
        assert not await sessions.add_if_current(
            session_hash="old", invitation_id=pending.id, ticket_hash="t-old", **times
        )
        assert not await sessions.add_if_current(
            session_hash="rev", invitation_id=revoked.id, ticket_hash="t-revoked", **times
        )
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.redeem_sessions.get("ok") is not None
        assert await uow.redeem_sessions.get("old") is None
        assert await uow.redeem_sessions.get("rev") is None
