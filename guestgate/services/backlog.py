"""The delivery queues' state for `/metrics`: one short read of the mail outbox and the
webhook deliveries, at scrape time (what the database holds, whichever process queued it)."""

from __future__ import annotations

from datetime import datetime

from guestgate.domain.timestamps import parse_iso
from guestgate.metrics import Backlog
from guestgate.services.ports import UnitOfWork


async def backlogs(uow: UnitOfWork, *, now: datetime) -> list[Backlog]:
    """Pending and dead entries of each queue, and the age of its oldest pending one."""
    async with uow:
        queues = [("mail", await uow.outbox.backlog()), ("webhook", await uow.webhooks.backlog())]
    return [
        Backlog(
            queue=name,
            pending=state.pending,
            oldest_age_seconds=0.0
            if state.oldest_pending_at is None
            else max((now - parse_iso(state.oldest_pending_at)).total_seconds(), 0.0),
            dead=state.dead,
        )
        for name, state in queues
    ]
