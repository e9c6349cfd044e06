"""The outbox: leases on due messages, outcomes, listing and retrying dead messages."""

from __future__ import annotations

import pytest

from guestgate.domain.messages import ClaimedMessage
from tests.contract.builders import UowFactory, at, make_tenant

pytestmark = pytest.mark.anyio
TENANT = make_tenant().id


async def add(make_uow: UowFactory, *ids: str, now: str = at(0)) -> None:
    async with make_uow() as uow:
        for message_id in ids:
            await uow.outbox.add(
                id=message_id,
                tenant_id=TENANT,
                kind="invitation",
                recipient=f"{message_id}@example.com",
                sealed=f"sealed-{message_id}",
                now=now,
            )
        await uow.commit()


async def claim(make_uow: UowFactory, now: str, lease_until: str, limit: int = 10) -> list[str]:
    async with make_uow() as uow:
        claimed = await uow.outbox.claim(now=now, lease_until=lease_until, limit=limit)
        await uow.commit()
    return sorted(m.id for m in claimed)


async def test_claim_leases_due_messages_with_their_sealed_payload(make_uow: UowFactory) -> None:
    await add(make_uow, "m1")
    async with make_uow() as uow:
        claimed = await uow.outbox.claim(now=at(1), lease_until=at(61), limit=10)
        await uow.commit()
    assert claimed == [
        ClaimedMessage(
            id="m1",
            tenant_id=TENANT,
            kind="invitation",
            recipient="m1@example.com",
            attempts=1,
            sealed="sealed-m1",
        )
    ]
    assert await claim(make_uow, at(30), at(90)) == []  # leased to the first worker
    async with make_uow() as uow:
        again = await uow.outbox.claim(now=at(61), lease_until=at(121), limit=10)
        await uow.commit()
    assert [(m.id, m.attempts) for m in again] == [("m1", 2)]  # the lease ran out


async def test_claim_takes_the_most_overdue_messages_first_up_to_the_limit(
    make_uow: UowFactory,
) -> None:
    await add(make_uow, "late", now=at(20))
    await add(make_uow, "early", now=at(10))
    await add(make_uow, "future", now=at(100))
    assert await claim(make_uow, at(50), at(110), limit=1) == ["early"]
    assert await claim(make_uow, at(50), at(110), limit=5) == ["late"]


async def test_renew_extends_the_lease_of_pending_messages(make_uow: UowFactory) -> None:
    await add(make_uow, "m1", "m2")
    assert await claim(make_uow, at(1), at(61)) == ["m1", "m2"]
    async with make_uow() as uow:
        await uow.outbox.mark_sent("m2", at(20))
        await uow.outbox.renew(["m1", "m2"], at(120))
        await uow.commit()
    assert await claim(make_uow, at(90), at(150)) == []
    assert await claim(make_uow, at(120), at(180)) == ["m1"]


async def test_a_sent_message_loses_its_payload_and_is_not_claimed_again(
    make_uow: UowFactory,
) -> None:
    await add(make_uow, "m1")
    await claim(make_uow, at(1), at(61))
    async with make_uow() as uow:
        await uow.outbox.mark_sent("m1", at(2))
        await uow.commit()
    assert await claim(make_uow, at(100), at(160)) == []
    async with make_uow(write=False) as uow:
        [message] = await uow.outbox.list(status="sent", limit=10)
    assert (message.status, message.sent_at, message.attempts) == ("sent", at(2), 1)
    assert (message.last_error, message.payload) == (None, None)


async def test_a_failed_message_waits_for_its_next_attempt_and_a_dead_one_for_retry(
    make_uow: UowFactory,
) -> None:
    await add(make_uow, "soon", "dead1", "dead2")
    await claim(make_uow, at(1), at(61))
    async with make_uow() as uow:
        await uow.outbox.mark_failed("soon", error="x" * 600, next_attempt_at=at(30), dead=False)
        await uow.outbox.mark_failed("dead1", error="550", next_attempt_at=at(30), dead=True)
        await uow.outbox.mark_failed("dead2", error="550", next_attempt_at=at(30), dead=True)
        await uow.commit()
    assert await claim(make_uow, at(29), at(89)) == []
    assert await claim(make_uow, at(30), at(90)) == ["soon"]
    async with make_uow(write=False) as uow:
        dead = await uow.outbox.list(status="dead", limit=10)
        [soon] = [m for m in await uow.outbox.list(status=None, limit=10) if m.id == "soon"]
    assert sorted(m.id for m in dead) == ["dead1", "dead2"]
    assert {m.last_error for m in dead} == {"550"}
    assert (soon.status, soon.attempts, soon.last_error) == ("pending", 2, "x" * 500)
    async with make_uow() as uow:
        assert await uow.outbox.retry(message_id="dead1", now=at(40)) == 1
        assert await uow.outbox.retry(message_id="dead1", now=at(40)) == 0
        await uow.commit()
    assert await claim(make_uow, at(40), at(100)) == ["dead1"]
    async with make_uow() as uow:
        assert await uow.outbox.retry(message_id=None, now=at(50)) == 1
        await uow.commit()
    async with make_uow() as uow:
        [retried] = await uow.outbox.claim(now=at(50), lease_until=at(110), limit=10)
        await uow.commit()
    assert (retried.id, retried.attempts) == ("dead2", 1)  # attempts start again


async def test_list_is_newest_first_by_status_up_to_the_limit(make_uow: UowFactory) -> None:
    await add(make_uow, "b", "a", now=at(1))
    await add(make_uow, "c", now=at(2))
    async with make_uow(write=False) as uow:
        listed = await uow.outbox.list(status=None, limit=10)
        assert [m.id for m in listed] == ["c", "a", "b"]
        assert [m.id for m in await uow.outbox.list(status="pending", limit=2)] == ["c", "a"]
        assert await uow.outbox.list(status="dead", limit=10) == []
    first = listed[0]
    assert (first.tenant_id, first.kind, first.recipient, first.status) == (
        TENANT,
        "invitation",
        "c@example.com",
        "pending",
    )
    assert (first.attempts, first.next_attempt_at, first.created_at) == (0, at(2), at(2))
    assert (first.sent_at, first.last_error, first.payload) == (None, None, None)
