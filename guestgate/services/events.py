"""Events: written in the transaction of the change they tell of, read by the feed.

`emit` is called by governance (`Governance.record`, for every change either directory
makes) and by redemption (an accepted invitation), inside the caller's unit of work: the
change and its event commit together or not at all. Webhook deliveries are made from the
stored events later, by the worker (services/webhooks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from guestgate.domain import events as rules
from guestgate.domain.events import Event
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.errors import ValidationError
from guestgate.services.ports import UnitOfWork

MAX_PAGE = 1000


async def emit(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    rng: Randomness = SYSTEM,
) -> Event:
    """Number the event in its tenant's sequence and store it, in the caller's transaction."""
    sequence = await uow.events.next_sequence(tenant_id)
    event = Event(
        id=rng.uuid(),
        tenant_id=tenant_id,
        sequence=sequence,
        type=event_type,
        occurred_at=iso(now),
        body=rules.render(
            event_type=event_type, sequence=sequence, tenant_id=tenant_id, now=now, data=data
        ),
    )
    await uow.events.add(event)
    return event


def parse_cursor(value: str | None) -> int:
    """A feed cursor is the sequence number of the last event seen; none means the start."""
    if value is None or value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # not ¹ or ١ either
        raise ValidationError(
            "after must be the sequence number of the last event seen (0 or more).",
            code="InvalidCursor",
        )
    return int(value)


async def feed(
    uow: UnitOfWork, *, tenant_id: str, after: int, types: Sequence[str], limit: int
) -> Sequence[Event]:
    """The tenant's events after a cursor, in sequence order, at most `limit`."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"top takes 1 to {MAX_PAGE}.", code="InvalidPageSize")
    chosen = rules.check_event_types(types)
    async with uow:
        return await uow.events.after(tenant_id, after=after, types=chosen, limit=limit)
