"""MSAL Python signs users in through guestgate unchanged: Chromium drives the real pages,
the one-time code comes from the real SMTP server, guestgate runs over TLS.

The app's redirect URI is never served: Chromium's request to it is caught and answered by
the test, which hands what arrived (query or form post) to MSAL, as a web app would.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import pytest
import requests

from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT, accepted_guest, latest_code, new_app, new_member
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
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CALLBACK = "https://app.example/signin-oidc"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("msal-signin")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        tls=True,
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http(server: Server) -> Iterator[requests.Session]:
    """MSAL's HTTP client, trusting the dev certificate (REQUESTS_CA_BUNDLE is set here)."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(server.cert)
        yield session


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


class SignIn:
    """One browser profile: signs in through the pages and catches the app's redirect URI."""

    def __init__(self, chromium: Any, callback_prefix: str) -> None:
        # The dev certificate is self-signed; axe's script is injected despite the page CSP.
        self.context = chromium.new_context(ignore_https_errors=True, bypass_csp=True)
        self.page = self.context.new_page()
        self.arrived: list[dict[str, str]] = []
        self.context.route(re.compile("^" + re.escape(callback_prefix)), self._caught)
        self.violations: list[str] = []
        self.prefix = callback_prefix

    def _caught(self, route: Any) -> None:
        request = route.request
        query = parse_qs(urlsplit(request.url).query)
        form = parse_qs(request.post_data or "") if request.method == "POST" else {}
        self.arrived.append({k: v[0] for k, v in {**query, **form}.items()})
        route.fulfill(status=200, content_type="text/html", body="<title>App</title><h1>App</h1>")

    def through_pages(self, auth_uri: str, email: str, sink: SmtpSink) -> None:
        mails_before = len(sink.messages(to=email, subject_contains="verification code"))
        page = self.page
        page.goto(auth_uri)
        assert page.get_by_label("Email address").input_value() == email  # login_hint
        self.violations += serious_violations(page)
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        self.violations += serious_violations(page)
        page.get_by_label("Code").fill(latest_code(sink, email, mails_before + 1))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: url.startswith(self.prefix))

    def close(self) -> None:
        self.context.close()


def _authority(server: Server, tenant_id: str) -> str:
    return f"{server.base_url}/{tenant_id}"


def test_a_guest_signs_in_to_a_confidential_app_with_msal_and_refreshes_silently(
    server: Server, http: requests.Session, chromium: Any, sink: SmtpSink
) -> None:
    email, user_id = accepted_guest(server, sink)
    api_uri = f"api://reports-{uuid.uuid4().hex[:8]}"
    new_app(server, CALLBACK, extra=("--app-id-uri", api_uri, "--scope", "read"))
    created = new_app(server, CALLBACK)
    tenant_id = created["TenantID"]
    app = msal.ConfidentialClientApplication(
        created["AppID"],
        client_credential=created["AppSecret"],
        authority=_authority(server, tenant_id),
        instance_discovery=False,
        http_client=http,
    )
    flow = app.initiate_auth_code_flow(
        [f"{api_uri}/read"], redirect_uri=CALLBACK, login_hint=email, response_mode="form_post"
    )
    browser = SignIn(chromium, CALLBACK)
    try:
        browser.through_pages(flow["auth_uri"], email, sink)
    finally:
        browser.close()
    assert browser.violations == []
    [response] = browser.arrived
    assert response["iss"] == f"{server.base_url}/{tenant_id}/v2.0"
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["oid"] == user_id
    assert claims["tid"] == tenant_id
    assert claims["email"] == email
    assert claims["nonce"]  # MSAL checked it against the one it sent
    access = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert access["aud"] == api_uri
    assert access["scp"] == "read"
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{user_id}.{tenant_id}"
    assert account["username"] == email
    refreshed = app.acquire_token_silent([f"{api_uri}/read"], account=account, force_refresh=True)
    assert refreshed is not None
    assert "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
    # The sign-in is in Graph's signInActivity and in the audit trail.
    audit = server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout
    assert "signin.success" in audit


def test_a_member_signs_in_to_a_public_client_with_msal_on_a_loopback_port(
    server: Server, http: requests.Session, chromium: Any, sink: SmtpSink
) -> None:
    email, user_id = new_member(server)
    created = new_app(server, "http://localhost/callback", public=True)
    app = msal.PublicClientApplication(
        created["AppID"],
        authority=_authority(server, created["TenantID"]),
        instance_discovery=False,
        http_client=http,
    )
    redirect = "http://localhost:38123/callback"
    flow = app.initiate_auth_code_flow(
        [], redirect_uri=redirect, login_hint=email, response_mode="form_post"
    )
    assert "code_challenge=" in flow["auth_uri"]
    browser = SignIn(chromium, redirect)
    try:
        browser.through_pages(flow["auth_uri"], email, sink)
        [response] = browser.arrived
        result = app.acquire_token_by_auth_code_flow(flow, response)
        assert "id_token_claims" in result, result
        assert result["id_token_claims"]["oid"] == user_id
        # A second sign-in in the same browser needs no code: the session answers at once.
        second = app.initiate_auth_code_flow(
            [], redirect_uri=redirect, login_hint=email, response_mode="form_post"
        )
        browser.page.goto(second["auth_uri"])
        browser.page.wait_for_url(lambda url: url.startswith(redirect))
        assert len(browser.arrived) == 2
        again = app.acquire_token_by_auth_code_flow(second, browser.arrived[1])
        assert again["id_token_claims"]["sid"] == result["id_token_claims"]["sid"]
    finally:
        browser.close()
    [account] = app.get_accounts()
    refreshed = app.acquire_token_silent([], account=account, force_refresh=True)
    assert refreshed is not None
    assert "id_token_claims" in refreshed, refreshed


def test_msal_sees_state_mismatch_and_a_replayed_code(
    server: Server, http: requests.Session, chromium: Any, sink: SmtpSink
) -> None:
    email, _ = new_member(server)
    created = new_app(server, CALLBACK)
    app = msal.ConfidentialClientApplication(
        created["AppID"],
        client_credential=created["AppSecret"],
        authority=_authority(server, created["TenantID"]),
        instance_discovery=False,
        http_client=http,
    )
    flow = app.initiate_auth_code_flow(
        [], redirect_uri=CALLBACK, login_hint=email, response_mode="form_post"
    )
    browser = SignIn(chromium, CALLBACK)
    try:
        browser.through_pages(flow["auth_uri"], email, sink)
    finally:
        browser.close()
    [response] = browser.arrived
    assert response["state"] == flow["state"]
    with pytest.raises(ValueError, match="state"):
        app.acquire_token_by_auth_code_flow(dict(flow), {**response, "state": "forged"})
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), response)
    replay = app.acquire_token_by_auth_code_flow(dict(flow), response)
    assert replay.get("error") == "invalid_grant", replay
