"""Throttles that hold for the deployment: each check and count is a short transaction.

The limits and their arithmetic are in domain/throttle.py; the counters are rows every
process sees (`uow.rate_limits`). Two ways to count:

- `failed` after the fact, for what is cheap to check and expensive to guess (a client
  secret, an invitation link): a parallel burst may overshoot by the requests in flight;
- `take` before the fact, for what a burst could otherwise guess in parallel (a one-time
  code): the attempt is counted before it is evaluated, and `refund`ed if it was right.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from guestgate import metrics
from guestgate.domain import throttle as rules
from guestgate.domain.throttle import Limit
from guestgate.services.ports import UnitOfWork

Check = tuple[Limit, tuple[str, ...]]  # a limit and the parts of its key


class Throttles:
    def __init__(
        self, uow: Callable[..., UnitOfWork], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.uow = uow
        self.clock = clock  # wall time: every process and host must agree on windows

    def _now(self) -> int:
        return int(self.clock() * 1000)

    async def retry_after(self, *checks: Check) -> int | None:
        """Seconds to wait before trying again (the longest of `checks`), or None."""
        async with self.uow(write=False) as uow:
            return await self.retry_after_in(uow, *checks)

    async def retry_after_in(self, uow: UnitOfWork, *checks: Check) -> int | None:
        """`retry_after` in the caller's transaction (a page that reads more in the same one)."""
        now = self._now()
        waits: list[tuple[int, str]] = []
        for limit, parts in checks:
            count = await uow.rate_limits.get(limit.key(*parts), now_ms=now)
            if (wait := rules.retry_after(count, limit, now)) is not None:
                waits.append((wait, limit.name))
        return _refused(waits)

    async def failed(self, *checks: Check) -> None:
        """Count one failure against each of `checks`."""
        now = self._now()
        async with self.uow() as uow:
            for limit, parts in checks:
                await uow.rate_limits.hit(
                    limit.key(*parts), now_ms=now, window_ms=limit.window_seconds * 1000
                )
            await uow.commit()

    async def take(self, *checks: Check) -> int | None:
        """Count an attempt before it is evaluated: None if it may go on, else seconds to wait."""
        now = self._now()
        waits = []
        async with self.uow() as uow:
            for limit, parts in checks:
                count = await uow.rate_limits.hit(
                    limit.key(*parts), now_ms=now, window_ms=limit.window_seconds * 1000
                )
                if rules.over(count, limit):
                    waits.append((max(1, -(-(count.window_ends - now) // 1000)), limit.name))
            await uow.commit()
        return _refused(waits)

    async def refund(self, *checks: Check) -> None:
        """Take back an attempt `take` counted: it was no failure."""
        now = self._now()
        async with self.uow() as uow:
            for limit, parts in checks:
                await uow.rate_limits.refund(limit.key(*parts), now_ms=now)
            await uow.commit()


def _refused(waits: list[tuple[int, str]]) -> int | None:
    """The longest wait, or None; a refusal is counted once, under the limit that set it."""
    if not waits:
        return None
    wait, name = max(waits)
    metrics.throttled(name)
    return wait
