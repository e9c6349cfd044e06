"""Races between the admin's and the guest's state changes, on SQLite and PostgreSQL.

Each case fires both sides at once, many times, and then compares EVERY answer with what the
database holds afterwards: an answer that says a change happened must be the stored state,
and a change that lost must say which state won (409) and leave nothing behind, mail least of
all. PostgreSQL runs READ COMMITTED with write transactions in concurrent groups, so the two
sides really interleave there.
"""

from __future__ import annotations

import asyncio

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.domain.invitations import ticket_hash
from guestgate.domain.views import InvitationView
from guestgate.errors import Conflict, GuestgateError, RedemptionError
from tests.security.services import (
    UowFactory,
    accept,
    make_service,
    new_actor,
    pending_guest,
    state,
    ticket_of,
)

pytestmark = pytest.mark.anyio
ROUNDS = 12


async def test_revoke_racing_the_final_accept_answers_what_is_stored(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    outcomes: set[str] = set()
    for _ in range(ROUNDS):
        view, session = await pending_guest(uow, actor)
        accepted, revoked = await asyncio.gather(
            accept(uow, session), service.revoke(actor, view.id), return_exceptions=True
        )
        stored = await state(db, view.id)
        if isinstance(accepted, str):
            outcomes.add("accept won")
            assert stored["status"] == "Completed", (accepted, revoked, stored)
            assert stored["external_user_state"] == "Accepted"
            assert isinstance(revoked, Conflict), (revoked, stored)
            assert revoked.code == "InvitationNotPending"
            assert "Completed" in revoked.message
        else:
            outcomes.add("revoke won")
            assert isinstance(accepted, RedemptionError), accepted
            assert isinstance(revoked, InvitationView), (revoked, stored)
            assert revoked.status == "Revoked"
            assert stored["status"] == "Revoked"
            assert stored["external_user_state"] == "PendingAcceptance"
    assert outcomes  # which side wins is the databases' business; every answer was checked


async def test_resend_racing_the_final_accept_mails_only_a_stored_ticket(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    for _ in range(ROUNDS):
        view, session = await pending_guest(uow, actor)
        accepted, resent = await asyncio.gather(
            accept(uow, session), service.resend(actor, view.id), return_exceptions=True
        )
        stored = await state(db, view.id)
        if isinstance(resent, InvitationView):
            assert resent.redeem_url is not None
            # The link it answered (and mailed) is the one stored.
            assert stored["ticket_hash"] == ticket_hash(ticket_of(resent.redeem_url))
            assert stored["mails"] == 1
        else:
            assert isinstance(resent, Conflict), (resent, stored)
            assert "Completed" in resent.message
            assert stored["mails"] == 0, stored
            assert stored["status"] == "Completed"
        if isinstance(accepted, str):
            assert stored["status"] == "Completed", (accepted, resent, stored)
            assert stored["external_user_state"] == "Accepted"
        else:
            # A resend that ends the old link's sessions makes the accept fail cleanly.
            assert isinstance(accepted, RedemptionError), accepted
            assert stored["status"] == "PendingAcceptance"
            assert stored["external_user_state"] == "PendingAcceptance"


async def test_two_accepts_and_a_revoke_agree_with_the_stored_state(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    for _ in range(ROUNDS // 2):
        view, session = await pending_guest(uow, actor)
        answers = await asyncio.gather(
            accept(uow, session),
            accept(uow, session),
            service.revoke(actor, view.id),
            return_exceptions=True,
        )
        stored = await state(db, view.id)
        first, second, revoked = answers
        assert not any(
            isinstance(a, BaseException) and not isinstance(a, GuestgateError) for a in answers
        ), answers
        if stored["status"] == "Completed":
            assert isinstance(first, str) or isinstance(second, str), answers
            assert isinstance(revoked, Conflict), answers
        else:
            assert stored["status"] == "Revoked"
            assert isinstance(first, RedemptionError), answers
            assert isinstance(second, RedemptionError), answers
            assert isinstance(revoked, InvitationView), answers
