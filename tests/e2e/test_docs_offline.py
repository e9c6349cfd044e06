"""/docs and every page of guestgate in Chromium with no network: all from guestgate's origin.

Chromium resolves no host name but 127.0.0.1 and every request is watched: one to another
origin fails the test, and so does one the page's Content-Security-Policy stopped.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT, new_app, pkce
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("docs")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


class Watch:
    """Every request the browser makes, and every CSP violation it reports."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.refused: list[str] = []

    def attach(self, context: Any) -> None:
        def route(handle: Any) -> None:
            url = handle.request.url
            self.requests.append(url)
            if url.startswith(("data:", "blob:")):
                handle.continue_()
            elif f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != self.origin:
                self.foreign.append(url)
                handle.abort()
            else:
                handle.continue_()

        context.route("**/*", route)

    def console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.refused.append(message.text)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, OFFLINE])
        try:
            yield chromium
        finally:
            chromium.close()


def test_docs_render_offline_from_guestgate_alone(server: Server, browser: Any) -> None:
    watch = Watch(server.base_url)
    context = browser.new_context()
    watch.attach(context)
    page = context.new_page()
    page.on("console", watch.console)
    page.goto(f"{server.base_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert page.inner_text(".swagger-ui .info .title").startswith("guestgate")
    operation = page.locator(".opblock-summary-path", has_text="/api/InviteGuest").first
    operation.wait_for()
    assert page.locator(".opblock").count() >= 6
    context.close()
    assert watch.foreign == []
    assert watch.refused == []
    assert f"{server.base_url}/docs/assets/swagger-ui-bundle.js" in watch.requests
    with server.client() as client:
        head = client.get("/docs")
        assert "default-src 'self'" in head.headers["content-security-policy"]
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
        assert client.get("/docs/assets/..%2fdocs.py").status_code == 404
        assert client.get("/docs/assets/LICENSE").status_code == 404


def test_every_page_loads_only_from_guestgate(server: Server, sink: SmtpSink, browser: Any) -> None:
    caller = Caller.demo(server)
    # A logo hosted elsewhere: emails may show it, pages never load it.
    server.cli("tenant", "set", DEMO_TENANT, "--logo-url", "https://cdn.contoso.example/logo.png")
    email = f"offline.{uuid.uuid4().hex[:8]}@example.com"
    answer = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True})
    assert answer.status_code == 201, answer.text
    watch = Watch(server.base_url)
    context = browser.new_context()
    watch.attach(context)
    page = context.new_page()
    page.on("console", watch.console)
    seen: list[str] = []
    page.on("load", lambda: seen.append(page.url))

    page.goto(answer.json()["inviteRedeemUrl"])  # the landing page
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/redeem/code$"))
    [code_mail] = sink.wait_for(to=email, subject_contains="verification code")
    code = re.search(r"\b(\d{6})\b", code_mail.get_body(("plain",)).get_content())  # type: ignore[attr-defined]
    assert code is not None
    page.get_by_label("Code").fill(code.group(1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/redeem/consent$"))
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/welcome"))  # the default inviteRedirectUrl
    page.goto(answer.json()["inviteRedeemUrl"])  # used up: the invalid-link page
    page.goto(f"{server.base_url}/redeem/?tenant=x&id=y&ticket=z&ver=2.0")
    page.goto(f"{server.base_url}/no-such-page")
    page.goto(f"{server.base_url}/docs/oauth2-redirect.html")
    app = new_app(server, "https://app.example/signin-oidc")
    _, challenge = pkce()
    authorize = f"{server.base_url}/{DEMO_TENANT}/oauth2/v2.0/authorize"
    query = {
        "client_id": app["AppID"],
        "response_type": "code",
        "redirect_uri": "https://app.example/signin-oidc",
        "scope": "openid profile",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page.goto(f"{authorize}?{urlencode(query)}")  # the sign-in page
    assert page.inner_text("h1") == "Sign in"
    page.goto(f"{authorize}?client_id={uuid.uuid4()}")  # its error page
    context.close()
    paths = [urlsplit(u).path for u in seen]
    for expected in ("/redeem/", "/redeem/code", "/redeem/consent", "/welcome", "/no-such-page"):
        assert expected in paths, paths
    assert paths.count(f"/{DEMO_TENANT}/oauth2/v2.0/authorize") == 2
    assert watch.foreign == []
    assert watch.refused == []
