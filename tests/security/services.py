"""The services as local mode wires them, over a test's real database, and what it stores."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain import redemption as rules
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import iso, utcnow
from guestgate.domain.views import InvitationView
from guestgate.services import redemption, tenants
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory

UowFactory = Callable[..., SqlUnitOfWork]
SEALER = Sealer(secrets.token_bytes(32))


def make_service(uow: UowFactory) -> InvitationService:
    directory = LocalDirectory(
        uow,
        sealer=SEALER,
        public_url="https://gg.test",
        cursor_key=secrets.token_bytes(32),
        now=utcnow,
    )
    return InvitationService(
        directory, Governance(sealer=SEALER, directory="local"), wake=lambda: None
    )


async def new_actor(uow: UowFactory, domain: str | None = None) -> Actor:
    tenant = await tenants.create_tenant(
        uow(), name="Contoso", domains=[domain or f"c{uuid.uuid4().hex[:8]}.example"], now=utcnow()
    )
    return Actor(tenant_id=tenant.id, app_id=None)


async def verified_session(uow: UowFactory, invitation_id: str) -> str:
    """A redemption session whose code was verified, as the guest's pages leave it."""
    session_id, verified_id = rules.new_session_id(), rules.new_session_id()
    now = utcnow()
    async with uow() as work:
        await work.redeem_sessions.add(
            session_hash=rules.session_hash(session_id),
            invitation_id=invitation_id,
            now=iso(now),
            expires_at=iso(now + timedelta(hours=1)),
        )
        await work.redeem_sessions.verify(
            rules.session_hash(session_id),
            new_hash=rules.session_hash(verified_id),
            now=iso(now),
        )
        await work.commit()
    return verified_id


async def pending_guest(uow: UowFactory, actor: Actor) -> tuple[InvitationView, str]:
    service = make_service(uow)
    email = f"race.{uuid.uuid4().hex[:10]}@example.com"
    view = await service.invite(actor, build_invite_request(email=email, send_message=False))
    return view, await verified_session(uow, view.id)


async def state(db: Database, invitation_id: str) -> dict[str, Any]:
    tx = await db.begin(write=False)
    try:
        row = await tx.fetchone(
            "SELECT i.status, i.ticket_hash, u.external_user_state FROM invitations i"
            " JOIN users u ON u.id = i.user_id WHERE i.id = :id",
            {"id": invitation_id},
        )
        mail = await tx.fetchone(
            "SELECT COUNT(*) AS n FROM outbox o JOIN invitations i ON i.email = o.recipient"
            " WHERE i.id = :id AND o.kind = 'invitation'",
            {"id": invitation_id},
        )
    finally:
        await tx.rollback()
    assert row is not None
    assert mail is not None
    return {**dict(row), "mails": int(mail["n"])}


async def accept(uow: UowFactory, session_id: str) -> str:
    return await redemption.accept(uow(), session_id=session_id, now=utcnow(), request_id=None)


def ticket_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["ticket"][0]
