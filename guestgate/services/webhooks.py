"""Webhook endpoints per tenant, and their delivery by the worker (Standard Webhooks 1.0).

Events are stored in the transaction of their change (services/events.py). The worker then
works like the mail outbox: it turns new events into one delivery row per endpoint that
wants them (`fan_out`), leases due rows, signs and posts each, and records every attempt in
the endpoint's delivery log. A delivery is retried on the spec's schedule with jitter
(about three days), honouring ``Retry-After``; 410 Gone disables the endpoint at once, and
so does a delivery that fails for the whole schedule, with an audit record for the admins.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets as system_secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from guestgate import metrics
from guestgate.domain import webhooks as rules
from guestgate.domain.events import check_event_types
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.domain.webhooks import Attempt, ClaimedDelivery, Endpoint, Response
from guestgate.errors import NotFound, ValidationError
from guestgate.services import events
from guestgate.services.ports import Sealer, UnitOfWork

log = logging.getLogger("guestgate.webhooks")
MAX_REPLAY = 10_000


class Resolver(Protocol):
    """The addresses a host name resolves to (empty: it does not resolve)."""

    async def addresses(self, host: str, port: int) -> list[str]: ...


class Sender(Protocol):
    """Posts one signed delivery; never raises for what a receiver does."""

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Response: ...
    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once; stored only sealed


def _context(endpoint_id: str) -> str:
    return f"webhook:{endpoint_id}"


async def check_target(url: str, *, resolver: Resolver, allow_private: bool) -> str:
    """The URL if it is https and every address of its host is public (or allowed)."""
    target = rules.check_url(url, allow_private=allow_private)
    found = await resolver.addresses(target.host, target.port)
    if not found:
        raise ValidationError(
            f"The webhook URL's host {target.host[:253]} does not resolve.",
            code="WebhookHostNotFound",
        )
    if not all(rules.address_allowed(a, allow_private=allow_private) for a in found):
        raise ValidationError(rules.refused(target.host), code="WebhookTargetNotAllowed")
    return url


async def add_endpoint(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    url: str,
    event_types: Sequence[str],
    sealer: Sealer,
    resolver: Resolver,
    allow_private: bool,
    now: datetime,
    rng: Randomness = SYSTEM,
    token_bytes: Callable[[int], bytes] = system_secrets.token_bytes,
    tenant_kept: bool = True,
) -> NewEndpoint:
    """Register an endpoint; it gets the events that happen from now on. `tenant_kept`:
    the tenant must be one of guestgate's own (in Microsoft 365 mode it is Entra's, named
    by the caller's token)."""
    types = check_event_types(event_types)
    await check_target(url, resolver=resolver, allow_private=allow_private)
    endpoint = Endpoint(
        id=rng.uuid(),
        tenant_id=tenant_id,
        url=url,
        event_types=types,
        enabled=True,
        disabled_reason=None,
        created_at=iso(now),
    )
    secret = rules.new_secret(token_bytes(rules.SECRET_BYTES))
    async with uow:
        if tenant_kept and await uow.tenants.get(tenant_id, links=False) is None:
            raise NotFound(f"There is no tenant {tenant_id[:64]}.", code="TenantNotFound")
        cursor = await uow.events.last_sequence(tenant_id)
        sealed = sealer.seal(secret.encode(), _context(endpoint.id))
        await uow.webhooks.add_endpoint(endpoint, sealed_secret=sealed, cursor=cursor)
        await uow.audit.record(
            tenant_id=tenant_id,
            action="webhook.add",
            target=endpoint.id,
            created_at=iso(now),
            details={"url": rules.without_query(url), "eventTypes": list(types)},
        )
        await uow.commit()
    return NewEndpoint(endpoint, secret)


async def _endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> Endpoint:
    found = await uow.webhooks.get_endpoint(tenant_id, endpoint_id)
    if found is None:
        raise NotFound(f"There is no webhook endpoint {endpoint_id[:64]}.", code="WebhookNotFound")
    return found


async def list_endpoints(uow: UnitOfWork, *, tenant_id: str) -> Sequence[Endpoint]:
    """The tenant's endpoints, oldest first (never their secrets)."""
    async with uow:
        return await uow.webhooks.list_endpoints(tenant_id)


async def get_endpoint(uow: UnitOfWork, *, tenant_id: str, endpoint_id: str) -> Endpoint:
    """One endpoint of the tenant."""
    async with uow:
        return await _endpoint(uow, tenant_id, endpoint_id)


async def remove_endpoint(
    uow: UnitOfWork, *, tenant_id: str, endpoint_id: str, now: datetime
) -> None:
    """Delete an endpoint with its deliveries and log."""
    async with uow:
        if not await uow.webhooks.remove_endpoint(tenant_id, endpoint_id):
            raise NotFound(
                f"There is no webhook endpoint {endpoint_id[:64]}.", code="WebhookNotFound"
            )
        await uow.audit.record(
            tenant_id=tenant_id, action="webhook.remove", target=endpoint_id, created_at=iso(now)
        )
        await uow.commit()


async def rotate_secret(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    endpoint_id: str,
    sealer: Sealer,
    now: datetime,
    overlap: timedelta = rules.ROTATION_OVERLAP,
    token_bytes: Callable[[int], bytes] = system_secrets.token_bytes,
) -> str:
    """A new secret, shown once; the previous one still signs too until the overlap ends."""
    secret = rules.new_secret(token_bytes(rules.SECRET_BYTES))
    async with uow:
        await _endpoint(uow, tenant_id, endpoint_id)
        stored = await uow.webhooks.secrets(endpoint_id)
        assert stored is not None
        await uow.webhooks.set_secret(
            endpoint_id,
            sealed=sealer.seal(secret.encode(), _context(endpoint_id)),
            previous=stored.current,
            until=iso(now + overlap),
            now=iso(now),
        )
        await uow.audit.record(
            tenant_id=tenant_id,
            action="webhook.rotate_secret",
            target=endpoint_id,
            created_at=iso(now),
        )
        await uow.commit()
    return secret


async def set_enabled(
    uow: UnitOfWork, *, tenant_id: str, endpoint_id: str, enabled: bool, now: datetime
) -> Endpoint:
    """Enable or disable an endpoint; once enabled again it gets events from then on."""
    async with uow:
        await _endpoint(uow, tenant_id, endpoint_id)
        cursor = await uow.events.last_sequence(tenant_id) if enabled else None
        reason = None if enabled else "disabled by an administrator"
        await uow.webhooks.set_enabled(endpoint_id, enabled=enabled, reason=reason, cursor=cursor)
        await uow.audit.record(
            tenant_id=tenant_id,
            action="webhook.enable" if enabled else "webhook.disable",
            target=endpoint_id,
            created_at=iso(now),
        )
        endpoint = await _endpoint(uow, tenant_id, endpoint_id)
        await uow.commit()
    return endpoint


async def replay(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    endpoint_id: str,
    now: datetime,
    event_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Send one event, or every event of [start, end), to the endpoint again.

    A replayed event keeps its `webhook-id`, so a receiver that already has it can tell.
    """
    if (event_id is None) == (start is None or end is None):
        raise ValidationError(
            "Replay one event (eventId) or a time range (start and end).", code="InvalidReplay"
        )
    async with uow:
        endpoint = await _endpoint(uow, tenant_id, endpoint_id)
        if event_id is not None:
            event = await uow.events.get(tenant_id, event_id)
            if event is None:
                raise NotFound(f"There is no event {event_id[:64]}.", code="EventNotFound")
            chosen = [event.id]
        else:
            assert start is not None
            assert end is not None
            if end <= start:
                raise ValidationError("end must come after start.", code="InvalidReplay")
            found = await uow.events.between(
                tenant_id, start=iso(start), end=iso(end), limit=MAX_REPLAY + 1
            )
            if len(found) > MAX_REPLAY:
                raise ValidationError(
                    f"A replay takes at most {MAX_REPLAY} events: choose a shorter range.",
                    code="InvalidReplay",
                )
            chosen = [e.id for e in found if endpoint.wants(e.type)]
        count = await uow.webhooks.replay(endpoint_id, chosen, iso(now))
        await uow.audit.record(
            tenant_id=tenant_id,
            action="webhook.replay",
            target=endpoint_id,
            created_at=iso(now),
            details={"events": len(chosen)},
        )
        await uow.commit()
    return count


async def delivery_log(
    uow: UnitOfWork, *, tenant_id: str, endpoint_id: str, limit: int
) -> tuple[Endpoint, dict[str, int], Sequence[Attempt]]:
    """The endpoint, its deliveries by status, and its latest attempts."""
    async with uow:
        endpoint = await _endpoint(uow, tenant_id, endpoint_id)
        counts = await uow.webhooks.delivery_counts(endpoint_id)
        attempts = await uow.webhooks.attempts(endpoint_id, limit=limit)
    return endpoint, counts, attempts


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
    context = _context(delivery.endpoint_id)
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
                await _disable(uow, delivery, "the receiver answered 410 Gone", done)
            elif retry_at is None:
                await _disable(
                    uow, delivery, "deliveries failed for the whole retry schedule", done
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


async def _disable(uow: UnitOfWork, delivery: ClaimedDelivery, reason: str, now: datetime) -> None:
    """Stop an endpoint and tell the tenant's admins, through the audit trail."""
    await uow.webhooks.set_enabled(delivery.endpoint_id, enabled=False, reason=reason)
    await uow.audit.record(
        tenant_id=delivery.tenant_id,
        action="webhook.disabled",
        target=delivery.endpoint_id,
        created_at=iso(now),
        details={"reason": reason, "url": rules.without_query(delivery.url)},
    )
