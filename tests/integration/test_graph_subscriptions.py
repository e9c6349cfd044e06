"""Graph change notifications for users on SQLite and PostgreSQL, to a real HTTP receiver:
the validation handshake, clientState, the resource and changeType filters, retries for up
to four hours, expiry."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.adapters.webhooks import HttpWebhookSender, SystemResolver
from guestgate.domain import events as event_rules
from guestgate.domain.timestamps import utcnow
from guestgate.errors import ValidationError
from guestgate.services import events, subscriptions, tenants
from guestgate.services.webhook_delivery import DeliveryPolicy
from guestgate.worker import WebhookWorker
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]
SEALER = Sealer(secrets.token_bytes(32))
APP = "00000000-0000-0000-0000-0000000000a1"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def body(url: str, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "changeType": "updated,deleted",
        "notificationUrl": url,
        "resource": "/users",
        "expirationDateTime": (utcnow() + timedelta(days=2)).isoformat(),
        "clientState": "s3cr3t-per-subscription",
    }
    return fields | changes


async def new_tenant(uow: UowFactory) -> str:
    domain = f"contoso{random.randrange(10**9)}.example"
    tenant = await tenants.create_tenant(uow(), name="Contoso", domains=[domain], now=utcnow())
    return tenant.id


async def subscribe(uow: UowFactory, tenant_id: str, fields: dict[str, Any]) -> str:
    validator = HttpWebhookSender(allow_private=True, timeout=2.0)
    try:
        made, _ = await subscriptions.create(
            uow(),
            tenant_id=tenant_id,
            app_id=APP,
            body=fields,
            sealer=SEALER,
            resolver=SystemResolver(),
            validator=validator,
            allow_private=True,
            now=utcnow(),
        )
    finally:
        await validator.close()
    return made.id


async def emit(uow: UowFactory, tenant_id: str, event_type: str, user_id: str) -> None:
    async with uow() as work:
        await events.emit(
            work,
            tenant_id=tenant_id,
            event_type=event_type,
            data={"invitationId": "i", "userId": user_id},
            now=utcnow(),
        )
        await work.commit()


def worker(uow: UowFactory, now: Callable[[], datetime] = utcnow) -> WebhookWorker:
    return WebhookWorker(
        uow,
        sealer=SEALER,
        sender=HttpWebhookSender(allow_private=True, timeout=1.0),
        policy=DeliveryPolicy(timeout_seconds=1.0, retry_scale=0.0001),
        now=now,
    )


async def run_until(relay: WebhookWorker, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not done():
        assert time.monotonic() < deadline, "notifications did not arrive"
        await relay.run_once()
        await asyncio.sleep(0.01)


def notifications(receiver: Receiver) -> list[dict[str, Any]]:
    return [item for got in receiver.received for item in json.loads(got.body)["value"]]


async def test_a_subscription_passes_the_handshake_and_gets_user_changes(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id = await new_tenant(uow)
    subscription_id = await subscribe(uow, tenant_id, body(receiver.url))
    assert len(receiver.validations) == 1
    user = "0d9e8f7a-6b5c-4d3e-8f1a-0b9c8d7e6f5a"
    await emit(uow, tenant_id, event_rules.INVITATION_CREATED, user)
    await emit(uow, tenant_id, event_rules.INVITATION_REVOKED, user)  # not a user change
    await emit(uow, tenant_id, event_rules.USER_DELETED, user)
    relay = worker(uow)
    await run_until(relay, lambda: len(notifications(receiver)) == 2)
    await relay.sender.close()
    created, deleted = notifications(receiver)
    assert created["changeType"] == "updated"  # as Graph reports a new user
    assert deleted["changeType"] == "deleted"
    for item in (created, deleted):
        assert item["subscriptionId"] == subscription_id
        assert item["clientState"] == "s3cr3t-per-subscription"
        assert item["resource"] == f"Users/{user}"
        assert item["tenantId"] == tenant_id
        assert item["resourceData"]["@odata.type"] == "#Microsoft.Graph.User"
        assert item["resourceData"]["id"] == user
    assert "webhook-signature" not in receiver.received[0].headers


@pytest.mark.parametrize(
    "reply",
    [
        (500, "text/plain", "{token}"),
        (200, "text/plain", "{token}x"),
        (200, "text/html", "<p>{token}</p>"),
        (200, "text/plain", ""),
        (202, "text/plain", "{token}"),
    ],
)
async def test_a_failed_handshake_creates_nothing(
    uow: UowFactory, receiver: Receiver, reply: tuple[int, str, str]
) -> None:
    status, kind, text = reply
    receiver.validation = lambda token: (status, kind, text.format(token=token))
    tenant_id = await new_tenant(uow)
    with pytest.raises(ValidationError) as caught:
        await subscribe(uow, tenant_id, body(receiver.url))
    assert caught.value.code == "InvalidRequest"
    assert "validation request failed" in caught.value.message
    assert await subscriptions.list_all(uow(write=False), tenant_id=tenant_id, app_id=APP) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"expirationDateTime": timedelta(minutes=41761)},
        {"expirationDateTime": timedelta(minutes=-1)},
        {"expirationDateTime": "tomorrow"},
        {"expirationDateTime": "2030-01-01T00:00:00"},
        {"changeType": "updated,exploded"},
        {"changeType": ""},
        {"resource": "/groups"},
        {"resource": "https://graph.microsoft.com/v1.0/users"},
        {"clientState": "x" * 256},
        {"clientState": 5},
        {"notificationUrl": "https://0.0.0.0/hook"},
        {"notificationUrl": None},
    ],
)
async def test_bad_subscriptions_are_refused_before_any_handshake(
    uow: UowFactory, receiver: Receiver, changes: dict[str, Any]
) -> None:
    # Times relative to now are resolved when the test runs, not when it is collected.
    changes = {
        k: (utcnow() + v).isoformat() if isinstance(v, timedelta) else v for k, v in changes.items()
    }
    tenant_id = await new_tenant(uow)
    with pytest.raises(ValidationError):
        await subscribe(uow, tenant_id, body(receiver.url, **changes))
    assert receiver.validations == []


async def test_one_users_subscription_and_a_change_type_filter(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id = await new_tenant(uow)
    watched, other = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
    )
    await subscribe(uow, tenant_id, body(receiver.url, resource=f"/users/{watched}"))
    await subscribe(uow, tenant_id, body(receiver.url, changeType="deleted"))
    await emit(uow, tenant_id, event_rules.INVITATION_REDEEMED, other)
    await emit(uow, tenant_id, event_rules.INVITATION_REDEEMED, watched)
    await emit(uow, tenant_id, event_rules.USER_DELETED, other)
    relay = worker(uow)
    await run_until(relay, lambda: len(notifications(receiver)) == 2)
    for _ in range(3):
        await relay.run_once()
    await relay.sender.close()
    got = sorted((n["changeType"], n["resourceData"]["id"]) for n in notifications(receiver))
    assert got == [("deleted", other), ("updated", watched)]


async def test_an_unacknowledged_batch_is_retried_then_dropped_after_four_hours(
    uow: UowFactory, receiver: Receiver
) -> None:
    receiver.default = Reply(503)
    tenant_id = await new_tenant(uow)
    await subscribe(uow, tenant_id, body(receiver.url))
    user = "33333333-3333-4333-8333-333333333333"
    await emit(uow, tenant_id, event_rules.INVITATION_CREATED, user)
    shift = timedelta()
    relay = worker(uow, now=lambda: utcnow() + shift)
    await run_until(relay, lambda: len(receiver.received) == 1)
    await relay.run_once()
    assert len(receiver.received) == 1  # the next try is 30 s away
    shift = timedelta(seconds=31)
    await run_until(relay, lambda: len(receiver.received) == 2)
    shift = timedelta(hours=4, seconds=40)
    await run_until(relay, lambda: len(receiver.received) == 3)  # the last try, then dropped
    receiver.default = Reply(200)
    await emit(uow, tenant_id, event_rules.USER_DELETED, user)
    await run_until(relay, lambda: len(receiver.received) == 4)
    await relay.sender.close()
    assert [n["changeType"] for n in notifications(receiver)] == ["updated"] * 3 + ["deleted"]


async def test_an_expired_subscription_gets_nothing_until_renewed(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id = await new_tenant(uow)
    soon = (utcnow() + timedelta(minutes=5)).isoformat()
    subscription_id = await subscribe(uow, tenant_id, body(receiver.url, expirationDateTime=soon))
    await emit(
        uow, tenant_id, event_rules.INVITATION_CREATED, "44444444-4444-4444-8444-444444444444"
    )
    late = worker(uow, now=lambda: utcnow() + timedelta(minutes=6))
    for _ in range(3):
        await late.run_once()
    assert receiver.received == []
    with pytest.raises(ValidationError):
        await subscriptions.renew(
            uow(),
            tenant_id=tenant_id,
            subscription_id=subscription_id,
            body={"expirationDateTime": (utcnow() + timedelta(days=30)).isoformat()},
            now=utcnow(),
        )
    renewed = await subscriptions.renew(
        uow(),
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        body={"expirationDateTime": (utcnow() + timedelta(days=1)).isoformat()},
        now=utcnow(),
    )
    assert renewed.expires_at > soon
    relay = worker(uow)
    await run_until(relay, lambda: len(notifications(receiver)) == 1)
    await relay.sender.close()
    await late.sender.close()
