"""Console roles, console sessions and the guest list, on the fake, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from guestgate.domain.console import ConsoleSession, GuestFilter
from guestgate.domain.roles import READER, SPONSOR, RoleAssignment
from guestgate.errors import IntegrityError
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


async def test_a_role_is_assigned_once_listed_and_removed(make_uow: UowFactory) -> None:
    tenant, member = await tenant_with_guest(make_uow, user_type="Member")
    async with make_uow() as uow:
        assert await uow.roles.assign(RoleAssignment(tenant.id, member.id, READER, at(1)))
        assert not await uow.roles.assign(RoleAssignment(tenant.id, member.id, READER, at(2)))
        assert await uow.roles.assign(RoleAssignment(tenant.id, member.id, SPONSOR, at(3)))
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert list(await uow.roles.of_user(tenant.id, member.id)) == [READER, SPONSOR]
        assert [a.role for a in await uow.roles.list(tenant.id)] == [READER, SPONSOR]
        assert (await uow.roles.list(tenant.id))[0].assigned_at == at(1)
        assert list(await uow.roles.of_user(str(uuid.uuid4()), member.id)) == []
    async with make_uow() as uow:
        assert await uow.roles.remove(tenant.id, member.id, READER)
        assert not await uow.roles.remove(tenant.id, member.id, READER)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert list(await uow.roles.of_user(tenant.id, member.id)) == [SPONSOR]


async def test_a_role_of_no_user_is_refused_and_a_deleted_users_roles_go(
    make_uow: UowFactory,
) -> None:
    tenant, member = await tenant_with_guest(make_uow, user_type="Member")
    with pytest.raises(IntegrityError):
        async with make_uow() as uow:
            await uow.roles.assign(RoleAssignment(tenant.id, str(uuid.uuid4()), READER, at(1)))
    async with make_uow() as uow:
        await uow.roles.assign(RoleAssignment(tenant.id, member.id, READER, at(1)))
        await uow.commit()
    async with make_uow() as uow:
        await uow.users.delete(member.id)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert list(await uow.roles.list(tenant.id)) == []


async def test_a_console_session_is_stored_and_ends_once(make_uow: UowFactory) -> None:
    tenant, member = await tenant_with_guest(make_uow, user_type="Member")
    session = ConsoleSession("a" * 64, tenant.id, member.id, at(0), at(3600))
    async with make_uow() as uow:
        await uow.console_sessions.add(session)
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.console_sessions.get("a" * 64) == session
        assert await uow.console_sessions.get("b" * 64) is None
    async with make_uow() as uow:
        assert await uow.console_sessions.end("a" * 64, at(10))
        assert not await uow.console_sessions.end("a" * 64, at(11))
        await uow.commit()
    async with make_uow(write=False) as uow:
        found = await uow.console_sessions.get("a" * 64)
    assert found is not None
    assert found.ended_at == at(10)


NOW = at(100 * 86400)


async def _seeded(make_uow: UowFactory) -> tuple[str, dict[str, str]]:
    """A tenant with one guest in each state (and a member, never listed): (tenant, ids)."""
    tenant = make_tenant()
    sponsor = make_user(tenant.id, user_type="Member", mail="sponsor@contoso.example")
    objects: list[object] = [tenant, sponsor]
    ids: dict[str, str] = {}
    specs = [
        ("Pending", "ada@fabrikam.example", "Ada", {"expires_at": at(200 * 86400)}),
        ("Accepted", "bob@fabrikam.example", "Bob", {"status": "Completed"}),
        ("Declined", "cy@northwind.example", "Cy", {"status": "Declined"}),
        ("Revoked", "di@northwind.example", "Di", {"status": "Revoked"}),
        ("Expired", "ed@northwind.example", "Ed Zoë", {"expires_at": at(50 * 86400)}),
    ]
    for n, (state, mail, name, inv) in enumerate(specs):
        user = make_user(tenant.id, mail=mail, display_name=name, created_at=at(n))
        requester = "boss@contoso.example" if n % 2 == 0 else None
        old = make_invitation(user, created_at=at(n), status="Revoked")
        new = make_invitation(user, created_at=at(n + 10), requested_by=requester, **inv)
        objects += [user, (old, uuid.uuid4().hex), (new, uuid.uuid4().hex)]
        ids[state] = user.id
    await committed(make_uow, *objects)  # type: ignore[arg-type]
    async with make_uow() as uow:
        await uow.users.set_sponsors(ids["Accepted"], [sponsor.id])
        await uow.commit()
    ids["sponsor"] = sponsor.id
    return tenant.id, ids


async def test_the_guest_list_states_come_from_the_latest_invitation(
    make_uow: UowFactory,
) -> None:
    tenant_id, ids = await _seeded(make_uow)
    async with make_uow(write=False) as uow:
        rows = await uow.guest_list.page(tenant_id, GuestFilter(), now=NOW)
        assert {r.user_id: r.state for r in rows} == {
            ids[s]: s for s in ("Pending", "Accepted", "Declined", "Revoked", "Expired")
        }
        assert await uow.guest_list.count(tenant_id, GuestFilter(), now=NOW) == 5
        for state in ("Pending", "Accepted", "Declined", "Revoked", "Expired"):
            one = await uow.guest_list.page(tenant_id, GuestFilter(state=state), now=NOW)
            assert [r.user_id for r in one] == [ids[state]]
            assert await uow.guest_list.count(tenant_id, GuestFilter(state=state), now=NOW) == 1


async def test_the_guest_list_filters_combine_and_page_by_keyset(make_uow: UowFactory) -> None:
    tenant_id, ids = await _seeded(make_uow)
    async with make_uow(write=False) as uow:

        async def names(where: GuestFilter) -> list[str]:
            rows = await uow.guest_list.page(tenant_id, where, now=NOW)
            assert await uow.guest_list.count(tenant_id, where, now=NOW) == len(rows)
            return [r.display_name for r in rows]

        assert await names(GuestFilter(domain="NorthWind.example", sort="name")) == [
            "Ed Zoë",
            "Di",
            "Cy",
        ]
        assert await names(
            GuestFilter(domain="northwind.example", requester="boss@contoso.example")
        ) == [
            "Ed Zoë",
            "Cy",
        ]
        assert await names(GuestFilter(text="ZOË", state="Expired")) == ["Ed Zoë"]
        assert await names(GuestFilter(text="ZOË", state="Pending")) == []
        assert await names(GuestFilter(text="%")) == []  # a LIKE wildcard is a character
        within = ("boss@contoso.example", ids["sponsor"])
        assert await names(GuestFilter(within=within, sort="name", descending=False)) == [
            "Ada",
            "Bob",
            "Cy",
            "Ed Zoë",
        ]
        first = await uow.guest_list.page(tenant_id, GuestFilter(top=2), now=NOW)
        assert [r.display_name for r in first] == ["Ed Zoë", "Di", "Cy"]  # one more: a next page
        after = (first[1].sort_value, first[1].user_id)
        second = await uow.guest_list.page(tenant_id, GuestFilter(top=2, after=after), now=NOW)
        assert [r.display_name for r in second] == ["Cy", "Bob", "Ada"]
        other = await uow.guest_list.page(str(uuid.uuid4()), GuestFilter(), now=NOW)
        assert list(other) == []
