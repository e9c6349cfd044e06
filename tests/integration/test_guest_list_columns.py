"""The guest list's copy of each guest's latest invitation (users.latest_invitation_id,
invitation_state, invitation_expires_at, invitation_requester, invited_at) agrees with a
recount from the invitations table after every write path, and after races, on SQLite and
PostgreSQL; and the list's filters and counts agree with that recount."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain.console import GuestFilter
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import iso, utcnow
from guestgate.domain.views import InvitationView
from guestgate.errors import GuestgateError
from guestgate.services import redemption
from guestgate.services.directory import Actor
from guestgate.services.ports import UnitOfWork
from tests.integration.kept_counts import assert_counts_kept
from tests.security.services import (
    SEALER,
    UowFactory,
    accept,
    make_service,
    new_actor,
    verified_session,
)

pytestmark = pytest.mark.anyio

STATE = {"Completed": "Accepted", "PendingAcceptance": "Pending"}


async def _fetch(db: Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    tx = await db.begin(write=False)
    try:
        return [dict(r) for r in await tx.fetchall(sql, params)]
    finally:
        await tx.rollback()


async def recount(db: Database, tenant_id: str) -> dict[str, tuple[Any, ...]]:
    """Each guest's latest invitation, worked out here from the invitations table."""
    users = await _fetch(
        db,
        "SELECT id, external_user_state FROM users WHERE tenant_id = :tid AND user_type = 'Guest'",
        {"tid": tenant_id},
    )
    invitations = await _fetch(
        db, "SELECT * FROM invitations WHERE tenant_id = :tid", {"tid": tenant_id}
    )
    latest: dict[str, dict[str, Any]] = {}
    for i in sorted(invitations, key=lambda i: (i["created_at"], i["id"])):
        latest[i["user_id"]] = i
    expected = {}
    for u in users:
        i = latest.get(u["id"])
        if i is None:
            state = "Accepted" if u["external_user_state"] == "Accepted" else "Pending"
            expected[u["id"]] = (None, state, None, None, None)
            continue
        pending = i["status"] == "PendingAcceptance"
        expected[u["id"]] = (
            i["id"],
            STATE.get(i["status"], i["status"]),
            i["expires_at"] if pending else None,
            i["requested_by"],
            i["created_at"],
        )
    return expected


async def stored(db: Database, tenant_id: str) -> dict[str, tuple[Any, ...]]:
    rows = await _fetch(
        db,
        "SELECT id, latest_invitation_id, invitation_state, invitation_expires_at,"
        " invitation_requester, invited_at FROM users"
        " WHERE tenant_id = :tid AND user_type = 'Guest'",
        {"tid": tenant_id},
    )
    return {
        r["id"]: (
            r["latest_invitation_id"],
            r["invitation_state"],
            r["invitation_expires_at"],
            r["invitation_requester"],
            r["invited_at"],
        )
        for r in rows
    }


async def assert_agrees(uow: UowFactory, db: Database, tenant_id: str) -> None:
    """The stored columns equal the recount, and every state's page and count match it; the
    kept counts equal a GROUP BY of the users."""
    expected = await recount(db, tenant_id)
    assert await stored(db, tenant_id) == expected
    await assert_counts_kept(db)
    now = iso(utcnow())
    states: Counter[str] = Counter()
    for _, state, expires, _, _ in expected.values():
        states["Expired" if state == "Pending" and expires and expires <= now else state] += 1
    requesters = Counter(r for *_, r, _ in expected.values() if r is not None)
    async with uow(write=False) as work:
        for state in ("Pending", "Accepted", "Declined", "Revoked", "Expired"):
            where = GuestFilter(state=state, top=500)
            rows = await work.guest_list.page(tenant_id, where, now=now)
            assert {r.state for r in rows} <= {state}
            assert len(rows) == states[state]
            assert await work.guest_list.count(tenant_id, where, now=now) == states[state]
        for requester, n in requesters.items():
            where = GuestFilter(requester=requester, top=500)
            rows = await work.guest_list.page(tenant_id, where, now=now)
            assert {r.requester for r in rows} == {requester}
            assert len(rows) == n == await work.guest_list.count(tenant_id, where, now=now)
        everyone = await work.guest_list.page(tenant_id, GuestFilter(top=500), now=now)
        assert {r.user_id: r.invitation_id for r in everyone} == {
            k: v[0] for k, v in expected.items()
        }
        assert await work.guest_list.count(tenant_id, GuestFilter(), now=now) == len(expected)


async def _invite(uow: UowFactory, actor: Actor, email: str, **more: Any) -> InvitationView:
    request = build_invite_request(email=email, send_message=False, **more)
    return await make_service(uow).invite(actor, request)


def _address() -> str:
    return f"g.{uuid.uuid4().hex[:10]}@fabrikam.example"


async def test_every_write_path_keeps_the_latest_invitation_on_the_guest(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    boss, other = "boss@contoso.example", "other@contoso.example"
    a, b, c, d, e = (_address() for _ in range(5))
    views = {m: await _invite(uow, actor, m, requested_by=boss) for m in (a, b, c, d, e)}
    await assert_agrees(uow, db, actor.tenant_id)
    # Re-invite (a new invitation by another requester; the pending one is revoked), resend.
    again = await _invite(uow, actor, a, requested_by=other)
    await service.resend(actor, again.id)
    await service.revoke(actor, views[b].id)  # revoke
    await accept(uow, await verified_session(uow, views[c].id))  # accept
    await redemption.decline(  # decline
        uow(),
        session_id=await verified_session(uow, views[d].id),
        sealer=SEALER,
        now=utcnow(),
        request_id=None,
    )
    await service.delete_user(actor, views[e].user_id)  # delete
    await assert_agrees(uow, db, actor.tenant_id)
    # Reset redemption of the accepted guest (at a new address), then of the declined one.
    reset = await _invite(uow, actor, _address(), reset_user_id=views[c].user_id)
    assert reset.user_id == views[c].user_id
    await _invite(uow, actor, d, reset_user_id=views[d].user_id, requested_by=other)
    # Bulk: the GT365 API's list (one already invited among new ones) and a bulk job's row.
    many = [build_invite_request(email=m) for m in (_address(), a, _address())]
    answers = await service.invite_many(actor, list(many))
    assert not any(isinstance(x, GuestgateError) for x in answers)

    async def also(work: UnitOfWork, view: InvitationView, now: Any) -> None:
        return None

    async def held(work: UnitOfWork, pending: Any, now: Any) -> None:
        raise AssertionError("no approval rule is set: nothing is held")

    job = await service.invite_in_job(
        actor, build_invite_request(email=b, requested_by=other), also=also, also_held=held
    )
    await service.revoke(actor, job.id)
    await assert_agrees(uow, db, actor.tenant_id)


async def test_an_expired_invitation_reads_expired_and_a_resend_makes_it_pending(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    view = await _invite(uow, actor, _address())
    past = iso(utcnow() - timedelta(days=1))
    tx = await db.begin(write=True)
    await tx.execute(  # time passes: the invitation and its copy expire together
        "UPDATE invitations SET expires_at = :t WHERE id = :id", {"t": past, "id": view.id}
    )
    await tx.execute(
        "UPDATE users SET invitation_expires_at = :t WHERE id = :id",
        {"t": past, "id": view.user_id},
    )
    await tx.commit()
    await assert_agrees(uow, db, actor.tenant_id)
    async with uow(write=False) as work:
        [row] = await work.guest_list.page(actor.tenant_id, GuestFilter(), now=iso(utcnow()))
    assert row.state == "Expired"
    await make_service(uow).resend(actor, view.id)
    await assert_agrees(uow, db, actor.tenant_id)
    async with uow(write=False) as work:
        [row] = await work.guest_list.page(actor.tenant_id, GuestFilter(), now=iso(utcnow()))
    assert row.state == "Pending"


async def test_races_of_reinvite_accept_decline_resend_and_revoke_leave_the_copy_right(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    for n in range(4):
        email = _address()
        view = await _invite(uow, actor, email)
        session = await verified_session(uow, view.id)
        results = await asyncio.gather(
            accept(uow, session),
            redemption.decline(
                uow(), session_id=session, sealer=SEALER, now=utcnow(), request_id=None
            ),
            service.resend(actor, view.id),
            service.revoke(actor, view.id),
            _invite(uow, actor, email, requested_by=f"r{n}@contoso.example"),
            return_exceptions=True,
        )
        assert not any(
            isinstance(r, BaseException) and not isinstance(r, GuestgateError) for r in results
        ), results
        await assert_agrees(uow, db, actor.tenant_id)
