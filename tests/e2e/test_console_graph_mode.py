"""The admin console in Microsoft 365 mode, in Chromium.

A local-mode guestgate over https stands in for Entra (the console's OpenID Connect
authority, whose ID tokens carry `wids` as Entra's do) and for Microsoft Graph; a graph-mode
guestgate uses it for both. An administrator of the stand-in tenant signs in to the graph-mode
console, sees the guests invited through the graph-mode API and resends one; a member without
a directory role gets the 403 page; forged, unsigned or replayed ID tokens are refused.
axe-core checks every page.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.console_browser import member
from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT, latest_code
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_pages_and_mails import serious_violations

pytestmark = pytest.mark.e2e

PG = pytest.mark.postgres
ADMIN = "avery.m365@contoso.example"
NOBODY = "nobody.m365@contoso.example"
READER = "riley.m365@contoso.example"


def _app(server: Server, *args: str) -> dict[str, str]:
    found: dict[str, str] = json.loads(
        server.cli("app", "create", "--tenant", DEMO_TENANT, *args, "--json").stdout
    )
    return found


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    """A local-mode guestgate standing in for Entra and Graph (https, mails to the sink)."""
    workdir: Path = tmp_path_factory.mktemp("entra")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        tls=True,
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    member(server, ADMIN, "Avery Admin", "Global administrator")
    member(server, READER, "Riley Reader", "Reader")
    member(server, NOBODY, "Noor Nobody")
    yield server
    server.stop()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("public", "sqlite"), id="public-client-sqlite"),
        pytest.param(("confidential", "sqlite"), id="confidential-client-sqlite"),
        pytest.param(("public", "postgres"), id="public-client-postgres", marks=PG),
        pytest.param(("confidential", "postgres"), id="confidential-client-postgres", marks=PG),
    ],
)
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, microsoft: Server
) -> Iterator[tuple[Server, dict[str, str]]]:
    """guestgate in graph mode whose console signs in with `microsoft` as its authority, on
    SQLite or PostgreSQL (its console sessions, audit trail and graph-mode state)."""
    client, database = request.param
    workdir: Path = tmp_path_factory.mktemp("broker")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server, own = start_broker(microsoft, workdir, url, client, f"{client} {database}")
    yield server, own
    server.stop()


def module_broker(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    microsoft: Server,
    name: str,
    extra_env: dict[str, str] | None = None,
) -> tuple[Server, dict[str, str]]:
    """`start_broker` for a module's fixture parametrized by database ("sqlite" or
    "postgres"), with a public-client console and `extra_env` set before it starts."""
    workdir: Path = tmp_path_factory.mktemp(f"m365-{name}-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server, own = start_broker(microsoft, workdir, url, "public", f"{name} {request.param}")
    if extra_env:
        server.stop()
        server.extra_env.update(extra_env)
        server.start()
    return server, own


def start_broker(
    microsoft: Server, workdir: Path, url: str, client: str, name: str
) -> tuple[Server, dict[str, str]]:
    """A started graph-mode guestgate over `url` whose console signs in with `microsoft` as
    its authority through a `client` ("public" or "confidential") app, and its own app."""
    server = Server(workdir=workdir, database_url=url)
    own = _app(
        microsoft,
        "--name",
        f"guestgate broker {name}",
        "--permission",
        "User.Invite.All",
        "--permission",
        "User.Read.All",
        "--permission",
        "User.ReadWrite.All",
    )
    redirect = ["--redirect-uri", f"{server.base_url}/admin/callback"]
    if client == "public":
        console_app = _app(microsoft, "--name", "guestgate console", *redirect, "--public-client")
    else:
        console_app = _app(microsoft, "--name", "guestgate console (secret)", *redirect)
    server.extra_env.update(
        {
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": microsoft.base_url,
            "GUESTGATE_ENTRA_URL": microsoft.base_url,
            "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
            "GUESTGATE_GRAPH_CLIENT_ID": own["AppID"],
            "GUESTGATE_GRAPH_CLIENT_SECRET": own["AppSecret"],
            "GUESTGATE_GRAPH_TENANT": own["TenantID"],
            "GUESTGATE_CONSOLE_AUTHORITY": f"{microsoft.base_url}/{own['TenantID']}/v2.0",
            "GUESTGATE_CONSOLE_CLIENT_ID": console_app["AppID"],
        }
    )
    if client == "confidential":
        server.extra_env["GUESTGATE_CONSOLE_CLIENT_SECRET"] = console_app["AppSecret"]
    server.start()
    return server, own


def _api_token(microsoft: Server, own: dict[str, str]) -> str:
    with microsoft.client() as client:
        answer = client.post(
            f"/{own['TenantID']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": own["AppID"],
                "client_secret": own["AppSecret"],
                "scope": "api://guestgate/.default",
            },
        )
    return str(answer.json()["access_token"])


def _invite(broker: Server, token: str, email: str) -> dict[str, Any]:
    with broker.client() as client:
        answer = client.post(
            "/api/InviteGuest",
            headers={"Authorization": f"Bearer {token}"},
            json={"invitedUserEmailAddress": email, "sendInvitationMessage": False},
        )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _sign_in(page: Any, sink: SmtpSink, url: str, email: str) -> Any:
    """Open a console page of the broker; sign in on the stand-in Entra's pages."""
    page.goto(url)
    assert "/oauth2/v2.0/authorize" in page.url or "/signin" in page.url, page.url
    before = len(sink.messages(to=email, subject_contains="verification code"))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/signin/code$"))
    page.get_by_label("Code").fill(latest_code(sink, email, before + 1))
    with page.expect_navigation(url=re.compile(r"/admin/")) as navigation:
        page.get_by_role("button", name="Sign in").click()
    return navigation.value


def _audit(broker: Server) -> list[tuple[str, str, str]]:
    query = "SELECT actor, action, target FROM audit_events ORDER BY id"
    url = broker.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return list(conn.execute(query))
    with psycopg.connect(url) as pg:
        return [tuple(r) for r in pg.execute(query.encode()).fetchall()]


def test_an_administrator_sees_the_tenants_guests_and_resends_one(
    microsoft: Server, broker: tuple[Server, dict[str, str]], sink: SmtpSink, chromium: Any
) -> None:
    server, own = broker
    token = _api_token(microsoft, own)
    tag = uuid.uuid4().hex[:8]
    first = _invite(server, token, f"first.{tag}@fabrikam.example")
    second = _invite(server, token, f"second.{tag}@fabrikam.example")
    tenant = own["TenantID"]
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        answer = _sign_in(page, sink, f"{server.base_url}/admin/{tenant}/guests", ADMIN)
        assert answer.status == 200, page.content()
        assert page.url.startswith(f"{server.base_url}/admin/{tenant}/guests")
        text = page.inner_text("main") if page.locator("main").count() else page.content()
        assert f"first.{tag}@fabrikam.example" in text
        assert f"second.{tag}@fabrikam.example" in text
        assert ADMIN in page.inner_text("header.console-head")
        assert "Global administrator" in page.inner_text("header.console-head")
        assert serious_violations(page) == []
        # Filtered by address; then the profile.
        page.get_by_label("Email").fill(f"second.{tag}@fabrikam.example")
        page.get_by_role("button", name="Apply").click()
        rows = page.locator("tbody tr").all_inner_texts()
        assert len(rows) == 1
        assert f"second.{tag}@fabrikam.example" in rows[0]
        assert "Pending" in rows[0]
        page.locator(f"tbody a[href$='/guests/{second['id']}']").click()
        page.wait_for_url(re.compile(rf"/guests/{second['id']}$"))
        assert serious_violations(page) == []
        page.get_by_role("button", name="Resend invitation").click()
        page.wait_for_url(re.compile(r"confirm=resend$"))
        assert serious_violations(page) == []
        page.get_by_role("button", name="Yes, resend").click()
        page.wait_for_url(re.compile(r"done=resend$"))
        assert "A new invitation was sent" in page.inner_text("main")
        assert (ADMIN, "invitation.resend", second["id"]) in _audit(server)
        assert any(a == (ADMIN, "console.signin") for a, *_ in [(r[:2],) for r in _audit(server)])
        # Pages of the local console this mode lacks say so (no 500).
        answer = page.goto(f"{server.base_url}/admin/{tenant}/tenant")
        assert answer is not None
        assert answer.status == 404
        assert "not in the Microsoft 365 console" in page.inner_text("main")
        assert serious_violations(page) == []
        # A form without the page's CSRF token is refused.
        cookies = {c["name"]: c["value"] for c in context.cookies(server.base_url)}
        with server.client(cookies=cookies) as client:
            refused = client.post(
                f"/admin/{tenant}/guests/{first['id']}/revoke", data={"confirmed": "yes"}
            )
        assert refused.status_code == 403
        # Sign out ends the session.
        page.goto(f"{server.base_url}/admin/{tenant}/guests")
        page.get_by_role("button", name="Sign out").click()
        assert "You signed out" in page.inner_text("main")
        assert "gg_console" not in {c["name"] for c in context.cookies(server.base_url)}
        # The next visit goes through the authority again (whose own session signs in).
        with page.expect_request(re.compile(rf":{microsoft.port}/.*/authorize")):
            page.goto(f"{server.base_url}/admin/{tenant}/guests")
    finally:
        context.close()


def test_a_member_without_a_directory_role_gets_403(
    broker: tuple[Server, dict[str, str]], sink: SmtpSink, chromium: Any
) -> None:
    server, own = broker
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        answer = _sign_in(page, sink, f"{server.base_url}/admin/{own['TenantID']}/guests", NOBODY)
        assert answer.status == 403
        assert "No access to the admin console" in page.inner_text("main")
        assert NOBODY in page.inner_text("main")
        assert serious_violations(page) == []
    finally:
        context.close()


def test_a_reader_sees_guests_and_cannot_change_them(
    broker: tuple[Server, dict[str, str]], microsoft: Server, sink: SmtpSink, chromium: Any
) -> None:
    server, own = broker
    guest = _invite(server, _api_token(microsoft, own), f"read.{uuid.uuid4().hex[:8]}@x.example")
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        url = f"{server.base_url}/admin/{own['TenantID']}/guests/{guest['id']}"
        answer = _sign_in(page, sink, url, READER)
        assert answer.status == 200
        assert page.get_by_role("button", name="Resend invitation").count() == 0
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        cookies = {c["name"]: c["value"] for c in context.cookies(server.base_url)}
        with server.client(cookies=cookies) as client:
            refused = client.post(
                f"/admin/{own['TenantID']}/guests/{guest['id']}/resend",
                data={"csrf": csrf, "confirmed": "yes"},
                headers={"Origin": server.base_url},
            )
        assert refused.status_code == 403, refused.text
    finally:
        context.close()


# ------------------------------------------------------------------ forged answers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _start_login(client: httpx.Client, tenant: str) -> dict[str, str]:
    """Begin a sign-in without a browser: the login cookie is kept, the parameters returned."""
    answer = client.get(f"/admin/{tenant}/guests")
    assert answer.status_code == 303
    return dict(httpx.URL(answer.headers["location"]).params)


def _forge(claims: dict[str, Any], alg: str = "none") -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "forged"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def test_forged_unsigned_and_wrong_nonce_tokens_are_refused(
    broker: tuple[Server, dict[str, str]], microsoft: Server, sink: SmtpSink, chromium: Any
) -> None:
    """The callback with a code the authority never issued, and ID tokens checked directly."""
    server, own = broker
    tenant = own["TenantID"]
    with server.client() as client:
        params = _start_login(client, tenant)
        # A made-up code: the authority refuses it; the page says so, no session.
        bad = client.get("/admin/callback", params={"state": params["state"], "code": "forged"})
        assert bad.status_code == 400
        assert "could not be completed" in bad.text
        assert "gg_console" not in client.cookies
        # A wrong state: refused before the authority is asked.
        _start_login(client, tenant)
        assert client.get("/admin/callback", params={"state": "x", "code": "y"}).status_code == 400
        # Another issuer named in the answer (RFC 9207): refused.
        params = _start_login(client, tenant)
        mixed = client.get(
            "/admin/callback",
            params={"state": params["state"], "code": "y", "iss": "https://evil.example/v2.0"},
        )
        assert mixed.status_code == 400
        assert "another issuer" in mixed.text
    # The token checks themselves, against the real authority's discovery and keys.
    from guestgate.adapters.console_authority import Authority
    from guestgate.config import ConsoleSettings
    from guestgate.errors import AuthenticationError

    authority = Authority(
        ConsoleSettings(
            authority=f"{microsoft.base_url}/{tenant}/v2.0",
            client_id=server.extra_env["GUESTGATE_CONSOLE_CLIENT_ID"],
        ),
        ca_file=str(microsoft.cert),
        timeout=10,
    )
    issuer = f"{microsoft.base_url}/{tenant}/v2.0"
    claims = {
        "iss": issuer,
        "aud": authority.client_id,
        "tid": tenant,
        "oid": str(uuid.uuid4()),
        "iat": 2_000_000_000,
        "exp": 2_000_003_600,
        "nonce": "n",
        "wids": ["62e90394-69f5-4237-9190-012177145e10"],
    }

    real = _real_id_token(microsoft, tenant, authority.client_id, server, sink, chromium)
    head, body, sig = real.split(".")
    changed = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    changed["wids"] = ["62e90394-69f5-4237-9190-012177145e10"]
    tampered = f"{head}.{_b64(json.dumps(changed).encode())}.{sig}"

    async def checks() -> list[str]:
        """Each token's outcome: the claims' oid, or the refusal's message."""
        cases = [
            (_forge(claims), "n", tenant),  # alg none
            (_forge(claims, "RS256") + "c2ln", "n", tenant),  # a key the authority lacks
            ("garbage", "n", tenant),
            (real, "the-nonce", tenant),
            (real, "another", tenant),
            (real, "the-nonce", str(uuid.uuid4())),
            (tampered, "the-nonce", tenant),
        ]
        found = []
        for token, nonce, tid in cases:
            try:
                got = await authority.check_id_token(token, nonce=nonce, tenant_id=tid)
                found.append(f"ok {got['oid']}")
            except AuthenticationError as exc:
                found.append(exc.message)
        return found

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright holds this loop
        outcomes = pool.submit(asyncio.run, checks()).result()
    assert "not signed" in outcomes[0]
    assert "not signed" in outcomes[1]
    assert "not a JSON Web Token" in outcomes[2]
    assert outcomes[3].startswith("ok ")
    assert "nonce" in outcomes[4]
    assert "another tenant" in outcomes[5]
    assert "not valid" in outcomes[6]


def _real_id_token(
    microsoft: Server, tenant: str, client_id: str, broker: Server, sink: SmtpSink, chromium: Any
) -> str:
    """An ID token the authority issued to the console app for NOBODY, with nonce the-nonce."""
    import hashlib

    verifier = "v" * 64
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    redirect = f"{broker.base_url}/admin/callback"
    query = httpx.QueryParams(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect,
            "scope": "openid profile",
            "state": "s",
            "nonce": "the-nonce",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        page.goto(f"{microsoft.base_url}/{tenant}/oauth2/v2.0/authorize?{query}")
        before = len(sink.messages(to=NOBODY, subject_contains="verification code"))
        page.get_by_label("Email address").fill(NOBODY)
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        page.get_by_label("Code").fill(latest_code(sink, NOBODY, before + 1))
        # The browser lands on the broker's callback, which refuses it (not its state): the
        # code in the address is the test's to redeem.
        with page.expect_navigation(url=re.compile(r"/admin/callback\?")):
            page.get_by_role("button", name="Sign in").click()
        landed = page.url
    finally:
        context.close()
    code = httpx.URL(landed).params["code"]
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
    }
    if "GUESTGATE_CONSOLE_CLIENT_SECRET" in broker.extra_env:
        form["client_secret"] = broker.extra_env["GUESTGATE_CONSOLE_CLIENT_SECRET"]
    with microsoft.client() as client:
        answer = client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id_token"])
