"""Webhook delivery on SQLite and PostgreSQL to a real HTTP receiver, verified by the
independent `standardwebhooks` and `svix` libraries: retries, 410, timeouts, rotation,
redirects, the SSRF guard at delivery time, replay, and two workers sharing PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import standardwebhooks
import svix.webhooks

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.adapters.webhooks import HttpWebhookSender, SystemResolver
from guestgate.domain.events import Event
from guestgate.domain.timestamps import parse_iso, utcnow
from guestgate.errors import ValidationError
from guestgate.services import events, tenants, webhooks
from guestgate.services.webhook_delivery import DeliveryPolicy
from guestgate.worker import WebhookWorker
from tests.e2e.server import free_port
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]
SEALER = Sealer(secrets.token_bytes(32))
FAST = DeliveryPolicy(timeout_seconds=1.0, retry_scale=0.0001)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


class FixedResolver:
    """DNS as a test scripts it: each look-up answers the next list of addresses."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)

    async def addresses(self, host: str, port: int) -> list[str]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def setup(
    uow: UowFactory, url: str, *, types: tuple[str, ...] = ()
) -> tuple[str, webhooks.NewEndpoint]:
    domain = f"contoso{random.randrange(10**9)}.example"
    tenant = await tenants.create_tenant(uow(), name="Contoso", domains=[domain], now=utcnow())
    made = await webhooks.add_endpoint(
        uow(),
        tenant_id=tenant.id,
        url=url,
        event_types=types,
        sealer=SEALER,
        resolver=SystemResolver(),
        allow_private=True,
        now=utcnow(),
    )
    return tenant.id, made


async def emit(uow: UowFactory, tenant_id: str, event_type: str = "invitation.created") -> Event:
    async with uow() as work:
        event = await events.emit(
            work, tenant_id=tenant_id, event_type=event_type, data={"n": 1}, now=utcnow()
        )
        await work.commit()
    return event


def worker(
    uow: UowFactory, *, policy: DeliveryPolicy = FAST, sender: HttpWebhookSender | None = None
) -> WebhookWorker:
    return WebhookWorker(
        uow,
        sealer=SEALER,
        sender=sender or HttpWebhookSender(allow_private=True, timeout=policy.timeout_seconds),
        policy=policy,
    )


async def run_until(
    relay: WebhookWorker, done: Callable[[], bool], *, within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "deliveries did not finish in time"
        await relay.run_once()
        await asyncio.sleep(0.01)


async def counts(uow: UowFactory, endpoint_id: str) -> dict[str, int]:
    async with uow(write=False) as work:
        return await work.webhooks.delivery_counts(endpoint_id)


def verify(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    payload: dict[str, object] = standardwebhooks.Webhook(secret).verify(body, headers)
    svix.webhooks.Webhook(secret).verify(body, headers)
    return payload


async def test_every_delivery_verifies_with_both_libraries(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id, made = await setup(uow, receiver.url)
    sent = [await emit(uow, tenant_id) for _ in range(5)]
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 5)
    await relay.sender.close()
    by_id = {r.webhook_id: r for r in receiver.received}
    assert set(by_id) == {e.id for e in sent}
    for event in sent:
        got = by_id[event.id]
        async with uow(write=False) as work:
            stored = await work.events.get(tenant_id, event.id)
        assert stored is not None
        assert stored.number >= 1  # numbered before it was sent
        assert got.body == stored.body.encode()  # the exact stored bytes
        payload = verify(made.secret, got.body, got.headers)
        assert payload["data"]["sequence"] == stored.sequence  # type: ignore[index]
        assert got.headers["content-type"] == "application/json"
    assert await counts(uow, made.endpoint.id) == {"delivered": 5}
    async with uow(write=False) as work:
        log = await work.webhooks.attempts(made.endpoint.id, limit=10)
    assert [a.status_code for a in log] == [200] * 5
    assert all(a.response_excerpt == "ok" for a in log)


async def test_an_endpoint_gets_only_the_types_it_asked_for(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id, _ = await setup(uow, receiver.url, types=("invitation.redeemed",))
    await emit(uow, tenant_id, "invitation.created")
    wanted = await emit(uow, tenant_id, "invitation.redeemed")
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 1)
    await relay.run_once()
    await relay.sender.close()
    assert list(receiver.ids()) == [wanted.id]


async def test_a_receiver_failing_three_times_gets_the_same_id_until_it_succeeds(
    uow: UowFactory, receiver: Receiver
) -> None:
    receiver.script = [Reply(500), Reply(503), Reply(400), Reply(204)]
    tenant_id, made = await setup(uow, receiver.url)
    event = await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 4)
    await run_until(relay, lambda: True)
    await relay.sender.close()
    assert receiver.ids() == {event.id: 4}
    for got in receiver.received:
        verify(made.secret, got.body, got.headers)
    async with uow(write=False) as work:
        log = await work.webhooks.attempts(made.endpoint.id, limit=10)
    assert [a.status_code for a in reversed(log)] == [500, 503, 400, 204]
    assert await counts(uow, made.endpoint.id) == {"delivered": 1}


async def test_410_disables_the_endpoint_and_tells_the_admins(
    uow: UowFactory, receiver: Receiver
) -> None:
    receiver.script = [Reply(410)]
    tenant_id, made = await setup(uow, receiver.url)
    await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 1)
    await emit(uow, tenant_id)  # after the 410: never sent
    for _ in range(3):
        await relay.run_once()
    await relay.sender.close()
    assert len(receiver.received) == 1
    async with uow(write=False) as work:
        endpoint = await work.webhooks.get_endpoint(tenant_id, made.endpoint.id)
        audit = await work.audit.list(tenant_id, limit=10)
    assert endpoint is not None
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "the receiver answered 410 Gone"
    assert audit[0].action == "webhook.disabled"
    assert await counts(uow, made.endpoint.id) == {"dead": 1}


async def test_a_receiver_slower_than_the_timeout_is_tried_again(
    uow: UowFactory, receiver: Receiver
) -> None:
    receiver.script = [Reply(200, delay=2.5)]
    tenant_id, made = await setup(uow, receiver.url)
    event = await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 2)
    await run_until(relay, lambda: True)
    await relay.sender.close()
    assert receiver.ids() == {event.id: 2}
    async with uow(write=False) as work:
        log = await work.webhooks.attempts(made.endpoint.id, limit=10)
    first, second = reversed(log)
    assert first.status_code is None
    assert first.error == "no answer within 1 s"
    assert first.latency_ms < 2000  # given up at the timeout, not when the receiver answered
    assert second.status_code == 200
    assert await counts(uow, made.endpoint.id) == {"delivered": 1}


async def test_retry_after_is_honoured(uow: UowFactory, receiver: Receiver) -> None:
    receiver.script = [Reply(429, headers={"Retry-After": "120"})]
    tenant_id, made = await setup(uow, receiver.url)
    await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 1)
    for _ in range(3):
        await relay.run_once()  # not due yet: nothing is sent
    await relay.sender.close()
    assert len(receiver.received) == 1
    async with uow(write=False) as work:
        (attempt,) = await work.webhooks.attempts(made.endpoint.id, limit=5)
        row = await work.webhooks.tx.fetchone(
            "SELECT status, next_attempt_at FROM webhook_deliveries WHERE endpoint_id = :id",
            {"id": made.endpoint.id},
        )
    assert attempt.status_code == 429
    assert row is not None
    assert row["status"] == "pending"
    waited = parse_iso(row["next_attempt_at"]) - parse_iso(attempt.attempted_at)
    assert waited == timedelta(seconds=120)


async def test_after_a_rotation_both_secrets_verify_the_same_delivery(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id, made = await setup(uow, receiver.url)
    new_secret = await webhooks.rotate_secret(
        uow(), tenant_id=tenant_id, endpoint_id=made.endpoint.id, sealer=SEALER, now=utcnow()
    )
    assert new_secret != made.secret
    await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 1)
    await relay.sender.close()
    (got,) = receiver.received
    assert got.headers["webhook-signature"].count("v1,") == 2
    verify(made.secret, got.body, got.headers)
    verify(new_secret, got.body, got.headers)


async def test_redirects_are_not_followed(uow: UowFactory, receiver: Receiver) -> None:
    target = Receiver().start()
    try:
        receiver.script = [Reply(307, headers={"Location": target.url})]
        receiver.default = Reply(200)
        tenant_id, made = await setup(uow, receiver.url)
        await emit(uow, tenant_id)
        relay = worker(uow)
        await run_until(relay, lambda: len(receiver.received) == 2)
        await relay.sender.close()
        assert target.received == []
    finally:
        target.stop()
    async with uow(write=False) as work:
        log = await work.webhooks.attempts(made.endpoint.id, limit=5)
    assert log[-1].status_code == 307
    assert log[-1].error == "HTTP 307: redirects are not followed"


async def test_a_name_that_resolves_to_a_private_address_at_delivery_is_refused(
    uow: UowFactory, receiver: Receiver
) -> None:
    """DNS rebinding: public when the endpoint is saved, loopback when it is used."""
    domain = f"contoso{random.randrange(10**9)}.example"
    tenant = await tenants.create_tenant(uow(), name="Contoso", domains=[domain], now=utcnow())
    made = await webhooks.add_endpoint(
        uow(),
        tenant_id=tenant.id,
        url="https://hooks.example.com/in",
        event_types=(),
        sealer=SEALER,
        resolver=FixedResolver(["93.184.216.34"]),
        allow_private=False,
        now=utcnow(),
    )
    await emit(uow, tenant.id)
    sender = HttpWebhookSender(
        allow_private=False, timeout=1.0, resolver=FixedResolver(["127.0.0.1"])
    )
    relay = worker(uow, sender=sender)
    await relay.run_once()
    await sender.close()
    async with uow(write=False) as work:
        (attempt,) = await work.webhooks.attempts(made.endpoint.id, limit=5)
    assert attempt.status_code is None
    assert attempt.error is not None
    assert attempt.error.startswith("target not allowed")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "http://hooks.example.com/hook",
        "https://a..b.example/hook",
        "https://" + "a" * 70 + ".example/hook",
    ],
)
async def test_private_targets_are_refused_when_saved_and_nothing_is_stored(
    uow: UowFactory, url: str
) -> None:
    domain = f"contoso{random.randrange(10**9)}.example"
    tenant = await tenants.create_tenant(uow(), name="Contoso", domains=[domain], now=utcnow())
    with pytest.raises(ValidationError) as caught:
        await webhooks.add_endpoint(
            uow(),
            tenant_id=tenant.id,
            url=url,
            event_types=(),
            sealer=SEALER,
            resolver=SystemResolver(),
            allow_private=False,
            now=utcnow(),
        )
    assert caught.value.code in (
        "WebhookTargetNotAllowed",
        "InvalidWebhookUrl",
        "WebhookHostNotFound",
    )
    assert await webhooks.list_endpoints(uow(write=False), tenant_id=tenant.id) == []


async def test_replay_sends_one_event_or_a_range_again_with_the_same_id(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id, made = await setup(uow, receiver.url)
    first, second = await emit(uow, tenant_id), await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 2)
    queued = await webhooks.replay(
        uow(), tenant_id=tenant_id, endpoint_id=made.endpoint.id, now=utcnow(), event_id=first.id
    )
    assert queued == 1
    await run_until(relay, lambda: len(receiver.received) == 3)
    start = parse_iso(first.occurred_at)
    queued = await webhooks.replay(
        uow(),
        tenant_id=tenant_id,
        endpoint_id=made.endpoint.id,
        now=utcnow(),
        start=start,
        end=parse_iso(second.occurred_at) + timedelta(seconds=1),
    )
    assert queued == 2
    await run_until(relay, lambda: len(receiver.received) == 5)
    await relay.sender.close()
    assert receiver.ids() == {first.id: 3, second.id: 2}
    for got in receiver.received:
        assert verify(made.secret, got.body, got.headers)["data"] == json.loads(got.body)["data"]


@pytest.mark.postgres
async def test_two_workers_on_postgres_deliver_each_event_once(
    postgres_url_factory: Callable[[], str], receiver: Receiver
) -> None:
    from guestgate.adapters.sql import migrate

    url = postgres_url_factory()
    migrate.upgrade(url)
    databases = [connect(url, pool_size=2) for _ in range(3)]
    try:
        setup_uow = lambda write=True: SqlUnitOfWork(databases[0], write=write)  # noqa: E731
        tenant_id, made = await setup(setup_uow, receiver.url)
        sent = [await emit(setup_uow, tenant_id) for _ in range(300)]
        relays = [
            worker(lambda write=True, db=db: SqlUnitOfWork(db, write=write)) for db in databases[1:]
        ]

        async def work(relay: WebhookWorker) -> None:
            await run_until(relay, lambda: len(receiver.received) >= len(sent), within=60)

        await asyncio.gather(*(work(r) for r in relays))
        for relay in relays:
            await relay.run_once()
            await relay.sender.close()
        assert receiver.ids() == {e.id: 1 for e in sent}
        assert await counts(setup_uow, made.endpoint.id) == {"delivered": len(sent)}
    finally:
        for db in databases:
            await db.close()


async def test_the_receiver_in_the_docs_verifies_a_delivery(
    uow: UowFactory, tmp_path: Path
) -> None:
    """docs/events.md's ten-line receiver, run as written (its secret and port filled in)."""
    text = (Path(__file__).parents[2] / "docs" / "events.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 10
    port = free_port()
    tenant_id, made = await setup(uow, f"http://127.0.0.1:{port}/")
    script = tmp_path / "receiver.py"
    script.write_text(
        code.replace('"whsec_…"', repr(made.secret)).replace('("", 8000)', f'("127.0.0.1", {port})')
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-u", str(script), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        event = await emit(uow, tenant_id)
        relay = worker(uow)
        deadline = time.monotonic() + 20
        while await counts(uow, made.endpoint.id) != {"delivered": 1}:
            assert time.monotonic() < deadline, "the docs receiver never acknowledged"
            await relay.run_once()
            await asyncio.sleep(0.1)
        await relay.sender.close()
    finally:
        process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), 10)
    async with uow(write=False) as work:
        stored = await work.events.get(tenant_id, event.id)
    assert stored is not None
    assert out.decode().split() == ["invitation.created", str(stored.number)], err.decode()


async def test_the_audit_trail_keeps_an_endpoints_url_without_its_query(
    uow: UowFactory, receiver: Receiver
) -> None:
    """Receivers such as Power Automate carry their own secret in the query string."""
    tenant_id, made = await setup(uow, receiver.url + "?sig=receiver-secret-123")
    await webhooks.remove_endpoint(
        uow(), tenant_id=tenant_id, endpoint_id=made.endpoint.id, now=utcnow()
    )
    async with uow(write=False) as work:
        audit = await work.audit.list(tenant_id, limit=10)
    added = next(a for a in audit if a.action == "webhook.add")
    assert added.details is not None
    assert added.details["url"] == receiver.url
    assert "receiver-secret-123" not in json.dumps([a.details for a in audit])


@pytest.mark.parametrize("value", ["¹", "²³", "soon", "Wed, 99 Foo 2026 99:99:99 GMT", "-5"])
async def test_a_nonsense_retry_after_is_ignored_and_the_delivery_retried(
    uow: UowFactory, receiver: Receiver, value: str
) -> None:
    receiver.script = [Reply(503, headers={"Retry-After": value})]
    tenant_id, made = await setup(uow, receiver.url)
    event = await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) == 2)
    await relay.sender.close()
    assert receiver.ids() == {event.id: 2}
    async with uow(write=False) as work:
        log = await work.webhooks.attempts(made.endpoint.id, limit=5)
    assert [a.status_code for a in reversed(log)] == [503, 200]
