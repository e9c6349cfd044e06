"""The seed's guest journey in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.e2e.server import Caller, Server, free_port
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Landing(BaseHTTPRequestHandler):
    """Stands in for the app behind inviteRedirectUrl; records what it was asked for."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Landing.hits.append(self.path)
        body = b"<!DOCTYPE html><title>App</title><h1>Welcome to the app</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def landing_app() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", free_port()), Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("browser")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it)",
)
def test_guest_accepts_in_chromium(server: Server, sink: SmtpSink, landing_app: str) -> None:
    from playwright.sync_api import sync_playwright

    caller = Caller.demo(server)
    email = f"browser.{uuid.uuid4().hex[:8]}@example.com"
    redirect = f"{landing_app}/landed?from=guestgate"
    answer = caller.invite(
        {
            "invitedUserEmailAddress": email,
            "inviteRedirectUrl": redirect,
            "sendInvitationMessage": True,
            "invitedUserDisplayName": '"><img src=x onerror=alert(1)>',
            "invitedUserMessageInfo": {"customizedMessageBody": "<script>alert(1)</script>"},
        }
    ).json()
    [invitation] = sink.wait_for(to=email)
    link = re.search(r"(http://\S+ver=2\.0)", invitation.get_body(("plain",)).get_content())
    assert link is not None
    assert link.group(1) == answer["inviteRedeemUrl"]
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(link.group(1))
            assert "Contoso" in page.inner_text("h1")
            page.get_by_role("button", name="Send code").click()
            page.wait_for_url(re.compile(r"/redeem/code$"))
            [code_mail] = sink.wait_for(to=email, subject_contains="verification code")
            code = re.search(r"\b(\d{6})\b", code_mail.get_body(("plain",)).get_content())
            assert code is not None
            page.get_by_label("Code").fill(code.group(1))
            page.get_by_role("button", name="Verify").click()
            page.wait_for_url(re.compile(r"/redeem/consent$"))
            assert "Review permissions" in page.inner_text("h1")
            page.get_by_role("button", name="Accept").click()
            page.wait_for_url(redirect)
            assert page.inner_text("h1") == "Welcome to the app"
        finally:
            browser.close()
    assert dialogs == []
    assert [h for h in Landing.hits if h != "/favicon.ico"] == ["/landed?from=guestgate"]
    status = caller.request("GET", f"/api/invitations/{answer['invitationId']}").json()["status"]
    assert status == "Completed"
    guests = server.cli("guests", "list", "--tenant", "contoso.example", "--json").stdout
    assert f'"mail": "{email}"' in guests
    assert '"accepted": "Yes"' in guests


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it)",
)
def test_pages_cannot_be_framed(server: Server, landing_app: str) -> None:
    from playwright.sync_api import sync_playwright

    caller = Caller.demo(server)
    answer = caller.invite(
        {"invitedUserEmailAddress": f"frame.{uuid.uuid4().hex[:8]}@example.com"}
    ).json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{landing_app}/host")
            page.set_content(f'<iframe id="f" src="{answer["inviteRedeemUrl"]}"></iframe>')
            page.wait_for_timeout(1500)
            texts = []
            for frame in page.frames[1:]:
                try:
                    texts.append(frame.inner_text("body"))
                except Exception:
                    texts.append("")
            assert page.frames[1:]
            assert not any("invited" in t for t in texts), texts
        finally:
            browser.close()
