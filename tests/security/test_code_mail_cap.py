"""The cap on one-time-code mails per invitation, counted in the database, on SQLite and
PostgreSQL: `CODES_PER_INVITATION` (domain/redemption.py) mails a day, whatever the sessions.

Fresh sessions each mail a code until the cap; the next fresh session is refused, and so is
a new code asked for in a session that may ask again (its 30 seconds are over): no mail
leaves for either, and the stored counter stays at the cap.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator

import pytest

from guestgate.domain.redemption import (
    CODES_PER_INVITATION,
    RESEND_INTERVAL_SECONDS,
    SESSIONS_PER_INVITATION,
)
from tests.e2e.guest import Guest
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, rows, start_server

pytestmark = pytest.mark.e2e
CODE_MAIL = "verification code"


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("code-cap"), sink)


def stored_hits(server: Server, limit_name: str, invitation_id: str) -> int:
    """The counter as the database holds it (domain/throttle.py `Limit.key`)."""
    key = f"{limit_name}:{hashlib.sha256(invitation_id.encode()).hexdigest()[:40]}"
    found = rows(server, "SELECT hits FROM rate_limits WHERE name = %s", key)
    return int(found[0][0]) if found else 0


def test_the_code_mail_after_the_cap_is_refused_and_not_sent(
    server: Server, sink: SmtpSink
) -> None:
    cap = CODES_PER_INVITATION.limit
    assert cap == 10
    assert SESSIONS_PER_INVITATION.limit >= cap
    email = f"capped.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = Caller.demo(server).invite(
        {"invitedUserEmailAddress": email, "sendInvitationMessage": False}
    )
    assert answer.status_code == 201, answer.text
    url, invitation_id = answer.json()["inviteRedeemUrl"], answer.json()["invitationId"]

    guests: list[Guest] = []
    try:
        first_code_at = time.monotonic()
        for i in range(cap):
            guest = Guest(server)
            guests.append(guest)
            started = guest.submit(guest.open(url), "/redeem/start")
            assert started.status_code == 303, (i, started.text)
        sink.wait_for(cap, to=email, subject_contains=CODE_MAIL)

        over = Guest(server)
        guests.append(over)
        refused = over.submit(over.open(url), "/redeem/start")
        assert refused.status_code == 429, refused.text
        assert "Try again tomorrow" in refused.text

        # The first session may ask for a new code once its 30 seconds are over; the
        # invitation's cap refuses it all the same.
        time.sleep(max(0.0, first_code_at + RESEND_INTERVAL_SECONDS + 1 - time.monotonic()))
        code_page = guests[0].http.get("/redeem/code")
        assert code_page.status_code == 200, code_page.text
        again = guests[0].submit(code_page, "/redeem/resend")
        assert again.status_code == 429, again.text
        assert "Too many codes were sent for this invitation" in again.text
    finally:
        for guest in guests:
            guest.close()

    time.sleep(2)  # the worker sends what is queued at once: a mail past the cap would be here
    assert len(sink.messages(to=email, subject_contains=CODE_MAIL)) == cap
    assert stored_hits(server, CODES_PER_INVITATION.name, invitation_id) == cap
    assert stored_hits(server, SESSIONS_PER_INVITATION.name, invitation_id) == cap
    mailed = "SELECT COUNT(*) FROM outbox WHERE recipient = %s AND kind = 'one_time_code'"
    assert count(server, mailed, email) == cap
    sessions = "SELECT COUNT(*) FROM redeem_sessions WHERE invitation_id = %s"
    assert count(server, sessions, invitation_id) == cap
