"""The worker's event sweeps on SQLite and PostgreSQL: `invitation.sent` when the mail is
handed over, `invitation.expired` once per expiry (also with two sweepers racing), and event
retention that keeps what is still owed and makes the feed answer 410 for what is gone."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from guestgate.adapters.mail.render import Sender
from guestgate.adapters.mail.transport import FolderTransport
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import utcnow
from guestgate.errors import Gone
from guestgate.services import event_sweeps, events
from guestgate.services.directory import Actor
from guestgate.worker import OutboxWorker
from tests.integration.test_webhook_delivery import emit, setup, worker
from tests.security.services import SEALER, UowFactory, make_service, new_actor, pending_guest
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.anyio
LATER = timedelta(days=400)  # past any invitation's expiry


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


async def bodies(uow: UowFactory, tenant_id: str) -> list[dict[str, Any]]:
    found = await events.feed(uow, tenant_id=tenant_id, after=0, types=[], limit=1000)
    return [json.loads(e.body) for e in found]


async def stored_expiries(db: Database, ids: list[str]) -> dict[str, tuple[str, str]]:
    tx = await db.begin(write=False)
    try:
        rows = await tx.fetchall("SELECT id, expires_at, expiry_reported FROM invitations", {})
    finally:
        await tx.rollback()
    return {r["id"]: (r["expires_at"], r["expiry_reported"]) for r in rows if r["id"] in ids}


async def test_the_invitation_mail_handed_over_is_told_once_without_its_link(
    uow: UowFactory, tmp_path: Path
) -> None:
    actor = await new_actor(uow)
    email = f"sent.{uuid.uuid4().hex[:8]}@example.com"
    view = await make_service(uow).invite(
        actor, build_invite_request(email=email, send_message=True)
    )
    mailer = OutboxWorker(
        lambda: uow(),
        sealer=SEALER,
        transport=FolderTransport(str(tmp_path)),
        sender=Sender("g@x.test"),
    )
    assert await mailer.run_once() == 1
    assert await mailer.run_once() == 0
    found = await bodies(uow, actor.tenant_id)
    assert [b["type"] for b in found] == ["invitation.created", "invitation.sent"]
    assert found[1]["data"]["invitationId"] == view.id
    assert found[1]["data"]["userId"] == view.user_id
    assert view.redeem_url is not None
    [ticket] = parse_qs(urlsplit(view.redeem_url).query)["ticket"]
    assert ticket not in json.dumps(found)
    async with uow(write=False) as work:
        [sent] = await work.outbox.list(status="sent", limit=10)
    async with uow() as work:  # a repeat after a lost lease finds it marked: no second event
        assert not await work.outbox.mark_sent(sent.id, "2030-01-01T00:00:00.000000Z")
        await work.commit()


async def test_expired_invitations_are_told_of_once_each(uow: UowFactory, db: Database) -> None:
    actor = await new_actor(uow)
    views = [(await pending_guest(uow, actor))[0] for _ in range(3)]
    assert await event_sweeps.report_expired(uow, now=utcnow()) == 0  # none expired yet
    assert await event_sweeps.report_expired(uow, now=utcnow() + LATER, batch=2) == 3
    assert await event_sweeps.report_expired(uow, now=utcnow() + LATER) == 0
    expired = [b for b in await bodies(uow, actor.tenant_id) if b["type"] == "invitation.expired"]
    assert sorted(b["data"]["invitationId"] for b in expired) == sorted(v.id for v in views)
    stored = await stored_expiries(db, [v.id for v in views])
    assert all(at == told for at, told in stored.values())
    for body in expired:
        assert body["data"]["expiredDateTime"] == stored[body["data"]["invitationId"]][0]
    # A resend gives a new expiry: when that one passes it is told of again, once.
    await make_service(uow).resend(actor, views[0].id)
    assert await event_sweeps.report_expired(uow, now=utcnow() + LATER * 2) == 1


async def test_revoked_or_accepted_invitations_are_never_told_expired(uow: UowFactory) -> None:
    actor = await new_actor(uow)
    view, _ = await pending_guest(uow, actor)
    await make_service(uow).revoke(actor, view.id)
    assert await event_sweeps.report_expired(uow, now=utcnow() + LATER) == 0


async def test_two_sweepers_racing_tell_of_each_expiry_exactly_once(
    database_url: str, uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    ids = [
        (
            await service.invite(
                actor, build_invite_request(email=f"x{i}.{uuid.uuid4().hex[:6]}@example.com")
            )
        ).id
        for i in range(40)
    ]
    other = connect(database_url, pool_size=2)  # a second worker: its own connections
    try:
        later = utcnow() + LATER
        told = await asyncio.gather(
            event_sweeps.report_expired(uow, now=later, batch=7),
            event_sweeps.report_expired(lambda: SqlUnitOfWork(other), now=later, batch=7),
        )
    finally:
        await other.close()
    assert sum(told) == 40
    expired = [b for b in await bodies(uow, actor.tenant_id) if b["type"] == "invitation.expired"]
    assert sorted(b["data"]["invitationId"] for b in expired) == sorted(ids)
    stored = await stored_expiries(db, ids)
    assert len(stored) == 40
    assert all(at == told for at, told in stored.values())


async def test_of_two_transactions_marking_one_expiry_only_one_wins(
    database_url: str, uow: UowFactory
) -> None:
    actor = await new_actor(uow)
    view, _ = await pending_guest(uow, actor)
    async with uow(write=False) as work:
        found = await work.invitations.get_by_id(view.id)
    assert found is not None
    assert found.expires_at is not None
    other = connect(database_url, pool_size=1)
    try:
        async with uow() as first:
            assert await first.invitations.report_expiry(view.id, expires_at=found.expires_at)

            async def second() -> bool:
                async with SqlUnitOfWork(other) as work:
                    won = await work.invitations.report_expiry(view.id, expires_at=found.expires_at)
                    await work.commit()
                return won

            racing = asyncio.create_task(second())
            await asyncio.sleep(0.3)  # it waits for the first's row lock (or SQLite's writer)
            await first.commit()
        assert await racing is False
    finally:
        await other.close()


async def test_retention_forgets_old_events_but_not_those_still_owed(
    uow: UowFactory, receiver: Receiver
) -> None:
    tenant_id, made = await setup(uow, receiver.url)
    relay = worker(uow)
    old = utcnow() - timedelta(days=100)
    for _ in range(3):
        await emit_at(uow, tenant_id, old)
    while len(receiver.received) < 3:
        await relay.run_once()
    receiver.default = Reply(status=500)  # the next two stay pending, retried
    for _ in range(2):
        await emit_at(uow, tenant_id, old)
    fresh = await emit(uow, tenant_id)
    await relay.run_once()
    await relay.sender.close()
    gone = await event_sweeps.forget_old_events(uow, now=utcnow(), retention_days=90, batch=2)
    assert gone.events == 3
    with pytest.raises(Gone) as refused:
        await events.feed(uow, tenant_id=tenant_id, after=0, types=[], limit=10)
    assert "the oldest cursor available is 3" in refused.value.message
    kept = await events.feed(uow, tenant_id=tenant_id, after=3, types=[], limit=10)
    assert [e.sequence for e in kept] == [4, 5, 6]
    assert kept[-1].id == fresh.id
    async with uow(write=False) as work:
        counts = await work.webhooks.delivery_counts(made.endpoint.id)
        log = await work.webhooks.attempts(made.endpoint.id, limit=100)
    assert counts == {"pending": 3}  # the delivered ones went with their events
    assert {a.event_id for a in log} <= {e.id for e in kept}


async def test_a_feed_whose_every_event_was_forgotten_names_the_next_cursor(
    uow: UowFactory,
) -> None:
    actor: Actor = await new_actor(uow)
    for _ in range(2):
        await emit_at(uow, actor.tenant_id, utcnow() - timedelta(days=100))
    await events.number_pending(uow())
    gone = await event_sweeps.forget_old_events(uow, now=utcnow(), retention_days=90)
    assert gone.events == 2
    with pytest.raises(Gone) as refused:
        await events.feed(uow, tenant_id=actor.tenant_id, after=1, types=[], limit=10)
    assert "the oldest cursor available is 2" in refused.value.message
    assert await events.feed(uow, tenant_id=actor.tenant_id, after=2, types=[], limit=10) == []


async def emit_at(uow: UowFactory, tenant_id: str, when: datetime) -> None:
    async with uow() as work:
        await events.emit(
            work, tenant_id=tenant_id, event_type="invitation.created", data={"n": 1}, now=when
        )
        await work.commit()
