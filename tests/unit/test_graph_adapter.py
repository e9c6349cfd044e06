from __future__ import annotations

import asyncio
from email.utils import formatdate

import httpx
import pytest

from guestgate.adapters.graph import InvitationLimiter, backoff, retry_after


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.anyio
async def test_limiter_lets_150_through_per_window_per_tenant() -> None:
    time = FakeTime()
    limiter = InvitationLimiter(150, 5.0, clock=time.clock, sleep=time.sleep)
    stamps = []
    for _ in range(400):
        await limiter.acquire("tenant-a")
        stamps.append(time.now)
    assert max(sum(1 for u in stamps if t <= u < t + 5.0) for t in stamps) == 150
    assert stamps[149] == 0.0
    assert stamps[150] == pytest.approx(5.0)
    before = time.now
    await limiter.acquire("tenant-b")  # another tenant is not slowed by the first
    assert time.now == before


def test_retry_after_seconds_and_http_dates() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    dated = retry_after(httpx.Response(503, headers={"Retry-After": formatdate(usegmt=True)}))
    assert dated is not None
    assert 0.0 <= dated < 2.0
    assert retry_after(httpx.Response(503)) is None
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None


def test_backoff_grows_and_is_capped() -> None:
    assert 0.125 <= backoff(1) <= 0.25
    assert 4.0 <= backoff(10) <= 8.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
