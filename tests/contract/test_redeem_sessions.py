"""Redemption sessions: codes sent, attempts counted atomically, verification renames."""

from __future__ import annotations

from dataclasses import replace

import pytest

from guestgate.domain.redemption import RedeemSession
from tests.contract.builders import UowFactory, at, committed, make_invitation, tenant_with_guest

pytestmark = pytest.mark.anyio


async def started(make_uow: UowFactory) -> RedeemSession:
    _, guest = await tenant_with_guest(make_uow)
    invitation = make_invitation(guest)
    await committed(make_uow, (invitation, "ticket"))
    async with make_uow() as uow:
        await uow.redeem_sessions.add(
            session_hash="s1", invitation_id=invitation.id, now=at(0), expires_at=at(3600)
        )
        await uow.commit()
    return RedeemSession(
        session_hash="s1",
        invitation_id=invitation.id,
        code_hash=None,
        code_expires_at=None,
        code_attempts=0,
        codes_sent=0,
        last_code_at=None,
        verified_at=None,
        created_at=at(0),
        expires_at=at(3600),
    )


async def test_a_new_session_has_no_code_yet(make_uow: UowFactory) -> None:
    session = await started(make_uow)
    async with make_uow(write=False) as uow:
        assert await uow.redeem_sessions.get("s1") == session
        assert await uow.redeem_sessions.get("unknown") is None


async def test_each_code_sent_resets_the_attempts_and_is_counted(make_uow: UowFactory) -> None:
    session = await started(make_uow)
    async with make_uow() as uow:
        sessions = uow.redeem_sessions
        await sessions.set_code("s1", code_hash="c1", expires_at=at(600), now=at(1))
        assert await sessions.count_attempt("s1", 2)
        await sessions.set_code("s1", code_hash="c2", expires_at=at(630), now=at(31))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.redeem_sessions.get("s1") == replace(
            session,
            code_hash="c2",
            code_expires_at=at(630),
            code_attempts=0,
            codes_sent=2,
            last_code_at=at(31),
        )


async def test_count_attempt_allows_at_most_the_limit(make_uow: UowFactory) -> None:
    await started(make_uow)
    async with make_uow() as uow:
        await uow.redeem_sessions.set_code("s1", code_hash="c1", expires_at=at(600), now=at(1))
        assert [await uow.redeem_sessions.count_attempt("s1", 2) for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert not await uow.redeem_sessions.count_attempt("unknown", 2)
        await uow.commit()
    async with make_uow(write=False) as uow:
        found = await uow.redeem_sessions.get("s1")
    assert found is not None
    assert found.code_attempts == 2


async def test_verify_moves_the_session_to_a_new_id_and_spends_the_code(
    make_uow: UowFactory,
) -> None:
    session = await started(make_uow)
    async with make_uow() as uow:
        await uow.redeem_sessions.set_code("s1", code_hash="c1", expires_at=at(600), now=at(1))
        await uow.redeem_sessions.verify("s1", new_hash="s2", now=at(5))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.redeem_sessions.get("s1") is None
        assert await uow.redeem_sessions.get("s2") == replace(
            session,
            session_hash="s2",
            code_expires_at=at(600),
            codes_sent=1,
            last_code_at=at(1),
            verified_at=at(5),
        )
