"""Limits on guessing and on mail a stranger can cause: counted in the database, per window.

Every limit is a counter per key (a client id and address, an address, an invitation) in a
fixed window: the first hit opens a window of `window_seconds`; once `limit` hits are in it,
the key is refused until the window ends. The counters live in the database, so a stated
limit holds for the whole deployment (`serve --workers N`, several hosts), and a hit is
counted atomically (an upsert), so a parallel burst cannot get past the limit.

What a counter counts is stored only as a hash (no addresses or client ids at rest), and a
key is normalised the way the lookup behind it is: `Client-ID ` and `client-id` are one key.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # what is counted: "token-client", "page-address", "invitation-sessions"…
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_seconds < 1:
            raise ValueError("limit and window must be positive")

    def key(self, *parts: str) -> str:
        """The stored name of one counter: this limit's name and a hash of what it counts."""
        text = "\x1f".join(parts).encode("utf-8", "surrogatepass")
        return f"{self.name}:{hashlib.sha256(text).hexdigest()[:40]}"


@dataclass(frozen=True, slots=True)
class Count:
    """A counter's state: hits in the current window and when it ends (epoch milliseconds)."""

    hits: int
    window_ends: int


def retry_after(count: Count | None, limit: Limit, now_ms: int) -> int | None:
    """Whole seconds until the key may try again, or None when it may try now."""
    if count is None or count.window_ends <= now_ms or count.hits < limit.limit:
        return None
    return max(1, math.ceil((count.window_ends - now_ms) / 1000))


def over(count: Count, limit: Limit) -> bool:
    """Whether a hit just counted went past the limit (and so must be refused)."""
    return count.hits > limit.limit


def client_key(client_id: str) -> str:
    """A client id as the token endpoint looks it up: case and surrounding space do not count."""
    return client_id.strip().lower()
