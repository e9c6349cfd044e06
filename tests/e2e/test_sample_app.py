"""The sample relying party (examples/msal_web_app.py) signs an accepted guest in through
guestgate with MSAL, in Chromium; the sign-in then shows in Graph's signInActivity and in the
audit trail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ROOT, Caller, Server, free_port
from tests.e2e.signin import DEMO_TENANT, accepted_guest, latest_code, new_app
from tests.e2e.smtp import SmtpSink

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("sample-app")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        tls=True,
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


def _start_sample(server: Server, app: dict[str, Any], port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GUESTGATE_AUTHORITY": f"{server.base_url}/{app['TenantID']}",
        "APP_CLIENT_ID": app["AppID"],
        "APP_CLIENT_SECRET": app["AppSecret"],
        "APP_REDIRECT_URI": f"http://localhost:{port}/signin-oidc",
        "APP_CA_FILE": str(server.cert),
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "msal_web_app.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://localhost:{port}/nothing", timeout=1, trust_env=False)
            return process
        except httpx.TransportError:
            assert process.poll() is None, "the sample app exited"
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sample app did not start")


def test_an_accepted_guest_signs_in_to_the_sample_app(server: Server, sink: SmtpSink) -> None:
    from playwright.sync_api import sync_playwright

    email, user_id = accepted_guest(server, sink)
    port = free_port()
    app = new_app(server, f"http://localhost:{port}/signin-oidc")
    sample = _start_sample(server, app, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_context(ignore_https_errors=True).new_page()
                page.goto(f"http://localhost:{port}/")
                assert page.inner_text("h1") == "Sign in"
                page.get_by_label("Email address").fill(email)
                page.get_by_role("button", name="Send code").click()
                page.wait_for_url(lambda url: url.endswith("/signin/code"))
                page.get_by_label("Code").fill(latest_code(sink, email, 2))
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"http://localhost:{port}/")
                assert page.inner_text("h1").startswith("Hello, ")
            finally:
                browser.close()
    finally:
        sample.kill()
        sample.wait()
    reader = Caller.new_app(server, DEMO_TENANT, "User.Read.All", "AuditLog.Read.All")
    activity = reader.request("GET", f"/v1.0/users/{user_id}?$select=signInActivity").json()
    assert activity["signInActivity"]["lastSuccessfulSignInDateTime"] is not None
    audit = server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout
    assert "signin.success" in audit
    assert app["AppID"] in audit
