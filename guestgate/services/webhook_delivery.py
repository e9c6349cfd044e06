"""Webhook delivery by the worker (Standard Webhooks 1.0).

The worker works like the mail outbox: it turns new events into one delivery row per
endpoint that wants them (`fan_out`), leases due rows, signs and posts each, and records
every attempt in the endpoint's delivery log. A delivery is retried on the spec's schedule
with jitter (about three days), honouring ``Retry-After``; 410 Gone disables the endpoint at
once, and so does a delivery that fails for the whole schedule, with an audit record for the
admins.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate import metrics
from guestgate.domain import webhooks as rules
from guestgate.domain.messages import WebhookDisabledNotice
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.domain.timestamps import iso
from guestgate.domain.webhooks import ClaimedDelivery, Response
from guestgate.services import events, outbox
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.webhooks import Sender, secret_context

log = logging.getLogger("guestgate.webhooks")
ADMIN_ROLES = (GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the worker delivers: bounded in time, on the spec's schedule (scaled in tests)."""

    timeout_seconds: float = 15.0
    retry_scale: float = 1.0
    batch: int = 64
    concurrency: int = 16


async def deliver_due(
    make_uow: Callable[[], UnitOfWork],
    *,
    sealer: Sealer,
    sender: Sender,
    now: Callable[[], datetime],
    policy: DeliveryPolicy,
) -> int:
    """Fan new events out to endpoints, then send due deliveries; returns how many were sent.

    The lease outlasts the slowest possible batch (every attempt timing out), so no second
    worker takes a delivery that is still in flight.
    """
    moment = now()
    await events.number_pending(make_uow())
    async with make_uow() as uow:
        await uow.webhooks.fan_out(now=iso(moment), endpoints=50, events=500)
        await uow.commit()
    rounds = math.ceil(policy.batch / policy.concurrency)
    lease = timedelta(seconds=policy.timeout_seconds * rounds + 10)
    async with make_uow() as uow:
        claimed = await uow.webhooks.claim(
            now=iso(moment), lease_until=iso(moment + lease), limit=policy.batch
        )
        await uow.commit()
    slots = asyncio.Semaphore(policy.concurrency)

    async def deliver(delivery: ClaimedDelivery) -> None:
        async with slots:
            await _deliver_one(
                make_uow, delivery, sealer=sealer, sender=sender, now=now, policy=policy
            )

    await asyncio.gather(*(deliver(d) for d in claimed))
    return len(claimed)


async def _deliver_one(
    make_uow: Callable[[], UnitOfWork],
    delivery: ClaimedDelivery,
    *,
    sealer: Sealer,
    sender: Sender,
    now: Callable[[], datetime],
    policy: DeliveryPolicy,
) -> None:
    moment = now()
    stored = delivery.secrets
    context = secret_context(delivery.endpoint_id)
    current = sealer.open(stored.current, context).decode()
    previous = None if stored.previous is None else sealer.open(stored.previous, context).decode()
    signing = rules.signing_secrets(current, previous, stored.previous_until, iso(moment))
    headers = rules.headers(
        signing, msg_id=delivery.event_id, timestamp=int(moment.timestamp()), body=delivery.body
    )
    try:
        response = await sender.send(delivery.url, delivery.body.encode(), headers)
    except Exception:  # a bug, not a receiver's doing: keep the traceback, count the attempt
        log.exception("webhook could not be sent", extra={"delivery_id": delivery.id})
        response = Response(None, 0, error="internal error while sending")
    done = now()
    extra = {
        "delivery_id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "status": response.status_code,
        "attempts": delivery.attempts,
    }
    async with make_uow() as uow:
        await uow.webhooks.record_attempt(delivery, response, now=iso(done))
        if rules.is_success(response.status_code):
            await uow.webhooks.mark_delivered(delivery.id, iso(done))
            log.info("webhook delivered", extra=extra)
            outcome = "delivered"
        else:
            error = response.error or f"HTTP {response.status_code}"
            retry_at = rules.next_attempt(
                done, delivery.attempts, retry_after=response.retry_after, scale=policy.retry_scale
            )
            if rules.is_gone(response.status_code):
                retry_at = None
                await _disable(uow, delivery, "the receiver answered 410 Gone", done, sealer)
            elif retry_at is None:
                await _disable(
                    uow, delivery, "deliveries failed for the whole retry schedule", done, sealer
                )
            await uow.webhooks.mark_failed(
                delivery.id,
                error=error,
                next_attempt_at=None if retry_at is None else iso(retry_at),
            )
            log.warning(
                "webhook not delivered", extra={**extra, "error": error, "dead": retry_at is None}
            )
            outcome = "failed" if retry_at is not None else "dead"
        await uow.commit()
    metrics.delivery("webhook", outcome)


async def _disable(
    uow: UnitOfWork, delivery: ClaimedDelivery, reason: str, now: datetime, sealer: Sealer
) -> None:
    """Stop an endpoint, record it in the audit trail and mail the tenant's administrators
    (Global and User administrators), once: deliveries failing together disable it once."""
    if not await uow.webhooks.disable_if_enabled(delivery.endpoint_id, reason=reason):
        return
    url = rules.without_query(delivery.url)
    await uow.audit.record(
        tenant_id=delivery.tenant_id,
        action="webhook.disabled",
        target=delivery.endpoint_id,
        created_at=iso(now),
        details={"reason": reason, "url": url},
    )
    tenant = await uow.tenants.get(delivery.tenant_id)
    if tenant is None:  # Microsoft 365 mode: the admins are Entra's, not known here
        return
    admins = sorted({a.user_id for a in await uow.roles.list(tenant.id) if a.role in ADMIN_ROLES})
    for user_id in admins:
        user = await uow.users.get(tenant.id, user_id)
        if user is None or not user.mail:
            continue
        notice = WebhookDisabledNotice(
            to=user.mail, org=tenant.name, url=url, reason=reason, logo_url=tenant.logo_url
        )
        await outbox.enqueue(uow, sealer=sealer, tenant_id=tenant.id, message=notice, now=now)
