"""An endpoint turned off by its deliveries: the tenant's administrators are mailed, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from guestgate.adapters.mail.render import Sender, build
from guestgate.domain.messages import WEBHOOK_DISABLED, decode_payload
from guestgate.domain.timestamps import utcnow
from guestgate.services import roles, users
from tests.integration.test_webhook_delivery import (
    SEALER,
    UowFactory,
    emit,
    receiver,  # noqa: F401 (the fixture)
    run_until,
    setup,
    worker,
)
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.anyio


async def test_a_410_mails_each_administrator_once_and_no_one_else(
    uow: UowFactory,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.script = [Reply(410)] * 5
    tenant_id, _ = await setup(uow, receiver.url + "?token=kept-out-of-mails")
    async with uow(write=False) as work:
        tenant = await work.tenants.get(tenant_id)
    assert tenant is not None
    domain = tenant.domains[0]
    for name, role in (
        ("ada", "Global administrator"),
        ("bob", "User administrator"),
        ("cy", "Reader"),
        ("dee", "Guest inviter"),
    ):
        await users.create_member(
            uow(), tenant_id=tenant_id, email=f"{name}@{domain}", display_name=name, now=utcnow()
        )
        await roles.assign(
            uow(), tenant_ref=tenant_id, email=f"{name}@{domain}", role=role, now=utcnow()
        )
    await roles.assign(
        uow(), tenant_ref=tenant_id, email=f"ada@{domain}", role="User administrator", now=utcnow()
    )
    for _ in range(5):  # deliveries failing together disable the endpoint once
        await emit(uow, tenant_id)
    relay = worker(uow)
    await run_until(relay, lambda: len(receiver.received) >= 1)
    for _ in range(3):
        await relay.run_once()
        await asyncio.sleep(0.01)
    await relay.sender.close()
    async with uow(write=False) as work:
        queued = [
            m
            for m in await work.outbox.list(status=None, limit=100)
            if m.tenant_id == tenant_id and m.kind == WEBHOOK_DISABLED
        ]
        audit = [
            a for a in await work.audit.list(tenant_id, limit=50) if a.action == "webhook.disabled"
        ]
    async with uow() as work:  # leased to read the sealed payloads, then rolled back
        claimed = await work.outbox.claim(now="9999", lease_until="9999", limit=100)
    assert sorted(m.recipient for m in queued) == [f"ada@{domain}", f"bob@{domain}"]
    assert len(audit) == 1
    mine = [c for c in claimed if c.kind == WEBHOOK_DISABLED and c.tenant_id == tenant_id]
    assert len(mine) == 2
    notice = decode_payload(WEBHOOK_DISABLED, SEALER.open(mine[0].sealed, f"outbox:{mine[0].id}"))
    mail = build(
        notice,
        outbox_id=mine[0].id,
        sender=Sender("invites@mail.contoso.example"),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    ).parsed()
    assert mail["Subject"] == "Contoso: a webhook endpoint was turned off"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert receiver.url in text
    assert "kept-out-of-mails" not in text
    assert "the receiver answered 410 Gone" in text
    assert "administrator of Contoso" in text
