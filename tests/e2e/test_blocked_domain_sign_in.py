"""A domain blocked after the invitation, at sign-in: a pending guest of that domain cannot
finish by signing in to an app (the sign-in code would accept the invitation), while a guest
of the same domain who accepted before signs in as before (docs/governance.md)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from guestgate.domain.apps import INVITE, READ_USERS, WRITE_POLICY
from tests.e2e.guest import Guest
from tests.e2e.guest import latest_code as redeem_code
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT, Browser, latest_code, new_app, pkce, returned
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e
CALLBACK = "https://app.example/callback"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("blocked-signin")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


def invited(admin: Caller, domain: str) -> tuple[str, dict[str, Any]]:
    email = f"g.{uuid.uuid4().hex[:8]}@{domain}"
    answer = admin.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": False})
    assert answer.status_code == 201, answer.text
    return email, answer.json()


def accept(server: Server, sink: SmtpSink, email: str, redeem_url: str) -> None:
    guest = Guest(server)
    try:
        guest.submit(guest.open(redeem_url), "/redeem/start")
        code_page = guest.http.get("/redeem/code")
        verified = guest.submit(code_page, "/redeem/verify", code=redeem_code(sink, email, 1))
        assert verified.status_code == 303, verified.text
        accepted = guest.submit(guest.http.get("/redeem/consent"), "/redeem/accept")
        assert accepted.status_code == 303, accepted.text
    finally:
        guest.close()


def block(admin: Caller, domain: str) -> None:
    lists = {"BlockedDomains": [domain]}
    policy = {"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": lists}}
    answer = admin.request(
        "PATCH", "/api/policies/invitations", json={"definition": [json.dumps(policy)]}
    )
    assert answer.status_code == 200, answer.text


def authorize_params(app: dict[str, Any], challenge: str) -> dict[str, str]:
    return {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_hex(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def sign_in(server: Server, sink: SmtpSink, email: str, params: dict[str, str]) -> httpx.Response:
    """Authorize, the address, the code from the mailbox: the verify form's answer."""
    browser = Browser(server)
    try:
        page = browser.authorize(DEMO_TENANT, **params)
        assert page.status_code == 200, page.text
        before = len(sink.messages(to=email))
        started = browser.start(page, email)
        assert started.status_code == 303, started.text
        return browser.enter_code(latest_code(sink, email, before + 1))
    finally:
        browser.close()


def test_a_pending_guest_of_a_domain_blocked_since_cannot_finish_by_signing_in(
    server: Server, sink: SmtpSink
) -> None:
    domain = f"late-{uuid.uuid4().hex[:6]}.example"
    admin = Caller.new_app(server, DEMO_TENANT, INVITE, READ_USERS, WRITE_POLICY)
    accepted_email, accepted = invited(admin, domain)
    accept(server, sink, accepted_email, accepted["inviteRedeemUrl"])
    pending_email, pending = invited(admin, domain)
    block(admin, domain)
    app = new_app(server, CALLBACK)

    _, challenge = pkce()
    refused = sign_in(server, sink, pending_email, authorize_params(app, challenge))
    assert refused.status_code == 403, refused.text
    assert "This invitation can no longer be accepted" in refused.text
    assert domain in refused.text
    assert 'action="/signin/verify"' not in refused.text  # not offered as a wrong code
    assert "gg_signin" not in refused.cookies
    user = admin.request(
        "GET", f"/v1.0/users/{pending['invitedUser']['id']}?$select=id,externalUserState"
    )
    assert user.json()["externalUserState"] == "PendingAcceptance", user.text
    audit = json.loads(
        server.cli("audit", "list", "--tenant", DEMO_TENANT, "--limit", "500", "--json").stdout
    )
    mine = [e["action"] for e in audit if e.get("target") == pending["invitedUser"]["id"]]
    assert mine, audit[:3]  # the invitation itself
    assert not {"invitation.accept", "signin.success"} & set(mine), mine

    # The guest who accepted before the block signs in as before, tokens and all.
    verifier, challenge = pkce()
    params = authorize_params(app, challenge)
    answer = returned(sign_in(server, sink, accepted_email, params))
    assert answer.params["state"] == params["state"], answer.location
    with server.client() as client:
        tokens = client.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "client_id": app["AppID"],
                "client_secret": app["AppSecret"],
                "code": answer.params["code"],
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        )
    assert tokens.status_code == 200, tokens.text
    claims = jwt.decode(tokens.json()["id_token"], options={"verify_signature": False})
    assert claims["oid"] == accepted["invitedUser"]["id"]
    assert claims["email"] == accepted_email
