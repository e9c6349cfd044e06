"""Pacers that hold for the deployment: Microsoft Graph's invitation limit, across processes.

A pacer spaces its turns evenly, one every `window / limit`, and the spacing is kept in the
database (`uow.pacing`), so every process and instance of a deployment takes its turns from
the same row. Each turn is reserved with one statement and the caller sleeps until it starts:
no polling, no retries, one short write per turn.

Even spacing, not a burst of `limit` followed by pacing: with a burst allowance a caller
could take `limit` turns at the end of one window and the pacing would give it almost as
many again before that window had passed (a sliding window would see nearly twice the
limit). Evenly spaced turns never put more than `limit` into any window of `window` seconds,
wherever it starts; an idle pacer still answers at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from guestgate.services.ports import UnitOfWork


class Pacer:
    """At most `limit` turns per `window` seconds per key, for every process together."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        *,
        name: str,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.uow = uow  # a write that commits alone: it never waits in a group commit
        self.name = name
        # In microseconds, rounded up: a turn a microsecond late costs nothing, one early could
        # put limit + 1 turns into a window. (Milliseconds would cost up to 2 % of the pace:
        # 5 s / 150 is 33.3 ms, rounded up to 34.)
        self.interval_us = -(-round(window * 1_000_000) // limit)
        self.clock = clock  # wall time: every process and host must agree on it
        self.sleep = sleep

    def key(self, part: str) -> str:
        """The stored name of one pacer: this pacer's name and a hash of what it paces."""
        digest = hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        # ".us": turns kept in microseconds. Rows kept in milliseconds by an earlier version
        # have names without it, so a process of each version never reads the other's unit.
        return f"{self.name}.us:{digest}"

    async def acquire(self, tenant_id: str) -> None:
        """Wait for a turn of the tenant's pacer."""
        now = int(self.clock() * 1_000_000)
        async with self.uow() as uow:
            start = await uow.pacing.reserve(
                self.key(tenant_id), now_us=now, interval_us=self.interval_us
            )
            await uow.commit()
        if start > now:
            await self.sleep((start - now) / 1_000_000)
