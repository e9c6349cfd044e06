"""Invitations: add and read back, conditional status changes, new tickets, paged lists."""

from __future__ import annotations

from dataclasses import replace

import pytest

from guestgate.domain.invitations import CcRecipient, Invitation, MessageInfo
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


async def test_an_invitation_reads_back_by_id_tenant_and_ticket(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    info = MessageInfo(
        customized_message_body="Willkommen",
        message_language="de",
        cc_recipients=(CcRecipient(name=None, address="cc@example.com"),),
    )
    invitation = make_invitation(
        guest,
        send_message=False,
        requested_by="boss@example.com",
        more={"n": 1, "x": None},
        message_info=info,
    )
    await committed(make_uow, (invitation, "ticket-1"))
    async with make_uow(write=False) as uow:
        assert await uow.invitations.get(tenant.id, invitation.id) == invitation
        assert await uow.invitations.get(make_tenant().id, invitation.id) is None
        assert await uow.invitations.get_by_id(invitation.id) == invitation
        assert await uow.invitations.get_by_ticket("ticket-1") == invitation
        assert await uow.invitations.get_by_ticket("ticket-2") is None


async def test_set_status_changes_only_an_invitation_in_the_expected_status(
    make_uow: UowFactory,
) -> None:
    _, guest = await tenant_with_guest(make_uow)
    accepted, revoked = make_invitation(guest), make_invitation(guest)
    await committed(make_uow, (accepted, "t-a"), (revoked, "t-r"))
    async with make_uow() as uow:
        invitations = uow.invitations
        pending = "PendingAcceptance"
        assert await invitations.set_status(
            accepted.id, status="Completed", from_status=pending, now=at(5)
        )
        assert not await invitations.set_status(
            accepted.id, status="Completed", from_status=pending, now=at(6)
        )
        assert await invitations.set_status(
            revoked.id, status="Revoked", from_status=pending, now=at(7)
        )
        assert not await invitations.set_status(
            make_invitation(guest).id, status="Revoked", from_status=pending, now=at(7)
        )
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.invitations.get_by_id(accepted.id) == replace(
            accepted, status="Completed", completed_at=at(5)
        )
        assert await uow.invitations.get_by_id(revoked.id) == replace(
            revoked, status="Revoked", revoked_at=at(7)
        )


async def test_a_decline_changes_only_the_status(make_uow: UowFactory) -> None:
    _, guest = await tenant_with_guest(make_uow)
    invitation = make_invitation(guest)
    await committed(make_uow, (invitation, "t-d"))
    async with make_uow() as uow:
        declined = {"status": "Declined", "from_status": "PendingAcceptance", "now": at(8)}
        assert await uow.invitations.set_status(invitation.id, **declined)
        assert not await uow.invitations.set_status(invitation.id, **declined)
        await uow.commit()
    async with make_uow(write=False) as uow:
        stored = await uow.invitations.get_by_id(invitation.id)
    assert stored == replace(invitation, status="Declined")  # no timestamp column is set


async def test_replace_ticket_works_only_while_pending(make_uow: UowFactory) -> None:
    _, guest = await tenant_with_guest(make_uow)
    invitation = make_invitation(guest)
    await committed(make_uow, (invitation, "old"))
    async with make_uow() as uow:
        assert await uow.invitations.replace_ticket(
            invitation.id, ticket_hash="new", expires_at=None
        )
        await uow.commit()
    async with make_uow() as uow:
        assert await uow.invitations.get_by_ticket("old") is None
        assert await uow.invitations.get_by_ticket("new") == replace(invitation, expires_at=None)
        await uow.invitations.set_status(
            invitation.id, status="Revoked", from_status="PendingAcceptance", now=at(9)
        )
        assert not await uow.invitations.replace_ticket(
            invitation.id, ticket_hash="newer", expires_at=at(99)
        )
        await uow.commit()
    async with make_uow(write=False) as uow:
        assert await uow.invitations.get_by_ticket("newer") is None


async def test_revoke_pending_of_user_revokes_only_that_users_pending_ones(
    make_uow: UowFactory,
) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    other = make_user(tenant.id)
    first, second, done = make_invitation(guest), make_invitation(guest), make_invitation(guest)
    theirs = make_invitation(other)
    await committed(make_uow, other, (first, "1"), (second, "2"), (done, "3"), (theirs, "4"))
    async with make_uow() as uow:
        await uow.invitations.set_status(
            done.id, status="Completed", from_status="PendingAcceptance", now=at(1)
        )
        assert await uow.invitations.revoke_pending_of_user(guest.id, at(2)) == 2
        assert await uow.invitations.revoke_pending_of_user(guest.id, at(3)) == 0
        await uow.commit()
    async with make_uow(write=False) as uow:
        for invitation in (first, second):
            found = await uow.invitations.get_by_id(invitation.id)
            assert found == replace(invitation, status="Revoked", revoked_at=at(2))
        found = await uow.invitations.get_by_id(done.id)
        assert found is not None
        assert found.status == "Completed"
        assert await uow.invitations.get_by_id(theirs.id) == theirs


async def invitations_for_lists(
    make_uow: UowFactory,
) -> tuple[str, str, dict[str, Invitation], list[Invitation]]:
    """Five invitations of two guests (and one elsewhere): by name, and newest first."""
    tenant, other_tenant = make_tenant(), make_tenant()
    ada, bob = make_user(tenant.id), make_user(tenant.id)
    stranger = make_user(other_tenant.id)
    named = {
        "newest": make_invitation(ada, created_at=at(50)),
        "expired": make_invitation(bob, created_at=at(40), expires_at=at(45)),
        "completed": make_invitation(
            ada, created_at=at(30), status="Completed", completed_at=at(31)
        ),
        "forever": make_invitation(bob, created_at=at(30), expires_at=None),
        "revoked": make_invitation(ada, created_at=at(10), status="Revoked", revoked_at=at(11)),
    }
    newest_first = sorted(named.values(), key=lambda i: (i.created_at, i.id), reverse=True)
    await committed(
        make_uow,
        tenant,
        other_tenant,
        ada,
        bob,
        stranger,
        (make_invitation(stranger, created_at=at(60)), "s"),
        *((invitation, f"h{n}") for n, invitation in enumerate(newest_first)),
    )
    return tenant.id, bob.email_key, named, newest_first


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, {"newest", "expired", "completed", "forever", "revoked"}),
        ("PendingAcceptance", {"newest", "forever"}),
        ("Expired", {"expired"}),
        ("Completed", {"completed"}),
        ("Revoked", {"revoked"}),
    ],
)
async def test_list_filters_on_the_status_a_caller_sees(
    make_uow: UowFactory, status: str | None, expected: set[str]
) -> None:
    tenant_id, _, named, newest_first = await invitations_for_lists(make_uow)
    chosen = [named[name] for name in expected]
    async with make_uow(write=False) as uow:
        found = await uow.invitations.list(
            tenant_id, now=at(100), status=status, email_key=None, after=None, limit=10
        )
    assert found == [i for i in newest_first if i in chosen]


async def test_list_pages_newest_first_and_filters_on_the_guests_email(
    make_uow: UowFactory,
) -> None:
    tenant_id, bob_key, named, newest_first = await invitations_for_lists(make_uow)
    async with make_uow(write=False) as uow:

        async def page(after: Invitation | None, email_key: str | None = None) -> list[str]:
            found = await uow.invitations.list(
                tenant_id,
                now=at(100),
                status=None,
                email_key=email_key,
                after=None if after is None else (after.created_at, after.id),
                limit=2,
            )
            return [i.id for i in found]

        ids = [i.id for i in newest_first]
        assert await page(None) == ids[:2]
        assert await page(newest_first[1]) == ids[2:4]
        assert await page(newest_first[2]) == ids[3:5]  # a tie on created_at goes by id
        assert await page(newest_first[3]) == ids[4:]
        assert await page(None, bob_key) == [named["expired"].id, named["forever"].id]
