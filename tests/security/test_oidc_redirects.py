"""Where guestgate's OpenID provider sends a browser, and what its codes are good for.

Only to a redirect URI an app registered.
A loopback redirect URI (`http://localhost/…`, RFC 8252) may be presented with another port,
and nothing else may differ: a presented URI whose authority holds user info
(`http://localhost:@evil.example/…`) names another host, and a signed-in browser sent there
would hand the attacker an authorization code, which the attacker redeems with the PKCE
verifier of the request they started themselves. A code works once, for its app, with its
PKCE verifier, before it expires. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT, Browser, new_app, new_member, pkce, returned
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, start_server

pytestmark = pytest.mark.e2e
LOOPBACK = "http://localhost/callback"
WEB = "https://app.example/callback"

# Each names another host (or is not the registered URI at all) as a browser reads it.
FOREIGN_LOOPBACK = [
    "http://localhost:@evil.example/callback",
    "http://localhost:1234@evil.example/callback",
    "http://localhost:80\\@evil.example/callback",
    "http://localhost:%40evil.example/callback",
    "http://localhost:99999/callback",
    "http://localhost:+80/callback",
    "http://localhost:\u0661\u0662/callback",
    "http://localhost:80:81/callback",
    "http://LOCALHOST/callback",
    "http://localhost./callback",
    "http://127.0.0.1/callback",
    "http://localhost:1/callback?x=1",
    "http://localhost:1/callback#f",
]


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("oidc-redirects"), sink)


@pytest.fixture(scope="module")
def signed_in(server: Server, sink: SmtpSink) -> Iterator[tuple[Browser, dict[str, str]]]:
    """A browser with a live sign-in session, and a public client with a loopback URI."""
    browser = Browser(server)
    web, public = new_app(server, WEB), new_app(server, LOOPBACK, public=True)
    email, _ = new_member(server)
    answer = returned(browser.sign_in(DEMO_TENANT, email, sink, **_params(web, WEB)))
    assert "code" in answer.params, answer.params
    yield browser, public
    browser.close()


def _params(app: dict[str, str], redirect_uri: str) -> dict[str, str]:
    return {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_hex(8),
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize("presented", FOREIGN_LOOPBACK)
def test_a_loopback_uri_naming_another_host_gets_an_error_page_and_no_code(
    signed_in: tuple[Browser, dict[str, str]], presented: str
) -> None:
    browser, public = signed_in
    answer = browser.authorize(DEMO_TENANT, **_params(public, presented))
    assert answer.status_code == 400, answer.headers.get("location")
    assert "location" not in answer.headers
    assert "code=" not in answer.text


def test_a_loopback_uri_on_another_port_still_gets_the_code(
    signed_in: tuple[Browser, dict[str, str]],
) -> None:
    browser, public = signed_in
    answer = browser.authorize(DEMO_TENANT, **_params(public, "http://localhost:53117/callback"))
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert (location.hostname, location.port, location.path) == ("localhost", 53117, "/callback")
    assert "code" in parse_qs(location.query)


@pytest.mark.parametrize("target", FOREIGN_LOOPBACK[:4])
def test_logout_never_returns_to_a_loopback_uri_naming_another_host(
    server: Server, signed_in: tuple[Browser, dict[str, str]], target: str
) -> None:
    _, public = signed_in
    with server.client(follow_redirects=False) as other:  # the shared session stays signed in
        answer = other.get(
            f"/{DEMO_TENANT}/oauth2/v2.0/logout",
            params={"post_logout_redirect_uri": target, "client_id": public["AppID"]},
        )
    assert answer.status_code == 200
    assert "location" not in answer.headers


def _code(browser: Browser, app: dict[str, str]) -> tuple[str, str]:
    """A fresh code of the browser's session for `app`, and its PKCE verifier."""
    verifier, challenge = pkce()
    params = {**_params(app, WEB), "code_challenge": challenge}
    answer = returned(browser.authorize(DEMO_TENANT, **params))
    return answer.params["code"], verifier


def _redeem(server: Server, app: dict[str, str], code: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": app["AppID"],
        "client_secret": app["AppSecret"],
        "code": code,
        "redirect_uri": WEB,
        **extra,
    }
    with server.client() as client:
        return client.post(f"/{DEMO_TENANT}/oauth2/v2.0/token", data=form)


def _expire_codes(server: Server, app_id: str) -> None:
    """The app's codes, as the database holds them, expired long ago."""
    sql, past = "UPDATE authorization_codes SET expires_at = %s WHERE app_id = %s", "2000-01-01"
    if server.database_url.startswith("sqlite:"):
        with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
            assert conn.execute(sql.replace("%s", "?"), (past, app_id)).rowcount == 1
    else:
        with psycopg.connect(server.database_url) as pg:
            assert pg.execute(sql, (past, app_id)).rowcount == 1


def test_a_code_issued_with_a_challenge_needs_its_verifier_and_is_spent_by_a_try_without(
    server: Server, signed_in: tuple[Browser, dict[str, str]]
) -> None:
    browser, _ = signed_in
    app = new_app(server, WEB)
    code, verifier = _code(browser, app)
    missing = _redeem(server, app, code)
    assert missing.status_code == 400, missing.text
    assert missing.json()["error"] == "invalid_grant"
    assert "access_token" not in missing.text
    assert _redeem(server, app, code, code_verifier=verifier).json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(
    server: Server, signed_in: tuple[Browser, dict[str, str]]
) -> None:
    browser, _ = signed_in
    app = new_app(server, WEB)
    code, verifier = _code(browser, app)
    _expire_codes(server, app["AppID"])
    expired = _redeem(server, app, code, code_verifier=verifier)
    assert expired.status_code == 400, expired.text
    assert expired.json()["error"] == "invalid_grant"
    fresh, verifier = _code(browser, app)
    assert _redeem(server, app, fresh, code_verifier=verifier).status_code == 200
