"""The takeover, over HTTP as an attacker would try it, on SQLite and PostgreSQL.

An app holding only User.Invite.All posts `resetRedemption` for an accepted Member with an
address of its own, then redeems the new link: before the fix the Member's object, id and
type then belonged to the attacker's address. Now the reset is a 403 and nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, redeem, rows, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    smtp = SmtpSink(smtputf8=True).start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("takeover"), sink)


def invitation(email: str, **fields: Any) -> dict[str, Any]:
    return {
        "invitedUserEmailAddress": email,
        "inviteRedirectUrl": "https://example.com/welcome",
        "sendInvitationMessage": True,
        **fields,
    }


def test_an_invite_only_app_cannot_reset_an_accepted_member_onto_its_own_address(
    server: Server, sink: SmtpSink
) -> None:
    tenant = Caller.demo(server).tenant
    admin = Caller.new_app(server, tenant, "User.Invite.All", "User.ReadWrite.All")
    inviter = Caller.new_app(server, tenant, "User.Invite.All")
    member_address = f"member.{uuid.uuid4().hex[:8]}@partner.example"
    made = admin.request(
        "POST", "/v1.0/invitations", json=invitation(member_address, invitedUserType="Member")
    )
    assert made.status_code == 201, made.text
    member_id = made.json()["invitedUser"]["id"]
    redeem(server, sink, made.json()["inviteRedeemUrl"], member_address)
    before = rows(
        server, "SELECT mail, user_type, external_user_state FROM users WHERE id = %s", member_id
    )
    assert before == [(member_address, "Member", "Accepted")]

    attacker = f"attacker.{uuid.uuid4().hex[:8]}@evil.example"
    reset = inviter.request(
        "POST",
        "/v1.0/invitations",
        json=invitation(
            attacker, invitedUserType="Guest", resetRedemption=True, invitedUser={"id": member_id}
        ),
    )
    if reset.status_code == 201:  # the takeover: redeem the new link at the attacker's address
        redeem(server, sink, reset.json()["inviteRedeemUrl"], attacker)
    assert reset.status_code == 403, reset.text
    assert reset.json()["error"]["code"] == "Authorization_RequestDenied"
    assert (
        rows(
            server,
            "SELECT mail, user_type, external_user_state FROM users WHERE id = %s",
            member_id,
        )
        == before
    )
    assert not [m for m in sink.received if attacker in m.rcpt_tos]
    # With the administrator permission the same reset is allowed.
    allowed = admin.request(
        "POST",
        "/v1.0/invitations",
        json=invitation(
            member_address,
            invitedUserType="Member",
            resetRedemption=True,
            invitedUser={"id": member_id},
        ),
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["invitedUser"]["id"] == member_id
