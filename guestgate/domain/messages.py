"""Outbound messages: what the outbox holds and how failed deliveries are retried."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

INVITATION = "invitation"
REQUESTER_NOTIFICATION = "requester_notification"
ONE_TIME_CODE = "one_time_code"
KINDS = (INVITATION, REQUESTER_NOTIFICATION, ONE_TIME_CODE)

PENDING = "pending"
SENT = "sent"
DEAD = "dead"

MAX_ATTEMPTS = 8
BASE_DELAY = 5.0  # seconds before the first retry
MAX_DELAY = 3600.0
LEASE = timedelta(seconds=60)  # renewed at half-time while a batch is being sent


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    tenant_id: str
    kind: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None
    payload: dict[str, Any] | None = None  # opened only by the worker


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A message leased to a worker for one delivery attempt (counted in `attempts`)."""

    id: str
    tenant_id: str
    kind: str
    recipient: str
    attempts: int
    sealed: str  # the payload, sealed with the outbox id as context


def retry_delay(
    attempts: int, rng: random.Random | None = None, *, base: float = BASE_DELAY
) -> float:
    """Exponential backoff with jitter: uniform in [c/2, c], c = min(cap, base * 2^(n-1))."""
    ceiling = min(MAX_DELAY, base * 2 ** max(0, attempts - 1))
    return (rng or random.SystemRandom()).uniform(ceiling / 2, ceiling)


def next_attempt(
    now: datetime, attempts: int, rng: random.Random | None = None, *, base: float = BASE_DELAY
) -> datetime:
    return now + timedelta(seconds=retry_delay(attempts, rng, base=base))


def message_id(outbox_id: str, domain: str) -> str:
    """Derived from the row, so a re-send after an unknown outcome carries the same id."""
    return f"<{outbox_id}@{domain}>"
