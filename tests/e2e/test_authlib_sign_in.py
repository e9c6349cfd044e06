"""A second relying party, built with authlib, signs in through guestgate over TLS.

authlib's OAuth2 client reads the discovery document, builds the authorization URL with PKCE
(S256), state and nonce, and redeems the code; headless Chromium drives the real pages in
between, with the one-time code read from the real SMTP server; the ID token is checked with
joserfc against guestgate's published keys (signature, iss, aud, nonce, exp). SQLite and
PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from tests.e2e.server import Server
from tests.e2e.signin import accepted_guest, latest_code, new_app, new_member
from tests.e2e.smtp import SmtpSink
from tests.leaks import REGISTRY

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
CALLBACK = "https://rp.example/auth/callback"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("authlib-signin")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(
        workdir=workdir, database_url=url, tls=True, extra_env={"GUESTGATE_SMTP_URL": sink.url}
    )
    server.start()
    yield server
    server.stop()


class Browser:
    """One Chromium profile; what arrives at the app's redirect URI is caught and kept."""

    def __init__(self, chromium: Any) -> None:
        self.context = chromium.new_context(ignore_https_errors=True)  # the dev certificate
        self.page = self.context.new_page()
        self.arrived: list[str] = []
        self.context.route(re.compile("^" + re.escape(CALLBACK)), self._caught)

    def _caught(self, route: Any) -> None:
        request = route.request
        if request.method == "POST":  # response_mode=form_post: the parameters as a query
            self.arrived.append(f"{CALLBACK}?{request.post_data}")
        else:
            self.arrived.append(request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>RP</title><h1>RP</h1>")

    def sign_in(self, url: str, email: str, sink: SmtpSink) -> str:
        """Through the address and code pages; the URL the app was sent back to."""
        mails = len(sink.messages(to=email, subject_contains="verification code"))
        self.page.goto(url)
        assert self.page.get_by_label("Email address").input_value() == email  # login_hint
        self.page.get_by_role("button", name="Send code").click()
        self.page.wait_for_url(re.compile(r"/signin/code$"))
        self.page.get_by_label("Code").fill(latest_code(sink, email, mails + 1))
        self.page.get_by_role("button", name="Sign in").click()
        return self.back_at_the_app()

    def back_at_the_app(self) -> str:
        self.page.wait_for_url(lambda u: u.startswith(CALLBACK))
        assert self.arrived, self.page.url
        return self.arrived[-1]

    def close(self) -> None:
        self.context.close()


class RelyingParty:
    """What an authlib web app keeps: its client, the provider's metadata and keys."""

    def __init__(self, server: Server, app: dict[str, Any], *, public: bool = False) -> None:
        self.client_id = app["AppID"]
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = str(server.cert)
        discovery = f"{server.base_url}/{app['TenantID']}/v2.0/.well-known/openid-configuration"
        self.metadata: dict[str, Any] = self.http.get(discovery, timeout=10).json()
        self.keys = KeySet.import_key_set(
            self.http.get(self.metadata["jwks_uri"], timeout=10).json()
        )
        self.oauth = OAuth2Session(
            client_id=self.client_id,
            client_secret=None if public else app["AppSecret"],
            token_endpoint_auth_method="none" if public else "client_secret_basic",
            scope="openid profile email offline_access",
            redirect_uri=CALLBACK,
            code_challenge_method="S256",
        )
        self.oauth.trust_env = False
        self.oauth.verify = str(server.cert)
        self.verifier = generate_token(48)
        self.nonce = generate_token(20)
        self.state = ""

    def authorization_url(self, **extra: str) -> str:
        url, self.state = self.oauth.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=self.verifier,
            nonce=self.nonce,
            **extra,
        )
        assert "code_challenge_method=S256" in url
        return str(url)

    def redeem(self, callback_url: str) -> dict[str, Any]:
        token: dict[str, Any] = self.oauth.fetch_token(
            self.metadata["token_endpoint"],
            authorization_response=callback_url,
            state=self.state,
            code_verifier=self.verifier,
        )
        for name in ("access_token", "refresh_token", "id_token"):
            if name in token:
                REGISTRY.secret(token[name], name.replace("_", " "))
        return token

    def id_token_claims(
        self, id_token: str, *, nonce: str | None = None, refreshed: bool = False
    ) -> dict[str, Any]:
        """Verified with the published keys; iss, aud, nonce and exp checked. A refreshed
        ID token may leave the nonce out (OpenID Connect Core 12.2), but not change it."""
        decoded = jwt.decode(id_token, self.keys, algorithms=["RS256"])
        JWTClaimsRegistry(
            iss={"essential": True, "value": self.metadata["issuer"]},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": not refreshed, "value": nonce or self.nonce},
            exp={"essential": True},
            iat={"essential": True},
        ).validate(decoded.claims)
        return dict(decoded.claims)

    def close(self) -> None:
        self.oauth.close()
        self.http.close()


def test_a_guest_signs_in_to_an_authlib_app_whose_id_token_checks_out(
    server: Server, chromium: Any, sink: SmtpSink
) -> None:
    email, user_id = accepted_guest(server, sink)
    app = new_app(server, CALLBACK)
    rp = RelyingParty(server, app)
    browser = Browser(chromium)
    try:
        assert rp.metadata["issuer"] == f"{server.base_url}/{app['TenantID']}/v2.0"
        assert "S256" in rp.metadata["code_challenge_methods_supported"]
        arrived = browser.sign_in(rp.authorization_url(login_hint=email), email, sink)
        assert f"state={rp.state}" in arrived
        assert "iss=" in arrived  # RFC 9207
        token = rp.redeem(arrived)
        claims = rp.id_token_claims(token["id_token"])
        assert claims["oid"] == user_id
        assert claims["tid"] == app["TenantID"]
        assert claims["email"] == email
        assert claims["idp"]  # a guest's home
        assert claims["exp"] > time.time()
        # The same token fails every check it should: another nonce, another audience,
        # another key under the same key id.
        with pytest.raises(InvalidClaimError):
            rp.id_token_claims(token["id_token"], nonce="another")
        with pytest.raises(InvalidClaimError):
            JWTClaimsRegistry(aud={"essential": True, "value": str(uuid.uuid4())}).validate(
                jwt.decode(token["id_token"], rp.keys, algorithms=["RS256"]).claims
            )
        kid = jws.extract_compact(token["id_token"].encode()).protected["kid"]
        impostor = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})
        with pytest.raises(BadSignatureError):
            jwt.decode(token["id_token"], KeySet([impostor]), algorithms=["RS256"])
        # authlib's refresh rotates the refresh token; the new ID token is still the guest's.
        refreshed = rp.oauth.refresh_token(
            rp.metadata["token_endpoint"], refresh_token=token["refresh_token"]
        )
        REGISTRY.secret(refreshed["refresh_token"], "refresh token")
        assert refreshed["refresh_token"] != token["refresh_token"]
        again = rp.id_token_claims(refreshed["id_token"], refreshed=True)
        assert again["oid"] == user_id
        assert again["sid"] == claims["sid"]
        # The code is single use: authlib's second redemption is refused, and it revokes
        # what the first one started, the rotated refresh token included.
        with pytest.raises(OAuthError) as replay:
            rp.redeem(arrived)
        assert replay.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as revoked:
            rp.oauth.refresh_token(
                rp.metadata["token_endpoint"], refresh_token=refreshed["refresh_token"]
            )
        assert revoked.value.error == "invalid_grant"
    finally:
        browser.close()
        rp.close()


def test_a_second_authlib_app_in_the_same_browser_needs_no_new_code(
    server: Server, chromium: Any, sink: SmtpSink
) -> None:
    email, user_id = new_member(server)
    first = RelyingParty(server, new_app(server, CALLBACK))
    second = RelyingParty(server, new_app(server, CALLBACK, public=True), public=True)
    browser = Browser(chromium)
    try:
        token = first.redeem(
            browser.sign_in(first.authorization_url(login_hint=email), email, sink)
        )
        assert first.id_token_claims(token["id_token"])["oid"] == user_id
        mails = len(sink.messages(to=email))
        browser.page.goto(second.authorization_url(response_mode="form_post"))
        public = second.redeem(browser.back_at_the_app())  # no client secret: PKCE only
        claims = second.id_token_claims(public["id_token"])
        assert claims["oid"] == user_id
        assert claims["aud"] == second.client_id
        assert claims["sub"] != first.id_token_claims(token["id_token"])["sub"]  # pairwise
        assert len(sink.messages(to=email)) == mails  # the session answered: no code mailed
    finally:
        browser.close()
        first.close()
        second.close()
