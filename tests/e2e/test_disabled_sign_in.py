"""A disabled guest at sign-in, on SQLite and PostgreSQL: the code page says AADSTS50057
after a right code, a code issued before the disable is refused at the token endpoint, its
refresh token stops working, and enabling the account lets it sign in again."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guestgate.domain.apps import INVITE, READ_USERS, READWRITE_USERS
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
    workdir: Path = tmp_path_factory.mktemp("disabled-signin")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


def accepted_guest(server: Server, sink: SmtpSink, admin: Caller) -> tuple[str, str]:
    email = f"d.{uuid.uuid4().hex[:8]}@partner.example"
    answer = admin.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": False})
    assert answer.status_code == 201, answer.text
    guest = Guest(server)
    try:
        guest.submit(guest.open(answer.json()["inviteRedeemUrl"]), "/redeem/start")
        code_page = guest.http.get("/redeem/code")
        verified = guest.submit(code_page, "/redeem/verify", code=redeem_code(sink, email, 1))
        assert verified.status_code == 303, verified.text
        accepted = guest.submit(guest.http.get("/redeem/consent"), "/redeem/accept")
        assert accepted.status_code == 303, accepted.text
    finally:
        guest.close()
    return email, str(answer.json()["invitedUser"]["id"])


def params(app: dict[str, Any], challenge: str) -> dict[str, str]:
    return {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid profile offline_access",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_hex(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def sign_in(server: Server, sink: SmtpSink, email: str, query: dict[str, str]) -> httpx.Response:
    browser = Browser(server)
    try:
        page = browser.authorize(DEMO_TENANT, **query)
        assert page.status_code == 200, page.text
        before = len(sink.messages(to=email))
        started = browser.start(page, email)
        assert started.status_code == 303, started.text
        return browser.enter_code(latest_code(sink, email, before + 1))
    finally:
        browser.close()


def token(server: Server, app: dict[str, Any], **form: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/token",
            data={"client_id": app["AppID"], "client_secret": app["AppSecret"], **form},
        )


def set_enabled(admin: Caller, user_id: str, enabled: bool) -> None:
    answer = admin.request("PATCH", f"/v1.0/users/{user_id}", json={"accountEnabled": enabled})
    assert answer.status_code == 204, answer.text


def refused_50057(answer: httpx.Response) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_grant"
    assert answer.json()["error_codes"] == [50057]
    assert answer.json()["error_description"].startswith("AADSTS50057:")


def test_a_disabled_guest_cannot_sign_in_and_its_tokens_stop(
    server: Server, sink: SmtpSink
) -> None:
    admin = Caller.new_app(server, DEMO_TENANT, INVITE, READ_USERS, READWRITE_USERS)
    email, user_id = accepted_guest(server, sink, admin)
    app = new_app(server, CALLBACK)

    verifier, challenge = pkce()
    first = returned(sign_in(server, sink, email, params(app, challenge)))
    tokens = token(
        server,
        app,
        grant_type="authorization_code",
        code=first.params["code"],
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )
    assert tokens.status_code == 200, tokens.text
    refresh = tokens.json()["refresh_token"]

    # A code issued before the disable, exchanged after it.
    late_verifier, challenge = pkce()
    late = returned(sign_in(server, sink, email, params(app, challenge)))
    set_enabled(admin, user_id, False)
    refused_50057(
        token(
            server,
            app,
            grant_type="authorization_code",
            code=late.params["code"],
            redirect_uri=CALLBACK,
            code_verifier=late_verifier,
        )
    )
    refused_50057(token(server, app, grant_type="refresh_token", refresh_token=refresh))

    _, challenge = pkce()
    page = sign_in(server, sink, email, params(app, challenge))
    assert page.status_code == 403, page.text
    assert "Your account is disabled" in page.text
    assert "AADSTS50057" in page.text
    assert "gg_signin" not in page.cookies

    # Enabled again: a new sign-in works (the old refresh token's family stays revoked).
    set_enabled(admin, user_id, True)
    verifier, challenge = pkce()
    again = returned(sign_in(server, sink, email, params(app, challenge)))
    fresh = token(
        server,
        app,
        grant_type="authorization_code",
        code=again.params["code"],
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )
    assert fresh.status_code == 200, fresh.text
    refused_50057_or_revoked = token(server, app, grant_type="refresh_token", refresh_token=refresh)
    assert refused_50057_or_revoked.status_code == 400


def test_patch_names_a_user_that_exists_and_takes_only_account_enabled(
    server: Server, sink: SmtpSink
) -> None:
    admin = Caller.new_app(server, DEMO_TENANT, INVITE, READ_USERS, READWRITE_USERS)
    email = f"p.{uuid.uuid4().hex[:8]}@partner.example"
    invited = admin.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": False})
    assert invited.status_code == 201, invited.text
    user_id = invited.json()["invitedUser"]["id"]

    # An empty change of a user that exists changes nothing and answers 204, as Graph does.
    assert admin.request("PATCH", f"/v1.0/users/{user_id}", json={}).status_code == 204
    # An empty change, or a real one, of a user that does not exist is 404, not 204.
    for body in ({}, {"accountEnabled": False}):
        for ref in (str(uuid.uuid4()), "nobody@contoso.example"):
            missing = admin.request("PATCH", f"/v1.0/users/{ref}", json=body)
            assert missing.status_code == 404, (ref, body, missing.text)
            assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    # A property other than accountEnabled and displayName, or a bad value, is 400.
    for body in ({"mail": "x@y.example"}, {"accountEnabled": "no"}, {"accountEnabled": None}):
        refused = admin.request("PATCH", f"/v1.0/users/{user_id}", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"]["code"] == "Request_BadRequest"
    stored = admin.request("GET", f"/v1.0/users/{user_id}", params={"$select": "accountEnabled"})
    assert stored.status_code == 200, stored.text
    assert stored.json()["accountEnabled"] is True
