"""The worker's sweeps over events: expired invitations told of, old events forgotten.

`report_expired` writes `invitation.expired` for pending invitations past their expiry. An
invitation's status stays PendingAcceptance in storage (its Expired status is read from the
time, domain/invitations.py), so the expiry told of is stored with it (`expiry_reported`):
a conditional update marks it, and only the sweeper whose update changed the row writes the
event, so two workers on PostgreSQL tell of each expiry once. A resend gives a new expiry,
and that one is told of again when it passes.

`forget_old_events` deletes events and delivery logs older than the event retention period,
in bounded batches (one transaction each), never an event still owed to an endpoint or a
Graph subscription. The feed answers a cursor older than what is kept with 410
(services/events.py `feed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate.domain import events as event_rules
from guestgate.domain.timestamps import iso
from guestgate.services import events
from guestgate.services.ports import UnitOfWork

SWEEP_BATCH = 500
RETENTION_BATCH = 1000


async def report_expired(
    make_uow: Callable[[], UnitOfWork], *, now: datetime, batch: int = SWEEP_BATCH
) -> int:
    """Tell of every expiry passed by `now` not told of yet; returns how many this call told."""
    told = 0
    while True:
        async with make_uow() as uow:
            found = await uow.invitations.expired_unreported(now=iso(now), limit=batch)
            marked = 0
            for invitation in found:
                assert invitation.expires_at is not None
                if not await uow.invitations.report_expiry(
                    invitation.id, expires_at=invitation.expires_at
                ):
                    continue  # another sweeper told of it, or it changed meanwhile
                marked += 1
                await events.emit(
                    uow,
                    tenant_id=invitation.tenant_id,
                    event_type=event_rules.INVITATION_EXPIRED,
                    data={
                        "invitationId": invitation.id,
                        "userId": invitation.user_id,
                        "expiredDateTime": invitation.expires_at,
                    }
                    | event_rules.actor_data(None, None),
                    now=now,
                )
            await uow.commit()
        told += marked
        if len(found) < batch or marked == 0:
            return told


@dataclass(frozen=True, slots=True)
class ForgottenEvents:
    events: int
    log_rows: int


async def forget_old_events(
    make_uow: Callable[[], UnitOfWork],
    *,
    now: datetime,
    retention_days: int,
    batch: int = RETENTION_BATCH,
) -> ForgottenEvents:
    """Delete the delivery log, then events, older than `retention_days`, `batch` rows per
    transaction; how many of each went."""
    cutoff = iso(now - timedelta(days=retention_days))
    counts = [0, 0]
    for index in (1, 0):  # the log first: its rows point at the events
        while True:
            async with make_uow() as uow:
                if index == 1:
                    gone = await uow.webhooks.purge_log(before=cutoff, limit=batch)
                else:
                    gone = await uow.events.purge(before=cutoff, limit=batch)
                await uow.commit()
            counts[index] += gone
            if gone < batch:
                break
    return ForgottenEvents(events=counts[0], log_rows=counts[1])
