"""Failure throttling: slow down online guessing without letting an attacker lock others out.

Only failures count. A key (for the token endpoint: client id plus source address) that fails
`limit` times inside `window` seconds is refused until its oldest failure leaves the window, so
a client using the right secret from another address is never affected (RFC 6819 §4.3.5;
ASVS 5.0 V6.1.1). Memory is bounded: the least recently failed keys are forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque


class FailureThrottle:
    def __init__(self, limit: int, window: float, *, max_keys: int = 50_000) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[object, deque[float]] = OrderedDict()

    def retry_after(self, key: object, now: float) -> int | None:
        """Whole seconds until `key` may try again, or None when it may try now."""
        failures = self._failures.get(key)
        if failures is None:
            return None
        self._expire(failures, now)
        if not failures:
            del self._failures[key]
            return None
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, key: object, now: float) -> None:
        failures = self._failures.get(key)
        if failures is None:
            failures = self._failures[key] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(key)
            self._expire(failures, now)
        failures.append(now)

    def __len__(self) -> int:
        return len(self._failures)

    def _expire(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()
