"""Inviting, re-inviting, resending and revoking on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.invitations import (
    Invitation,
    InviteRequest,
    build_invite_request,
    ticket_hash,
)
from guestgate.domain.paging import encode_cursor
from guestgate.domain.timestamps import utcnow
from guestgate.domain.users import User
from guestgate.domain.views import InvitationQuery
from guestgate.errors import Conflict, NotFound, ValidationError
from guestgate.services import tenants, users
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]
PUBLIC_URL = "https://gg.test"
SEALER = Sealer(secrets.token_bytes(32))
CURSOR_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class InviteResult:
    """What a test reads back after a use-case: the stored guest and invitation, the link."""

    user: User
    invitation: Invitation
    redeem_url: str
    status: str


def service(uow: SqlUnitOfWork, now: datetime | None = None) -> InvitationService:
    """The service as bootstrap wires it for local mode, over one given unit of work."""
    directory = LocalDirectory(
        lambda write=True: uow,
        sealer=SEALER,
        public_url=PUBLIC_URL,
        cursor_key=CURSOR_KEY,
        now=(lambda: now) if now is not None else utcnow,
    )
    return InvitationService(
        directory, Governance(sealer=SEALER, directory="local"), wake=lambda: None
    )


async def stored(uow: SqlUnitOfWork, tenant_id: str, invitation_id: str) -> InviteResult:
    async with uow:
        invitation = await uow.invitations.get(tenant_id, invitation_id)
        assert invitation is not None
        user = await uow.users.get(tenant_id, invitation.user_id)
        assert user is not None
    return InviteResult(user=user, invitation=invitation, redeem_url="", status="")


class invitations:
    @staticmethod
    async def invite_guest(
        uow: SqlUnitOfWork, *, actor: Actor, request: InviteRequest, read: SqlUnitOfWork
    ) -> InviteResult:
        view = await service(uow).invite(actor, request)
        found = await stored(read, actor.tenant_id, view.id)
        return replace(found, redeem_url=view.redeem_url or "", status=view.status)

    @staticmethod
    async def get_invitation(uow: SqlUnitOfWork, *, tenant_id: str, invitation_id: str) -> Any:
        return await service(uow).get(Actor(tenant_id=tenant_id, app_id=None), invitation_id)

    @staticmethod
    async def list_invitations(
        uow: SqlUnitOfWork,
        *,
        tenant_id: str,
        now: datetime,
        status: str | None,
        email: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[Any]:
        scope = f"invitations|{tenant_id}|{status}|{email}"
        token = None if after is None else encode_cursor(CURSOR_KEY, scope, after)
        query = InvitationQuery(status=status, email=email, top=limit, skiptoken=token)
        page = await service(uow, now).list(Actor(tenant_id=tenant_id, app_id=None), query)
        return [(await stored(uow, tenant_id, v.id)).invitation for v in page.items]

    @staticmethod
    async def resend_invitation(
        uow: SqlUnitOfWork, *, actor: Actor, invitation_id: str, read: SqlUnitOfWork
    ) -> InviteResult:
        view = await service(uow).resend(actor, invitation_id)
        found = await stored(read, actor.tenant_id, view.id)
        return replace(found, redeem_url=view.redeem_url or "", status=view.status)

    @staticmethod
    async def revoke_invitation(uow: SqlUnitOfWork, *, actor: Actor, invitation_id: str) -> Any:
        return await service(uow).revoke(actor, invitation_id)

    create_member = staticmethod(users.create_member)


async def setup_tenant(uow: UowFactory) -> Actor:
    tenant = await tenants.create_tenant(
        uow(), name="Contoso", domains=["contoso.example"], now=utcnow()
    )
    return Actor(
        tenant_id=tenant.id, app_id="00000000-0000-0000-0000-00000000000a", request_id="r1"
    )


async def invite(uow: UowFactory, actor: Actor, email: str, **fields: Any) -> InviteResult:
    return await invitations.invite_guest(
        uow(),
        actor=actor,
        request=build_invite_request(email=email, **fields),
        read=uow(write=False),
    )


async def counts(db: Database) -> dict[str, int]:
    tx = await db.begin(write=False)
    try:
        result = {}
        for table in ("users", "invitations", "audit_events"):
            row = await tx.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
            assert row is not None
            result[table] = int(row["n"])
        return result
    finally:
        await tx.rollback()


async def test_invite_creates_guest_invitation_and_audit_row(uow: UowFactory, db: Database) -> None:
    actor = await setup_tenant(uow)
    before = await counts(db)
    result = await invite(
        uow, actor, "John.Doe@Gmail.com", redirect_url="https://google.at", send_message=True
    )
    assert result.user.user_type == "Guest"
    assert result.user.external_user_state == "PendingAcceptance"
    assert result.user.creation_type == "Invitation"
    assert result.user.user_principal_name == "John.Doe_gmail.com#EXT#@contoso.example"
    assert result.status == "PendingAcceptance"
    ticket = result.redeem_url.split("ticket=")[1].split("&")[0]
    assert result.redeem_url == (
        f"{PUBLIC_URL}/redeem/?tenant={actor.tenant_id}&user={result.user.id}&ticket={ticket}&ver=2.0"
    )
    after = await counts(db)
    assert after["users"] == before["users"] + 1
    assert after["invitations"] == before["invitations"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    tx = await db.begin(write=False)
    try:
        row = await tx.fetchone(
            "SELECT ticket_hash FROM invitations WHERE id = :id", {"id": result.invitation.id}
        )
        dump = repr([dict(r) for r in await tx.fetchall("SELECT * FROM invitations")])
    finally:
        await tx.rollback()
    assert row is not None
    assert row["ticket_hash"] == ticket_hash(ticket)
    assert ticket not in dump


async def test_reinvite_returns_same_guest_and_kills_the_old_ticket(
    uow: UowFactory, db: Database
) -> None:
    actor = await setup_tenant(uow)
    first = await invite(uow, actor, "alice@example.com")
    second = await invite(uow, actor, "ALICE@example.com")
    assert second.user.id == first.user.id
    assert second.redeem_url != first.redeem_url
    old = await invitations.get_invitation(
        uow(write=False), tenant_id=actor.tenant_id, invitation_id=first.invitation.id
    )
    assert old.status == "Revoked"
    listed = await invitations.list_invitations(
        uow(write=False),
        tenant_id=actor.tenant_id,
        now=utcnow(),
        status="PendingAcceptance",
        email="alice@example.com",
        after=None,
        limit=10,
    )
    assert [i.id for i in listed] == [second.invitation.id]
    assert (await counts(db))["users"] == 1


async def test_members_and_own_domains_are_not_invited(uow: UowFactory, db: Database) -> None:
    actor = await setup_tenant(uow)
    await invitations.create_member(
        uow(), tenant_id=actor.tenant_id, email="bob@partner.com", display_name="Bob", now=utcnow()
    )
    before = await counts(db)
    with pytest.raises(ValidationError) as info:
        await invite(uow, actor, "Bob@Partner.com")
    assert info.value.code == "UserIsMember"
    for address in ("adele@contoso.example", "adele@eu.CONTOSO.example"):
        with pytest.raises(ValidationError) as info:
            await invite(uow, actor, address)
        assert info.value.code == "AddressInTenantDomain"
    assert await counts(db) == before


async def test_resend_replaces_the_ticket_and_revoke_ends_it(uow: UowFactory) -> None:
    actor = await setup_tenant(uow)
    first = await invite(uow, actor, "carol@example.com")
    resent = await invitations.resend_invitation(
        uow(), actor=actor, invitation_id=first.invitation.id, read=uow(write=False)
    )
    assert resent.invitation.id == first.invitation.id
    assert resent.redeem_url != first.redeem_url
    revoked = await invitations.revoke_invitation(
        uow(), actor=actor, invitation_id=first.invitation.id
    )
    assert revoked.status == "Revoked"
    again = await invitations.revoke_invitation(
        uow(), actor=actor, invitation_id=first.invitation.id
    )
    assert again.status == "Revoked"
    with pytest.raises(Conflict):
        await invitations.resend_invitation(
            uow(), actor=actor, invitation_id=first.invitation.id, read=uow(write=False)
        )


async def test_other_tenants_invitations_are_invisible(uow: UowFactory) -> None:
    actor = await setup_tenant(uow)
    other = await tenants.create_tenant(
        uow(), name="Fabrikam", domains=["fabrikam.example"], now=utcnow()
    )
    mine = await invite(uow, actor, "dave@example.com")
    with pytest.raises(NotFound):
        await invitations.get_invitation(
            uow(write=False), tenant_id=other.id, invitation_id=mine.invitation.id
        )
    stranger = Actor(tenant_id=other.id, app_id=None)
    with pytest.raises(NotFound):
        await invitations.revoke_invitation(uow(), actor=stranger, invitation_id=mine.invitation.id)
    theirs = await invitations.invite_guest(
        uow(),
        actor=stranger,
        request=build_invite_request(email="dave@example.com"),
        read=uow(write=False),
    )
    assert theirs.user.id != mine.user.id


async def test_list_filters_expired_and_pages_by_keyset(uow: UowFactory) -> None:
    actor = await setup_tenant(uow)
    made = [await invite(uow, actor, f"guest{i}@example.com") for i in range(5)]
    later = utcnow() + timedelta(days=31)
    expired = await invitations.list_invitations(
        uow(write=False),
        tenant_id=actor.tenant_id,
        now=later,
        status="Expired",
        email=None,
        after=None,
        limit=10,
    )
    assert len(expired) == 5
    page1 = await invitations.list_invitations(
        uow(write=False),
        tenant_id=actor.tenant_id,
        now=utcnow(),
        status=None,
        email=None,
        after=None,
        limit=2,
    )
    page2 = await invitations.list_invitations(
        uow(write=False),
        tenant_id=actor.tenant_id,
        now=utcnow(),
        status=None,
        email=None,
        after=(page1[-1].created_at, page1[-1].id),
        limit=10,
    )
    assert [i.id for i in page1 + list(page2)] == [m.invitation.id for m in reversed(made)]


async def test_twenty_concurrent_invites_of_one_address_make_one_guest(
    uow: UowFactory, db: Database
) -> None:
    actor = await setup_tenant(uow)
    spellings = ["eve@example.com", "EVE@example.com", "Eve@Example.COM", "eve@EXAMPLE.com"]
    results = await asyncio.gather(*(invite(uow, actor, spellings[i % 4]) for i in range(20)))
    assert len({r.user.id for r in results}) == 1
    assert (await counts(db))["users"] == 1
    pending = await invitations.list_invitations(
        uow(write=False),
        tenant_id=actor.tenant_id,
        now=utcnow(),
        status="PendingAcceptance",
        email=None,
        after=None,
        limit=50,
    )
    assert len(pending) == 1


async def test_links_changed_elsewhere_are_used_at_once_despite_the_tenant_cache(
    db: Database, uow: UowFactory
) -> None:
    """Invites that need no links may take the tenant from the cache; the others read it."""
    cache = TenantCache(ttl=3600)

    def cached(write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(db, write=write, tenant_cache=cache)

    actor = await setup_tenant(cached)
    explicit = await invite(cached, actor, "one@fabrikam.example", redirect_url="https://a.example")
    assert explicit.invitation.redirect_url == "https://a.example"
    assert cache.get(actor.tenant_id) is not None
    await tenants.set_links(  # as the CLI does, from another process without this cache
        uow(),
        tenant_ref=actor.tenant_id,
        privacy_url=None,
        logo_url=None,
        landing_url="https://in.example",
        now=utcnow(),
    )
    default = await invite(cached, actor, "two@fabrikam.example")
    assert default.invitation.redirect_url == "https://in.example"
