"""A guest who has not accepted yet signs in to an app: the code, the consent page, the app.

Headless Chromium drives the real pages; the code comes from the real SMTP server; the app's
redirect URI is caught by the test. Afterwards the database must hold what the browser saw:
the invitation accepted, the guest signed in, both in the audit trail.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT, latest_code, new_app, pkce
from tests.e2e.smtp import SmtpSink

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(shutil.which("chromium") or "/usr/bin/chromium").exists()
        and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
]
CALLBACK = "https://app.example/signin-oidc"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("pending-signin")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


def _invited(server: Server, redirect_url: str) -> tuple[str, str]:
    email = f"pending.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = Caller.demo(server).invite(
        {
            "invitedUserEmailAddress": email,
            "inviteRedirectUrl": redirect_url,
            "sendInvitationMessage": False,
        }
    )
    assert answer.status_code == 201, answer.text
    return email, str(answer.json()["invitedUser"]["id"])


def _authorize_url(server: Server, app: dict[str, str], email: str, challenge: str) -> str:
    query = {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": "s-" + uuid.uuid4().hex,
        "nonce": uuid.uuid4().hex,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": email,
    }
    return f"{server.base_url}/{DEMO_TENANT}/oauth2/v2.0/authorize?{urlencode(query)}"


def _audit_actions(server: Server) -> list[str]:
    listed = server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout
    return re.findall(r'"action":\s*"([a-z._]+)"', listed)


def test_a_pending_guest_signs_in_through_consent_straight_back_to_the_app(
    server: Server, chromium: Any, sink: SmtpSink
) -> None:
    elsewhere = "https://elsewhere.example/welcome"
    email, user_id = _invited(server, elsewhere)
    app = new_app(server, CALLBACK)
    verifier, challenge = pkce()
    arrived: list[str] = []
    context = chromium.new_context()

    def caught(route: Any) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>App</title>")

    context.route(re.compile("^https://(app|elsewhere)\\.example/"), caught)
    page = context.new_page()
    try:
        url = _authorize_url(server, app, email, challenge)
        page.goto(url)
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        page.get_by_label("Code").fill(latest_code(sink, email, 1))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/redeem/consent$"))
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(lambda u: u.startswith(CALLBACK))
        cookies = {c["name"] for c in context.cookies()}
    finally:
        context.close()
    assert len(arrived) == 1, arrived  # the app, not the invitation's redirect URL
    assert arrived[0].startswith(CALLBACK), arrived
    assert "gg_signin" in cookies, cookies  # the sign-in session the next app will use
    params = {k: v[0] for k, v in parse_qs(urlsplit(arrived[0]).query).items()}
    assert params["state"].startswith("s-")
    assert params["iss"].endswith("/v2.0")
    with server.client() as client:
        token = client.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "client_id": app["AppID"],
                "client_secret": app["AppSecret"],
                "code": params["code"],
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        )
    assert token.status_code == 200, token.text
    claims = jwt.decode(token.json()["id_token"], options={"verify_signature": False})
    assert claims["oid"] == user_id
    assert claims["email"] == email
    # What the database holds afterwards matches: accepted, signed in, audited.
    user = Caller.demo(server).request("GET", f"/v1.0/users/{user_id}?$select=id,externalUserState")
    assert user.status_code == 200, user.text
    assert user.json()["externalUserState"] == "Accepted"
    actions = _audit_actions(server)
    assert "invitation.accept" in actions
    assert "signin.success" in actions
    # Only the sign-in code was mailed: no redemption code, no invitation mail.
    assert len(sink.messages(to=email)) == 1


def test_a_pending_guest_whose_invitation_was_revoked_gets_no_session(
    server: Server, chromium: Any, sink: SmtpSink
) -> None:
    email, user_id = _invited(server, "https://elsewhere.example/welcome")
    app = new_app(server, CALLBACK)
    _, challenge = pkce()
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(_authorize_url(server, app, email, challenge))
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        code = latest_code(sink, email, 1)
        admin = Caller.new_app(server, DEMO_TENANT, "User.ReadWrite.All")
        revoked = admin.request("DELETE", f"/v1.0/users/{user_id}")
        assert revoked.status_code == 204, revoked.text
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Sign in").click()
        assert "/redeem/consent" not in page.url
        assert "/signin/" in page.url
    finally:
        context.close()
    assert not any(a == "signin.success" for a in _audit_actions(server)[-3:])
