"""Which events the use-cases write, on SQLite and PostgreSQL: one per change, in the
change's transaction, and for a race of accept and decline exactly the one that won."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain.timestamps import utcnow
from guestgate.services import events, redemption
from guestgate.services.directory import Actor
from tests.security.services import (
    SEALER,
    UowFactory,
    accept,
    make_service,
    new_actor,
    pending_guest,
    state,
)

pytestmark = pytest.mark.anyio


async def bodies(uow: UowFactory, actor: Actor) -> list[dict[str, Any]]:
    found = await events.feed(uow, tenant_id=actor.tenant_id, after=0, types=[], limit=1000)
    return [json.loads(e.body) for e in found]


def of(found: list[dict[str, Any]], invitation_id: str) -> list[str]:
    return [b["type"] for b in found if b["data"].get("invitationId") == invitation_id]


async def test_invite_resend_and_revoke_each_write_their_event(uow: UowFactory) -> None:
    actor = await new_actor(uow)
    view, _ = await pending_guest(uow, actor)
    service = make_service(uow)
    await service.resend(actor, view.id)
    await service.revoke(actor, view.id)
    found = await bodies(uow, actor)
    assert of(found, view.id) == ["invitation.created", "invitation.resent", "invitation.revoked"]
    created = next(b for b in found if b["type"] == "invitation.created")
    assert created["data"]["userId"] == view.user_id
    assert created["data"]["actor"] == {"appId": actor.app_id, "requestId": actor.request_id}
    assert "ticket" not in json.dumps(found)
    assert view.redeem_url is not None
    [ticket] = parse_qs(urlsplit(view.redeem_url).query)["ticket"]
    assert ticket not in json.dumps(found)


async def test_a_race_of_accept_and_decline_writes_only_the_winners_event(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    for _ in range(6):
        view, session = await pending_guest(uow, actor)
        await asyncio.gather(
            accept(uow, session),
            redemption.decline(
                uow(), session_id=session, sealer=SEALER, now=utcnow(), request_id="r"
            ),
            return_exceptions=True,
        )
        stored = await state(db, view.id)
        expected = {"Completed": "invitation.redeemed", "Declined": "invitation.declined"}
        assert of(await bodies(uow, actor), view.id) == [
            "invitation.created",
            expected[stored["status"]],
        ]
