"""Users: one per email key and tenant, reads, state changes, deletes, guest lists, OData."""

from __future__ import annotations

from dataclasses import replace

import pytest

from guestgate.domain.odata import UserQuery, parse_filter
from guestgate.domain.redemption import RedeemSession
from guestgate.domain.users import User
from tests.contract.builders import (
    UowFactory,
    at,
    committed,
    make_invitation,
    make_tenant,
    make_user,
    tenant_with_guest,
)

pytestmark = pytest.mark.anyio


async def test_add_if_absent_adds_one_user_per_email_key_and_tenant(make_uow: UowFactory) -> None:
    tenant, other_tenant = make_tenant(), make_tenant()
    first = make_user(tenant.id)
    await committed(make_uow, tenant, other_tenant)
    async with make_uow() as uow:
        assert await uow.users.add_if_absent(first)
        assert not await uow.users.add_if_absent(
            make_user(tenant.id, email_key=first.email_key, display_name="second")
        )
        elsewhere = make_user(other_tenant.id, email_key=first.email_key)
        assert await uow.users.add_if_absent(elsewhere)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.users.get_by_email(tenant.id, first.email_key) == first
        assert await uow.users.get_by_email(other_tenant.id, first.email_key) == elsewhere
        assert await uow.users.get_by_email(tenant.id, "nobody@example.com") is None


async def test_get_finds_a_user_only_in_their_own_tenant(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    async with make_uow(write=False) as uow:
        assert await uow.users.get(tenant.id, guest.id) == guest
        assert await uow.users.get(make_tenant().id, guest.id) is None
        assert await uow.users.get(tenant.id, make_user(tenant.id).id) is None


async def test_get_by_upn_ignores_case(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow, user_principal_name="Ada_x#EXT#@c.example")
    async with make_uow(write=False) as uow:
        assert await uow.users.get_by_upn(tenant.id, "ada_X#ext#@C.EXAMPLE") == guest
        assert await uow.users.get_by_upn(make_tenant().id, guest.user_principal_name) is None


async def test_lock_changes_nothing_and_mark_accepted_records_when(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    async with make_uow() as uow:
        await uow.users.lock(guest.id)
        assert await uow.users.get(tenant.id, guest.id) == guest
        await uow.users.mark_accepted(guest.id, at(60))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.users.get(tenant.id, guest.id) == replace(
            guest, external_user_state="Accepted", external_user_state_changed_at=at(60)
        )


async def test_reset_redemption_moves_the_user_to_a_new_address(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    async with make_uow() as uow:
        await uow.users.mark_accepted(guest.id, at(10))
        await uow.users.reset_redemption(
            guest.id,
            mail="New@Example.com",
            email_key="new@example.com",
            upn="new#EXT#",
            now=at(20),
        )
        await uow.users.set_sponsors(guest.id, [make_user(tenant.id).id])
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.users.get_by_email(tenant.id, guest.email_key) is None
        assert await uow.users.get_by_email(tenant.id, "new@example.com") == replace(
            guest,
            mail="New@Example.com",
            email_key="new@example.com",
            user_principal_name="new#EXT#",
            external_user_state="PendingAcceptance",
            external_user_state_changed_at=at(20),
        )


async def test_delete_takes_the_users_invitations_and_sessions_along(
    make_uow: UowFactory,
) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    _, other = await tenant_with_guest(make_uow)
    mine, theirs = make_invitation(guest), make_invitation(other)
    await committed(make_uow, (mine, "hash-mine"), (theirs, "hash-theirs"))
    async with make_uow() as uow:
        await uow.redeem_sessions.add(
            session_hash="s-mine", invitation_id=mine.id, now=at(0), expires_at=at(3600)
        )
        await uow.redeem_sessions.add(
            session_hash="s-theirs", invitation_id=theirs.id, now=at(0), expires_at=at(3600)
        )
        await uow.commit()
    async with make_uow() as uow:
        await uow.users.delete(guest.id)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.users.get(tenant.id, guest.id) is None
        assert await uow.invitations.get_by_id(mine.id) is None
        assert await uow.redeem_sessions.get("s-mine") is None
        assert await uow.invitations.get_by_id(theirs.id) == theirs
        assert isinstance(await uow.redeem_sessions.get("s-theirs"), RedeemSession)


async def test_list_guests_lists_guests_oldest_first_pending_only_on_request(
    make_uow: UowFactory,
) -> None:
    tenant = make_tenant()
    accepted = make_user(tenant.id, created_at=at(1), external_user_state="Accepted")
    pending = make_user(tenant.id, created_at=at(2))
    newest = make_user(tenant.id, created_at=at(3))
    member = make_user(tenant.id, user_type="Member", external_user_state=None, created_at=at(0))
    stranger = make_user(make_tenant().id)
    await committed(make_uow, tenant, newest, member, pending, accepted)
    async with make_uow(write=False) as uow:
        users = uow.users
        assert await users.list_guests(tenant.id, pending_only=False, limit=10) == [
            accepted,
            pending,
            newest,
        ]
        assert await users.list_guests(tenant.id, pending_only=True, limit=10) == [pending, newest]
        assert await users.list_guests(tenant.id, pending_only=False, limit=2) == [
            accepted,
            pending,
        ]
        assert await users.list_guests(stranger.tenant_id, pending_only=False, limit=10) == []


async def users_for_queries(make_uow: UowFactory) -> tuple[str, dict[str, User]]:
    tenant = make_tenant()
    ada = make_user(
        tenant.id, display_name="ada lovelace", mail="ada@math.example", created_at=at(3)
    )
    bob = make_user(
        tenant.id,
        display_name="bob",
        mail="Bob@Build.example",
        created_at=at(1),
        external_user_state="Accepted",
    )
    cy = make_user(
        tenant.id,
        display_name="cy",
        mail="cy@math.example",
        created_at=at(2),
        user_type="Member",
        external_user_state=None,
        creation_type=None,
    )
    other = make_tenant()
    outsider = make_user(other.id, display_name="ada")
    await committed(make_uow, tenant, other, ada, bob, cy, outsider)
    return tenant.id, {"ada": ada, "bob": bob, "cy": cy}


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        (None, ["bob", "cy", "ada"]),
        ("userType eq 'Guest'", ["bob", "ada"]),
        ("userType ne 'Guest'", ["cy"]),
        ("externalUserState eq null", ["cy"]),
        ("externalUserState ne 'Accepted'", ["cy", "ada"]),
        ("startswith(mail, 'BOB@')", ["bob"]),
        ("mail eq 'bob@build.example'", ["bob"]),
        ("displayName in ('CY', 'bob')", ["bob", "cy"]),
        ("createdDateTime ge 2026-01-01T00:00:02Z", ["cy", "ada"]),
        # NULL is unknown, as in SQL: NOT of an unknown comparison is unknown, not true.
        ("not (creationType eq 'Invitation')", []),
        ("creationType eq 'Invitation' or externalUserState eq 'Accepted'", ["bob", "ada"]),
        ("not (externalUserState eq 'Accepted') and userType eq 'Guest'", ["ada"]),
    ],
)
async def test_query_and_count_apply_the_filter_within_the_tenant(
    make_uow: UowFactory, filter_: str | None, expected: list[str]
) -> None:
    tenant_id, users = await users_for_queries(make_uow)
    query = UserQuery(filter=None if filter_ is None else parse_filter(filter_))
    async with make_uow(write=False) as uow:
        found = await uow.users.query(tenant_id, query)
        assert found == [users[name] for name in expected]
        assert await uow.users.count(tenant_id, query) == len(expected)


async def test_query_searches_orders_and_pages_on_a_keyset(make_uow: UowFactory) -> None:
    tenant_id, users = await users_for_queries(make_uow)
    ada, bob, cy = users["ada"], users["bob"], users["cy"]
    async with make_uow(write=False) as uow:
        q = uow.users.query
        assert await q(tenant_id, UserQuery(search=("mail", "MATH"))) == [cy, ada]
        assert await uow.users.count(tenant_id, UserQuery(search=("displayName", "B"))) == 1
        by_name = UserQuery(order_by="displayName", descending=True, top=1)
        assert await q(tenant_id, by_name) == [cy, bob]  # one more than asked: there is more
        after_bob = replace(by_name, after=("bob", bob.id))
        assert await q(tenant_id, after_bob) == [ada]
        oldest = UserQuery(top=1, after=(bob.created_at, bob.id))
        assert await q(tenant_id, oldest) == [cy, ada]
