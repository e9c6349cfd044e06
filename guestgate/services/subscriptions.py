"""Graph change notifications for users: subscribe (with the validation handshake), renew,
delete, and the worker's pass that sends each subscription the user changes it asked for.

Notifications come from the tenant's events (services/events.py), so they follow the same
order and never skip one; each subscription keeps the number of the last event it was sent.
A batch a receiver does not acknowledge with 2xx is sent again, for up to four hours as
Graph does, then dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from guestgate.domain import subscriptions as rules
from guestgate.domain import webhooks as webhook_rules
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.subscriptions import Subscription
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.errors import NotFound, PermissionDenied, ValidationError
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.webhooks import Resolver, Sender, check_target

log = logging.getLogger("guestgate.subscriptions")
RETRY_SECONDS = 30.0
BATCH_EVENTS = 100


class Validator(Protocol):
    """Runs Graph's validation handshake against a notification URL."""

    async def validate(self, url: str, token: str) -> bool: ...


def _context(subscription_id: str) -> str:
    return f"subscription:{subscription_id}"


def _not_found(subscription_id: str) -> NotFound:
    return NotFound(
        f"The subscription {subscription_id[:64]} does not exist.", code="ResourceNotFound"
    )


async def create(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    app_id: str | None,
    body: dict[str, Any],
    sealer: Sealer,
    resolver: Resolver,
    validator: Validator,
    allow_private: bool,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> tuple[Subscription, str | None]:
    """Subscribe to user changes; the notification URL must answer the handshake first."""
    change_types = rules.check_change_types(body.get("changeType"))
    resource = rules.check_resource(body.get("resource"))
    expires = rules.check_expiration(body.get("expirationDateTime"), now)
    client_state = rules.check_client_state(body.get("clientState"))
    urls: dict[str, str | None] = {}
    for field in ("notificationUrl", "lifecycleNotificationUrl"):
        value = body.get(field)
        if value is None and field == "lifecycleNotificationUrl":
            urls[field] = None
            continue
        if not isinstance(value, str):
            raise ValidationError(f"{field} is required (an https URL).", code="InvalidRequest")
        urls[field] = await check_target(value, resolver=resolver, allow_private=allow_private)
    async with uow:
        if await uow.tenants.get(tenant_id, links=False) is None:
            raise NotFound(f"There is no tenant {tenant_id[:64]}.", code="TenantNotFound")
        if await uow.subscriptions.count(tenant_id, app_id, now=iso(now)) >= rules.MAX_PER_APP:
            raise PermissionDenied(
                f"The subscription limit of {rules.MAX_PER_APP} per app and tenant is reached.",
                code="ExtensionError",
            )
    for url in urls.values():
        if url is not None and not await validator.validate(url, rng.token(24)):
            raise ValidationError(
                "Subscription validation request failed. Notification endpoint must respond"
                " with 200 OK to validation request.",
                code="InvalidRequest",
            )
    notification_url = urls["notificationUrl"]
    assert notification_url is not None
    subscription = Subscription(
        id=rng.uuid(),
        tenant_id=tenant_id,
        app_id=app_id,
        resource=resource,
        change_types=change_types,
        notification_url=notification_url,
        lifecycle_url=urls["lifecycleNotificationUrl"],
        expires_at=iso(expires),
        created_at=iso(now),
    )
    sealed = (
        None
        if client_state is None
        else sealer.seal(client_state.encode(), _context(subscription.id))
    )
    async with uow:
        cursor = await uow.events.last_sequence(tenant_id)
        await uow.subscriptions.add(subscription, sealed_state=sealed, cursor=cursor)
        await uow.audit.record(
            tenant_id=tenant_id,
            app_id=app_id,
            action="subscription.create",
            target=subscription.id,
            created_at=iso(now),
            details={"resource": resource, "url": webhook_rules.without_query(notification_url)},
        )
        await uow.commit()
    return subscription, client_state


async def get(
    uow: UnitOfWork, *, tenant_id: str, subscription_id: str, sealer: Sealer
) -> tuple[Subscription, str | None]:
    """One subscription of the tenant, with its client state."""
    async with uow:
        found = await uow.subscriptions.get(tenant_id, subscription_id)
        sealed = None if found is None else await uow.subscriptions.client_state(found.id)
    if found is None:
        raise _not_found(subscription_id)
    return found, _open(sealer, found.id, sealed)


def _open(sealer: Sealer, subscription_id: str, sealed: str | None) -> str | None:
    return None if sealed is None else sealer.open(sealed, _context(subscription_id)).decode()


async def list_all(
    uow: UnitOfWork, *, tenant_id: str, app_id: str | None
) -> Sequence[Subscription]:
    """The app's subscriptions in the tenant."""
    async with uow:
        return await uow.subscriptions.list(tenant_id, app_id)


async def renew(
    uow: UnitOfWork, *, tenant_id: str, subscription_id: str, body: dict[str, Any], now: datetime
) -> Subscription:
    """A new expirationDateTime, at most 41,760 minutes from now."""
    expires = rules.check_expiration(body.get("expirationDateTime"), now)
    async with uow:
        if await uow.subscriptions.get(tenant_id, subscription_id) is None:
            raise _not_found(subscription_id)
        await uow.subscriptions.set_expiry(subscription_id, iso(expires))
        found = await uow.subscriptions.get(tenant_id, subscription_id)
        await uow.commit()
    assert found is not None
    return found


async def delete(uow: UnitOfWork, *, tenant_id: str, subscription_id: str, now: datetime) -> None:
    """Stop the subscription."""
    async with uow:
        if not await uow.subscriptions.remove(tenant_id, subscription_id):
            raise _not_found(subscription_id)
        await uow.audit.record(
            tenant_id=tenant_id,
            action="subscription.delete",
            target=subscription_id,
            created_at=iso(now),
        )
        await uow.commit()


async def notify_due(
    make_uow: Callable[[], UnitOfWork],
    *,
    sealer: Sealer,
    sender: Sender,
    now: Callable[[], datetime],
    attempt_seconds: float,
) -> int:
    """Send each live subscription the user changes after its cursor; returns how many
    subscriptions were sent a batch."""
    moment = now()
    lease = timedelta(seconds=attempt_seconds + 10)
    async with make_uow() as uow:
        claimed = await uow.subscriptions.claim(
            now=iso(moment), lease_until=iso(moment + lease), limit=20
        )
        await uow.commit()
    sent = await asyncio.gather(
        *(_notify(make_uow, c, sealer=sealer, sender=sender, now=now) for c in claimed)
    )
    return sum(sent)


async def _notify(
    make_uow: Callable[[], UnitOfWork],
    claimed: tuple[Subscription, str | None, int, str | None],
    *,
    sealer: Sealer,
    sender: Sender,
    now: Callable[[], datetime],
) -> int:
    subscription, sealed, cursor, failing_since = claimed
    async with make_uow() as uow:
        found = await uow.events.after(
            subscription.tenant_id, after=cursor, types=[], limit=BATCH_EVENTS
        )
    state = _open(sealer, subscription.id, sealed)
    items = []
    for event in found:
        data = json.loads(event.body)["data"]
        change = rules.wants(subscription, event.type, data)
        if change is not None:
            items.append(
                rules.notification(
                    subscription,
                    client_state=state,
                    event_id=event.id,
                    change_type=change,
                    user_id=data["userId"],
                )
            )
    last = found[-1].number if found else cursor
    moment = now()
    if not items:
        async with make_uow() as uow:
            await uow.subscriptions.advance(subscription.id, cursor=last, now=iso(moment))
            await uow.commit()
        return 0
    body = json.dumps({"value": items}, separators=(",", ":")).encode()
    response = await sender.send(
        subscription.notification_url, body, {"content-type": "application/json"}
    )
    done = now()
    async with make_uow() as uow:
        if webhook_rules.is_success(response.status_code):
            await uow.subscriptions.advance(subscription.id, cursor=last, now=iso(done))
        elif failing_since is not None and parse_iso(failing_since) + rules.GIVE_UP_AFTER <= done:
            # Graph gives up on a notification after four hours; so do we.
            await uow.subscriptions.advance(subscription.id, cursor=last, now=iso(done))
            log.warning("notifications dropped", extra={"subscription_id": subscription.id})
        else:
            await uow.subscriptions.failed(
                subscription.id,
                since=failing_since or iso(done),
                next_attempt_at=iso(done + timedelta(seconds=RETRY_SECONDS)),
            )
        await uow.commit()
    return 1
