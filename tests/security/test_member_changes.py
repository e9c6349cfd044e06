"""Changing an existing user is judged by the user as stored, never by what a request claims.

An app with only User.Invite.All once took over an invited Member: `resetRedemption` with the
Member's id and a new address, then redeeming the new link, moved the Member's object (its id
and type) to the new address. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain.apps import INVITE, READWRITE_USERS
from guestgate.domain.invitations import build_invite_request
from guestgate.errors import PermissionDenied
from guestgate.services.directory import Actor
from tests.security.services import (
    UowFactory,
    accept,
    make_service,
    new_actor,
    state,
    verified_session,
)

pytestmark = pytest.mark.anyio


async def accepted_member(uow: UowFactory) -> tuple[Actor, Actor, str, str]:
    """An invited Member who accepted; an admin app and an app that may only invite."""
    base = await new_actor(uow)
    admin = Actor(tenant_id=base.tenant_id, app_id=None, permissions=frozenset({READWRITE_USERS}))
    inviter = Actor(tenant_id=base.tenant_id, app_id=None, permissions=frozenset({INVITE}))
    view = await make_service(uow).invite(
        admin,
        build_invite_request(email="member@partner.example", user_type="Member"),
    )
    await accept(uow, await verified_session(uow, view.id))
    return admin, inviter, view.user_id, view.id


async def user_row(db: Database, user_id: str) -> dict[str, object]:
    tx = await db.begin(write=False)
    try:
        row = await tx.fetchone(
            "SELECT mail, user_type, external_user_state FROM users WHERE id = :id",
            {"id": user_id},
        )
    finally:
        await tx.rollback()
    assert row is not None
    return dict(row)


async def test_invite_only_app_cannot_take_over_an_invited_member_by_reset(
    uow: UowFactory, db: Database
) -> None:
    _, inviter, member_id, _ = await accepted_member(uow)
    before = await user_row(db, member_id)
    service = make_service(uow)
    reset = build_invite_request(
        email="attacker@evil.example", user_type="Guest", reset_user_id=member_id
    )

    async def reset_then_redeem_the_new_link() -> None:
        view = await service.invite(inviter, reset)
        await accept(uow, await verified_session(uow, view.id))

    with pytest.raises(PermissionDenied, match=r"User\.ReadWrite\.All"):
        await reset_then_redeem_the_new_link()
    assert await user_row(db, member_id) == before


async def test_invite_only_app_cannot_reinvite_resend_or_revoke_a_member(
    uow: UowFactory, db: Database
) -> None:
    admin, inviter, member_id, _ = await accepted_member(uow)
    service = make_service(uow)
    pending = await service.invite(
        admin, build_invite_request(email="second.member@partner.example", user_type="Member")
    )
    before = await state(db, pending.id)
    with pytest.raises(PermissionDenied):
        # The request claims a guest; the stored user is a member.
        await service.invite(inviter, build_invite_request(email="member@partner.example"))
    with pytest.raises(PermissionDenied):
        await service.resend(inviter, pending.id)
    with pytest.raises(PermissionDenied):
        await service.revoke(inviter, pending.id)
    with pytest.raises(PermissionDenied):
        await service.delete_user(inviter, member_id)
    assert await state(db, pending.id) == before
    assert (await user_row(db, member_id))["external_user_state"] == "Accepted"


async def test_an_admin_app_may_reset_and_delete_a_member(uow: UowFactory, db: Database) -> None:
    admin, _, member_id, _ = await accepted_member(uow)
    service = make_service(uow)
    reset = build_invite_request(
        email="member.moved@partner.example", user_type="Member", reset_user_id=member_id
    )
    view = await service.invite(admin, reset)
    assert view.user_id == member_id
    assert await user_row(db, member_id) == {
        "mail": "member.moved@partner.example",
        "user_type": "Member",
        "external_user_state": "PendingAcceptance",
    }
    await service.delete_user(admin, member_id)
