"""Webhook endpoints per tenant: registering, secrets, enabling, replay, the delivery log.

Events are stored in the transaction of their change (services/events.py); the worker
delivers them to the endpoints that want them (services/webhook_delivery.py), as Standard
Webhooks 1.0 says. Each change here is in the audit trail, naming who asked for it when
that is a person (the console) rather than an app or the CLI.
"""

from __future__ import annotations

import secrets as system_secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from guestgate.domain import webhooks as rules
from guestgate.domain.events import check_event_types
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.domain.webhooks import Attempt, Endpoint, Response
from guestgate.errors import NotFound, ValidationError
from guestgate.services.ports import Sealer, UnitOfWork

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


def secret_context(endpoint_id: str) -> str:
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
    actor: str | None = None,
    request_id: str | None = None,
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
        sealed = sealer.seal(secret.encode(), secret_context(endpoint.id))
        await uow.webhooks.add_endpoint(endpoint, sealed_secret=sealed, cursor=cursor)
        await uow.audit.record(
            tenant_id=tenant_id,
            actor=actor,
            request_id=request_id,
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
    uow: UnitOfWork,
    *,
    tenant_id: str,
    endpoint_id: str,
    now: datetime,
    actor: str | None = None,
    request_id: str | None = None,
) -> None:
    """Delete an endpoint with its deliveries and log."""
    async with uow:
        if not await uow.webhooks.remove_endpoint(tenant_id, endpoint_id):
            raise NotFound(
                f"There is no webhook endpoint {endpoint_id[:64]}.", code="WebhookNotFound"
            )
        await uow.audit.record(
            tenant_id=tenant_id,
            actor=actor,
            request_id=request_id,
            action="webhook.remove",
            target=endpoint_id,
            created_at=iso(now),
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
    actor: str | None = None,
    request_id: str | None = None,
) -> str:
    """A new secret, shown once; the previous one still signs too until the overlap ends."""
    secret = rules.new_secret(token_bytes(rules.SECRET_BYTES))
    async with uow:
        await _endpoint(uow, tenant_id, endpoint_id)
        stored = await uow.webhooks.secrets(endpoint_id)
        assert stored is not None
        await uow.webhooks.set_secret(
            endpoint_id,
            sealed=sealer.seal(secret.encode(), secret_context(endpoint_id)),
            previous=stored.current,
            until=iso(now + overlap),
            now=iso(now),
        )
        await uow.audit.record(
            tenant_id=tenant_id,
            actor=actor,
            request_id=request_id,
            action="webhook.rotate_secret",
            target=endpoint_id,
            created_at=iso(now),
        )
        await uow.commit()
    return secret


async def set_enabled(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    endpoint_id: str,
    enabled: bool,
    now: datetime,
    actor: str | None = None,
    request_id: str | None = None,
) -> Endpoint:
    """Enable or disable an endpoint; once enabled again it gets events from then on."""
    async with uow:
        await _endpoint(uow, tenant_id, endpoint_id)
        cursor = await uow.events.last_sequence(tenant_id) if enabled else None
        reason = None if enabled else "disabled by an administrator"
        await uow.webhooks.set_enabled(endpoint_id, enabled=enabled, reason=reason, cursor=cursor)
        await uow.audit.record(
            tenant_id=tenant_id,
            actor=actor,
            request_id=request_id,
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
    actor: str | None = None,
    request_id: str | None = None,
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
            actor=actor,
            request_id=request_id,
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
