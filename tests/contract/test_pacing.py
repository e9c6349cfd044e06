"""Pacers on the fakes, SQLite and PostgreSQL: evenly spaced turns, each reserved once."""

from __future__ import annotations

import asyncio

import pytest

from tests.contract.builders import UowFactory

pytestmark = pytest.mark.anyio


async def test_turns_follow_each_other_and_start_now_when_the_pacer_is_idle(
    make_uow: UowFactory,
) -> None:
    async with make_uow() as uow:
        pacing = uow.pacing
        assert await pacing.reserve("p", now_us=1_000, interval_us=100) == 1_000
        assert await pacing.reserve("p", now_us=1_000, interval_us=100) == 1_100
        assert await pacing.reserve("p", now_us=1_050, interval_us=100) == 1_200
        assert await pacing.reserve("other", now_us=1_050, interval_us=100) == 1_050
        assert await pacing.reserve("p", now_us=5_000, interval_us=100) == 5_000  # idle
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.pacing.reserve("p", now_us=5_000, interval_us=100) == 5_100


async def test_a_rolled_back_reservation_is_forgotten(make_uow: UowFactory) -> None:
    async with make_uow() as uow:
        await uow.pacing.reserve("p", now_us=0, interval_us=100)
    async with make_uow() as uow:
        assert await uow.pacing.reserve("p", now_us=0, interval_us=100) == 0


async def test_parallel_reservations_each_get_their_own_turn(make_uow: UowFactory) -> None:
    async def one() -> int:
        async with make_uow() as uow:
            start = await uow.pacing.reserve("burst", now_us=0, interval_us=10)
            await uow.commit()
        return start

    starts = await asyncio.gather(*(one() for _ in range(12)))
    assert sorted(starts) == [10 * i for i in range(12)]
    async with make_uow() as uow:  # the stored state agrees: the next turn is the 13th
        assert await uow.pacing.reserve("burst", now_us=0, interval_us=10) == 120
