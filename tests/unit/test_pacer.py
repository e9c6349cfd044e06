"""The pacer's arithmetic with a fixed clock, over the in-memory unit of work."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from guestgate.services.pacing import Pacer
from tests.fakes import FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.anyio


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def pacer(time: FakeTime, store: FakeStore, *, limit: int = 150, window: float = 5.0) -> Pacer:
    return Pacer(
        lambda: FakeUnitOfWork(store),
        name="graph-invitations",
        limit=limit,
        window=window,
        clock=time.clock,
        sleep=time.sleep,
    )


def most_in_any_window(stamps: list[float], window: float) -> int:
    return max(sum(1 for u in stamps if t <= u < t + window) for t in stamps)


async def test_turns_are_spaced_evenly_and_never_exceed_the_limit_in_any_window() -> None:
    time, store = FakeTime(), FakeStore()
    limiter = pacer(time, store)
    stamps = []
    for _ in range(400):
        await limiter.acquire("tenant-a")
        stamps.append(time.now)
    assert stamps[0] == 1_000.0  # an idle pacer answers at once
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    # 5 s / 150 = 33,333.3 µs, rounded up to 33,334 (the clock read down to the µs)
    assert min(gaps) >= 0.033333 - 1e-9
    assert max(gaps) <= 0.033335 + 1e-9
    assert most_in_any_window(stamps, 5.0) <= 150
    assert most_in_any_window(stamps, 5.0) >= 149  # and the pace stays at the limit


async def test_the_margin_bootstrap_adds_costs_under_one_percent_of_the_pace() -> None:
    time, store = FakeTime(), FakeStore()
    limiter = pacer(time, store, window=5.0 + 0.040)  # GUESTGATE_GRAPH_PACING_MARGIN_MS=40
    for _ in range(301):
        await limiter.acquire("tenant-a")
    rate = 300 / (time.now - 1_000.0)
    assert 30 * 0.99 <= rate < 30  # 29.76 turns/s: within 2 % of Graph's 30/s, never over


async def test_a_burst_after_a_full_window_is_not_doubled() -> None:
    time, store = FakeTime(), FakeStore()
    limiter = pacer(time, store, limit=10, window=1.0)
    stamps = []

    async def one() -> None:
        await limiter.acquire("tenant-a")
        stamps.append(time.now)

    for _ in range(10):
        await one()
    time.now += 0.95  # just before the window of the first turns ends
    await asyncio.gather(*(one() for _ in range(10)))
    assert most_in_any_window(sorted(stamps), 1.0) <= 10


async def test_an_idle_pacer_does_not_save_turns_for_later() -> None:
    time, store = FakeTime(), FakeStore()
    limiter = pacer(time, store, limit=10, window=1.0)
    await limiter.acquire("tenant-a")
    time.now += 60.0
    stamps = []
    for _ in range(3):
        await limiter.acquire("tenant-a")
        stamps.append(time.now)
    assert stamps == [pytest.approx(1_060.0 + 0.1 * i, abs=0.002) for i in range(3)]


async def test_tenants_have_their_own_pacers() -> None:
    time, store = FakeTime(), FakeStore()
    limiter = pacer(time, store, limit=2, window=1.0)
    await limiter.acquire("tenant-a")
    await limiter.acquire("tenant-a")
    before = time.now
    await limiter.acquire("tenant-b")  # another tenant is not slowed by the first
    assert time.now == before
    assert len(store.pacers) == 2
    assert all(name.startswith("graph-invitations.us:") for name in store.pacers)


def test_a_limit_or_window_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        pacer(FakeTime(), FakeStore(), limit=0)
    with pytest.raises(ValueError, match="positive"):
        pacer(FakeTime(), FakeStore(), window=0.0)
