"""SIGKILL of the webhook worker during a burst of 10,000 events, on SQLite and PostgreSQL.

The events are stored first; a `guestgate worker` process delivers them to a real HTTP
receiver and is killed while it does, then started again. Every event must arrive, each
repeat (a kill between the receiver's 2xx and the delivery's row being marked) with the
same `webhook-id` and the same signed bytes, and the database must show every delivery done.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import standardwebhooks

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.adapters.webhooks import SystemResolver
from guestgate.domain import events as event_rules
from guestgate.domain.timestamps import utcnow
from guestgate.services import events, tenants, webhooks
from tests.e2e.server import GUESTGATE
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
EVENTS = 10_000
KEY = b"w" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path}/guestgate.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        found = factory()
    migrate.upgrade(found)
    return found


async def fill(url: str, receiver_url: str) -> tuple[str, str]:
    """A tenant, an endpoint for the receiver, and the burst of events; (endpoint, secret)."""
    db = connect(url)
    try:
        tenant = await tenants.create_tenant(
            SqlUnitOfWork(db), name="Contoso", domains=["contoso.example"], now=utcnow()
        )
        made = await webhooks.add_endpoint(
            SqlUnitOfWork(db),
            tenant_id=tenant.id,
            url=receiver_url,
            event_types=(),
            sealer=Sealer(KEY),
            resolver=SystemResolver(),
            allow_private=True,
            now=utcnow(),
        )
        for chunk in range(EVENTS // 500):
            async with SqlUnitOfWork(db) as uow:
                for i in range(500):
                    await events.emit(
                        uow,
                        tenant_id=tenant.id,
                        event_type=event_rules.INVITATION_CREATED,
                        data={"invitationId": str(uuid.UUID(int=chunk * 500 + i))},
                        now=utcnow(),
                    )
                await uow.commit()
        return made.endpoint.id, made.secret
    finally:
        await db.close()


async def delivered(url: str, endpoint_id: str) -> dict[str, int]:
    db = connect(url)
    try:
        async with SqlUnitOfWork(db, write=False) as uow:
            return await uow.webhooks.delivery_counts(endpoint_id)
    finally:
        await db.close()


def start_worker(url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        "GUESTGATE_DATABASE_URL": url,
        "GUESTGATE_SECRET_KEY": base64.urlsafe_b64encode(KEY).decode(),
        "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",
        "GUESTGATE_WEBHOOK_TIMEOUT": "2",
        "GUESTGATE_LOG_LEVEL": "WARNING",
        "GUESTGATE_MAIL_DIR": str(tmp_path / "mail"),
        "PATH": "/usr/bin:/bin",
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }
    return subprocess.Popen(
        [*GUESTGATE, "worker", "--poll", "0.1"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_a_killed_worker_loses_no_event_and_repeats_keep_their_id(url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    try:
        endpoint_id, secret = asyncio.run(fill(url, receiver.url))
        kills = 0
        for threshold in (1500, 5000, 8000):
            worker = start_worker(url, tmp_path)
            deadline = time.monotonic() + 120
            while len(receiver.ids()) < threshold:
                assert worker.poll() is None, "the worker exited"
                assert time.monotonic() < deadline, "deliveries stalled"
                time.sleep(0.02)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
        worker = start_worker(url, tmp_path)
        try:
            deadline = time.monotonic() + 180
            while len(receiver.ids()) < EVENTS:
                assert time.monotonic() < deadline, f"only {len(receiver.ids())} arrived"
                time.sleep(0.1)
            deadline = time.monotonic() + 30
            while asyncio.run(delivered(url, endpoint_id)) != {"delivered": EVENTS}:
                assert time.monotonic() < deadline, asyncio.run(delivered(url, endpoint_id))
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    finally:
        receiver.stop()
    assert kills == 3
    ids = receiver.ids()
    assert len(ids) == EVENTS
    bodies: dict[str, bytes] = {}
    hook = standardwebhooks.Webhook(secret)
    for got in receiver.received:
        # A repeat is the same message: same id, same bytes (its timestamp is the attempt's).
        assert bodies.setdefault(got.webhook_id, got.body) == got.body
        hook.verify(got.body, got.headers)
    repeats = sum(n - 1 for n in ids.values())
    print(f"{EVENTS} events, {kills} kills, {repeats} repeats")
