"""The transactional outbox: enqueue inside a use-case, deliver from a worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from guestgate import metrics
from guestgate.domain import events as event_rules
from guestgate.domain import messages as rules
from guestgate.domain.messages import (
    ClaimedMessage,
    InvitationMail,
    OutboxMessage,
    Payload,
    decode_payload,
    encode_payload,
)
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.services import events
from guestgate.services.ports import Sealer, UnitOfWork

log = logging.getLogger("guestgate.outbox")


class Transport(Protocol):
    """Sends what the builder made (the mail adapter's message type)."""

    async def send(self, message: Any) -> None: ...


MessageBuilder = Callable[[Payload, str], Any]  # (payload, outbox id) -> the message


async def enqueue(
    uow: UnitOfWork,
    *,
    sealer: Sealer,
    tenant_id: str,
    message: Payload,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> str:
    """Write a message in the caller's transaction. Its payload is sealed: it holds links."""
    message_id = rng.uuid()
    sealed = sealer.seal(encode_payload(message), f"outbox:{message_id}")
    await uow.outbox.add(
        id=message_id,
        tenant_id=tenant_id,
        kind=message.kind,
        recipient=message.to,
        sealed=sealed,
        now=iso(now),
    )
    return message_id


async def deliver_due(
    make_uow: Callable[[], UnitOfWork],
    *,
    sealer: Sealer,
    transport: Transport,
    build: MessageBuilder,
    now: Callable[[], datetime],
    batch: int = 50,
    retry_base: float = rules.BASE_DELAY,
    lease: timedelta = rules.LEASE,
    concurrency: int = 4,
) -> int:
    """Claim due messages, send each, record the outcome. Returns how many were claimed.

    The claim is a lease: a crashed worker's messages go back to the others when it runs
    out. While a batch is being sent the lease is renewed at half-time, so a slow mail server
    does not hand the rest of the batch to a second worker. Up to `concurrency` messages are
    in flight at once (the SMTP transport keeps as many connections).
    """
    moment = now()
    lease_until = moment + lease
    async with make_uow() as uow:
        claimed = await uow.outbox.claim(now=iso(moment), lease_until=iso(lease_until), limit=batch)
        await uow.commit()
    pending = {message.id for message in claimed}
    renewing = asyncio.Lock()
    slots = asyncio.Semaphore(concurrency)

    async def renew_if_half_gone() -> None:
        nonlocal lease_until
        async with renewing:
            moment = now()
            if moment < lease_until - lease / 2:
                return
            lease_until = moment + lease
            async with make_uow() as uow:
                await uow.outbox.renew(sorted(pending), iso(lease_until))
                await uow.commit()

    async def deliver(message: ClaimedMessage) -> None:
        async with slots:
            await renew_if_half_gone()
            await _deliver_one(
                make_uow,
                message,
                sealer=sealer,
                transport=transport,
                build=build,
                now=now,
                retry_base=retry_base,
            )
            pending.discard(message.id)

    await asyncio.gather(*(deliver(message) for message in claimed))
    return len(claimed)


async def _deliver_one(
    make_uow: Callable[[], UnitOfWork],
    message: ClaimedMessage,
    *,
    sealer: Sealer,
    transport: Transport,
    build: MessageBuilder,
    now: Callable[[], datetime],
    retry_base: float,
) -> None:
    error: str | None = None
    permanent = False
    payload: Payload | None = None
    try:
        payload = decode_payload(message.kind, sealer.open(message.sealed, f"outbox:{message.id}"))
        await transport.send(build(payload, message.id))
    except Exception as exc:
        error = getattr(exc, "reason", None)
        if error is None:  # not a delivery outcome but a bug: keep the traceback
            log.exception("message could not be built or sent", extra={"outbox_id": message.id})
            error = type(exc).__name__
        permanent = bool(getattr(exc, "permanent", False))
    moment = now()
    async with make_uow() as uow:
        if error is None:
            # Only the worker that marks it sent tells of it: a repeat after a lost lease
            # sends the mail again but finds it marked, so the event is written once.
            if await uow.outbox.mark_sent(message.id, iso(moment)):
                await _tell_sent(uow, message, payload, moment)
            log.info("message sent", extra={"outbox_id": message.id, "kind": message.kind})
            outcome = "delivered"
        else:
            attempts = message.attempts
            dead = permanent or attempts >= rules.MAX_ATTEMPTS
            await uow.outbox.mark_failed(
                message.id,
                error=str(error),
                next_attempt_at=iso(rules.next_attempt(moment, attempts, base=retry_base)),
                dead=dead,
            )
            log.warning(
                "message not sent",
                extra={"outbox_id": message.id, "error": error, "attempts": attempts, "dead": dead},
            )
            outcome = "dead" if dead else "failed"
        await uow.commit()
    metrics.delivery("mail", outcome)


async def _tell_sent(
    uow: UnitOfWork, message: ClaimedMessage, payload: Payload | None, now: datetime
) -> None:
    """An invitation mail handed to the mail server is the event `invitation.sent`: its
    ids only, never the link the mail carries."""
    if not isinstance(payload, InvitationMail) or payload.invitation_id is None:
        return  # another kind, or queued by a version that did not say which invitation
    await events.emit(
        uow,
        tenant_id=message.tenant_id,
        event_type=event_rules.INVITATION_SENT,
        data={"invitationId": payload.invitation_id, "userId": payload.user_id}
        | event_rules.actor_data(None, None),
        now=now,
    )


async def list_messages(
    uow: UnitOfWork, *, status: str | None, limit: int
) -> Sequence[OutboxMessage]:
    """Outbox rows, newest first (never their payloads)."""
    async with uow:
        return await uow.outbox.list(status=status, limit=limit)


async def retry_dead(uow: UnitOfWork, *, message_id: str | None, now: datetime) -> int:
    """Queue dead messages again; returns how many."""
    async with uow:
        count = await uow.outbox.retry(message_id=message_id, now=iso(now))
        await uow.commit()
    return count
