"""Screenshots of the console's Apps pages and the sign-in-again page, axe-core on each.

The console screenshots' mechanism (tests/e2e/test_console_screenshots.py): its own SQLite
database with fixed names, and ids and dates made steady before each picture; here also the
secrets' values and hints.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_console_screenshots import ADMIN, SHOTS, Shots
from tests.e2e.test_pages_and_mails import settled
from tests.leaks import REGISTRY

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
# The pictures this test owns in docs/screenshots/console/.
PREFIXES = ("console-app", "console-reauth")
# Before STEADY: secret values and hints.
FIXED = """() => {
  const fix = (t) => t
    .replace(/gg_[A-Za-z0-9_-]{20,}/g, "gg_T3hW9qLm2xVbR7cKpZ4sNfYd8GjU1eAo5iHrXwQnEt0")
    .replace(/gg_[A-Za-z0-9_-]{3}…/g, "gg_T3h…");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) walker.currentNode.nodeValue = fix(walker.currentNode.nodeValue);
  for (const input of document.querySelectorAll("input")) input.value = fix(input.value);
}"""


@pytest.fixture(scope="module")
def apps_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-apps-shots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


def _app(server: Server, name: str, *args: str) -> str:
    created = server.create_app(DEMO_TENANT, name, *args)
    REGISTRY.secret(created["AppSecret"], "client secret")
    return created["AppID"]


def test_screenshots_of_the_apps_pages(apps_server: Server, sink: SmtpSink, chromium: Any) -> None:
    server = apps_server
    payroll = _app(server, "Payroll sync", "User.Read.All", "User.Invite.All")
    _app(server, "Guest reports", "AuditLog.Read.All")
    server.cli(
        "app", "create", "--tenant", DEMO_TENANT, "--name", "Partner portal", "--public-client",
        "--redirect-uri", "https://portal.contoso.example/signin", "--json",
    )  # fmt: skip
    member(server, ADMIN, "Avery Admin", "Global administrator")
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)

    def take(name: str) -> None:
        settled(page).evaluate(FIXED)
        shots.take(name)

    sign_in(page, server, sink, ADMIN, path="apps")
    base = f"{server.base_url}/admin/{DEMO_TENANT}/apps/{payroll}"
    page.goto(base)
    page.get_by_label("Add a redirect URI").fill("https://payroll.contoso.example/signin-oidc")
    page.get_by_role("button", name="Add redirect URI").click()
    page.get_by_label("Description").fill("production 2026")
    page.get_by_label("Expires after").select_option(label="1 year")
    page.get_by_role("button", name="Add secret").click()
    REGISTRY.secret(page.get_by_label("Client secret value").input_value(), "client secret")
    take("console-app-secret-added")
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/apps")
    take("console-apps")
    page.goto(base)
    take("console-app")
    page.locator("tbody tr", has_text="production 2026").get_by_role("button").click()
    take("console-app-confirm-remove-secret")

    old = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE console_sessions SET signed_in_at = ? WHERE ended_at IS NULL", (old,))
    page.goto(base)
    page.get_by_label("Description").fill("staging")
    page.get_by_role("button", name="Add secret").click()
    assert page.inner_text("h1") == "Sign in again to continue"
    take("console-reauth")
    context.close()
    assert shots.violations == []
    mine = sorted(p.stem for p in SHOTS.glob("*.png") if p.stem.startswith(PREFIXES))
    assert mine == sorted(shots.names)
