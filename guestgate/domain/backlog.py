"""A delivery queue's state as the database holds it (mail outbox, webhook deliveries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueState:
    pending: int  # waiting to be delivered (due now or retried later)
    oldest_pending_at: str | None  # when the oldest of them was queued (ISO 8601)
    dead: int  # given up on, kept until retention removes them
