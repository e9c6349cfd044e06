"""The guest declines on the consent page, on SQLite and PostgreSQL.

A decline is stored and audited, the link stops working, the requester is told only when
they belong to the organization, and a later invitation starts afresh. Raced against an
accept, exactly one side wins, and every answer is compared with what the database holds.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.messages import NOTICE_DECLINED, RequesterNotification, decode_payload
from guestgate.domain.timestamps import utcnow
from guestgate.errors import RedemptionError
from guestgate.services import redemption, tenants
from guestgate.services.directory import Actor
from tests.security.services import (
    SEALER,
    UowFactory,
    accept,
    make_service,
    new_actor,
    pending_guest,
    state,
    ticket_of,
    verified_session,
)

pytestmark = pytest.mark.anyio
ROUNDS = 12


async def decline(uow: UowFactory, session_id: str) -> tuple[str, redemption.Link]:
    return await redemption.decline(
        uow(), session_id=session_id, sealer=SEALER, now=utcnow(), request_id="req-decline"
    )


async def notices_to(db: Database, address: str) -> list[RequesterNotification]:
    tx = await db.begin(write=False)
    try:
        rows = await tx.fetchall(
            "SELECT id, kind, payload FROM outbox WHERE recipient = :to", {"to": address}
        )
    finally:
        await tx.rollback()
    found = []
    for row in rows:
        payload = decode_payload(row["kind"], SEALER.open(row["payload"], f"outbox:{row['id']}"))
        assert isinstance(payload, RequesterNotification)
        found.append(payload)
    return found


async def audit_actions(uow: UowFactory, actor: Actor) -> list[dict[str, Any]]:
    async with uow(write=False) as work:
        records = await work.audit.list(actor.tenant_id, limit=100)
    return [{"action": r.action, "target": r.target, **(r.details or {})} for r in records]


async def test_decline_is_stored_audited_and_kills_the_link(uow: UowFactory, db: Database) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    email = f"decliner.{uuid.uuid4().hex[:8]}@example.com"
    view = await service.invite(actor, build_invite_request(email=email, send_message=False))
    session = await verified_session(uow, view.id)

    status, link = await decline(uow, session)

    assert status == "Declined"
    assert link.tenant.id == actor.tenant_id
    stored = await state(db, view.id)
    assert stored["status"] == "Declined"
    assert stored["external_user_state"] == "PendingAcceptance"  # never accepted, no access
    assert (await service.get(actor, view.id)).status == "Declined"
    [declined] = [a for a in await audit_actions(uow, actor) if a["action"] == "invitation.decline"]
    assert declined["target"] == view.user_id
    assert declined["invitationId"] == view.id
    assert "requesterNotice" not in declined  # nobody asked, nobody to tell
    with pytest.raises(RedemptionError) as opened:
        await redemption.open_link(
            uow(write=False),
            tenant_id=actor.tenant_id,
            user_id=view.user_id,
            ticket=ticket_of(view.redeem_url or ""),
            now=utcnow(),
        )
    assert opened.value.reason == redemption.INVALID
    with pytest.raises(RedemptionError) as again:
        await accept(uow, session)
    assert again.value.reason == redemption.INVALID
    with pytest.raises(RedemptionError) as twice:
        await decline(uow, session)
    assert twice.value.reason == redemption.INVALID


async def test_a_later_invitation_starts_afresh(uow: UowFactory, db: Database) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    email = f"again.{uuid.uuid4().hex[:8]}@example.com"
    first = await service.invite(actor, build_invite_request(email=email, send_message=False))
    await decline(uow, await verified_session(uow, first.id))

    second = await service.invite(actor, build_invite_request(email=email, send_message=False))

    assert second.id != first.id
    assert second.user_id == first.user_id  # the same guest, a new invitation
    assert second.status == "PendingAcceptance"
    assert (await state(db, first.id))["status"] == "Declined"
    link = await redemption.open_link(
        uow(write=False),
        tenant_id=actor.tenant_id,
        user_id=second.user_id,
        ticket=ticket_of(second.redeem_url or ""),
        now=utcnow(),
    )
    assert link.invitation.id == second.id
    target = await accept(uow, await verified_session(uow, second.id))
    assert target == second.redirect_url
    assert (await state(db, second.id))["status"] == "Completed"


async def test_the_requester_is_told_only_when_they_belong(uow: UowFactory, db: Database) -> None:
    domain = f"c{uuid.uuid4().hex[:8]}.example"
    tenant = await tenants.create_tenant(uow(), name="Contoso", domains=[domain], now=utcnow())
    actor = Actor(tenant_id=tenant.id, app_id=None)
    service = make_service(uow)
    ours, stranger = f"boss@{domain}", f"stranger.{uuid.uuid4().hex[:6]}@elsewhere.example"
    for requester in (ours, stranger):
        email = f"asked.{uuid.uuid4().hex[:8]}@example.com"
        view = await service.invite(
            actor, build_invite_request(email=email, send_message=False, requested_by=requester)
        )
        await decline(uow, await verified_session(uow, view.id))

    [told] = [n for n in await notices_to(db, ours) if n.outcome == NOTICE_DECLINED]
    assert told.org == "Contoso"
    assert told.guest.startswith("asked.")
    assert [n for n in await notices_to(db, stranger) if n.outcome == NOTICE_DECLINED] == []
    notices = [a for a in await audit_actions(uow, actor) if a["action"] == "invitation.decline"]
    assert sorted(a["requesterNotice"] for a in notices) == ["queued", "withheld"]


async def test_decline_racing_accept_agrees_with_the_stored_state(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    outcomes: set[str] = set()
    for _ in range(ROUNDS):
        view, session = await pending_guest(uow, actor)
        accepted, declined = await asyncio.gather(
            accept(uow, session), decline(uow, session), return_exceptions=True
        )
        stored = await state(db, view.id)
        assert not isinstance(declined, BaseException) or isinstance(declined, RedemptionError)
        if isinstance(accepted, str):
            outcomes.add("accept won")
            assert stored["status"] == "Completed", (accepted, declined, stored)
            assert stored["external_user_state"] == "Accepted"
            # The decline either saw the accepted invitation or lost the conditional update:
            # both answer with the state that won.
            assert isinstance(declined, tuple), declined
            assert declined[0] == "Completed"
        else:
            outcomes.add("decline won")
            assert isinstance(accepted, RedemptionError), accepted
            assert accepted.reason == redemption.INVALID
            assert isinstance(declined, tuple), declined
            assert declined[0] == "Declined"
            assert stored["status"] == "Declined"
            assert stored["external_user_state"] == "PendingAcceptance"
        audit = [
            a["action"] for a in await audit_actions(uow, actor) if a["target"] == view.user_id
        ]
        assert audit.count("invitation.accept") == (stored["status"] == "Completed")
        assert audit.count("invitation.decline") == (stored["status"] == "Declined")
    assert outcomes  # which side wins is the databases' business; every answer was checked
