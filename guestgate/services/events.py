"""Events: written in the transaction of the change they tell of, read by the feed.

`emit` is called by governance (`Governance.record`, for every change either directory
makes) and by redemption (an accepted invitation), inside the caller's unit of work: the
change and its event commit together or not at all. Webhook deliveries are made from the
stored events later, by the worker (services/webhooks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from guestgate.domain import events as rules
from guestgate.domain.events import Event
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.errors import Gone, ValidationError
from guestgate.services.ports import UnitOfWork

MAX_PAGE = 1000
NUMBERING_BATCH = 500


async def emit(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    rng: Randomness = SYSTEM,
) -> Event:
    """Store the event in the caller's transaction; `number_pending` numbers it later.

    Numbering at write time would hold the tenant's counter row until the change commits,
    and with group commit (adapters/sql/postgres.py) one tenant's writes would then queue
    behind each other's commit groups. A numbering pass instead gives numbers in the order
    events become visible, so a feed reader never skips one.
    """
    event = Event(
        id=rng.uuid(),
        tenant_id=tenant_id,
        sequence=None,
        type=event_type,
        occurred_at=iso(now),
        body=rules.render(
            event_type=event_type, sequence=None, tenant_id=tenant_id, now=now, data=data
        ),
    )
    await uow.events.add(event)
    return event


async def number_pending(uow: UnitOfWork, *, batch: int = NUMBERING_BATCH) -> int:
    """Number every event written so far (its own transaction); returns how many."""
    total = 0
    while True:
        async with uow:
            numbered = await uow.events.number_pending(batch)
            await uow.commit()
        total += numbered
        if numbered < batch:
            return total


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
    make_uow: Callable[..., UnitOfWork],
    *,
    tenant_id: str,
    after: int,
    types: Sequence[str],
    limit: int,
) -> Sequence[Event]:
    """The tenant's events after a cursor, in sequence order, at most `limit`; events
    written so far are numbered first, so the page is as current as the database."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"top takes 1 to {MAX_PAGE}.", code="InvalidPageSize")
    chosen = rules.check_event_types(types)
    await number_pending(make_uow())
    async with make_uow(write=False) as uow:
        await _still_kept(uow, tenant_id, after)
        return await uow.events.after(tenant_id, after=after, types=chosen, limit=limit)


async def _still_kept(uow: UnitOfWork, tenant_id: str, after: int) -> None:
    """A cursor before the oldest event kept would skip the forgotten ones: 410, naming the
    oldest cursor that is still complete (services/event_sweeps.py forgets old events)."""
    oldest = await uow.events.oldest_sequence(tenant_id)
    if oldest is None:
        oldest = await uow.events.last_sequence(tenant_id) + 1  # all forgotten, or none yet
    if after + 1 >= oldest:
        return
    raise Gone(
        f"Events after {after} are no longer kept (the retention period passed);"
        f" the oldest cursor available is {oldest - 1}.",
        code="CursorExpired",
    )
