"""A redemption session started from a link while that link is resent or revoked, on SQLite
and PostgreSQL: once the resend or revoke answers, no session of the old link is left."""

from __future__ import annotations

import asyncio

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain import redemption as rules
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import utcnow
from guestgate.domain.views import InvitationView
from guestgate.errors import RedemptionError, Unavailable
from guestgate.services import redemption
from tests.security.services import SEALER, UowFactory, make_service, new_actor, ticket_of

pytestmark = pytest.mark.anyio
ROUNDS = 20


async def sessions_of(db: Database, invitation_id: str) -> int:
    tx = await db.begin(write=False)
    try:
        row = await tx.fetchone(
            "SELECT COUNT(*) AS n FROM redeem_sessions WHERE invitation_id = :id",
            {"id": invitation_id},
        )
    finally:
        await tx.rollback()
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize("action", ["resend", "revoke"])
async def test_no_session_of_the_old_link_outlives_a_resend_or_revoke(
    uow: UowFactory, db: Database, action: str
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    for round_ in range(ROUNDS):
        view = await service.invite(
            actor, build_invite_request(email=f"s{round_}.{actor.tenant_id[:8]}@example.com")
        )
        assert view.redeem_url is not None
        change = service.resend if action == "resend" else service.revoke
        started, changed = await asyncio.gather(
            redemption.start(
                uow(),
                tenant_id=actor.tenant_id,
                user_id=view.user_id,
                ticket=ticket_of(view.redeem_url),
                session_id=rules.new_session_id(),
                code_key=b"k" * 32,
                sealer=SEALER,
                now=utcnow(),
            ),
            change(actor, view.id),
            return_exceptions=True,
        )
        left = await sessions_of(db, view.id)
        if isinstance(changed, InvitationView):
            assert left == 0, (round_, started, changed)  # the old link's session ended
        else:
            assert isinstance(changed, Unavailable), changed  # a deadlock PostgreSQL broke
        if isinstance(started, BaseException):
            assert isinstance(started, RedemptionError | Unavailable), started
