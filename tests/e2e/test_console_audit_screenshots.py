"""Screenshots of the console's Audit log and Tenant pages, axe-core on each page.

The console screenshots' mechanism (tests/e2e/test_console_screenshots.py): its own SQLite
database with fixed names, and dates and ids made steady before each picture. The changes
are made one at a time, so the audit rows come in the same order on every run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_console_screenshots import ADMIN, SHOTS, Shots

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
# The pictures this test owns in docs/screenshots/console/ (the console's test owns the rest).
PREFIXES = ("console-audit", "console-tenant")
READER = "rene.reader@contoso.example"


@pytest.fixture(scope="module")
def shots_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-audit-shots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


def test_screenshots_of_the_audit_log_and_the_tenant_page(
    shots_server: Server, sink: SmtpSink, chromium: Any
) -> None:
    server = shots_server
    member(server, ADMIN, "Avery Admin", "Global administrator")
    member(server, READER, "Rene Reader", "Reader")
    caller = Caller.demo(server)
    for email, name in (
        ("ada.lovelace@fabrikam.example", "Ada Lovelace"),
        ("alan.turing@northwind.example", "Alan Turing"),
    ):
        answer = caller.invite(
            {
                "invitedUserEmailAddress": email,
                "invitedUserDisplayName": name,
                "requestedBy": ADMIN,
            }
        )
        assert answer.status_code == 201, answer.text
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)

    sign_in(page, server, sink, ADMIN, path="tenant")
    page.get_by_label("Logo URL").fill("https://cdn.contoso.example/logo.png")
    page.get_by_label("Privacy statement URL").fill("https://contoso.example/privacy")
    page.get_by_label("Landing page").fill("https://myapps.contoso.example/")
    page.get_by_label("Invitation lifetime (days)").fill("14")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/tenant?done=saved")
    shots.take("console-tenant")
    page.evaluate("() => document.querySelector('form.narrow').noValidate = true")
    page.get_by_label("Logo URL").fill("http://cdn.contoso.example/logo.png")
    page.get_by_label("Invitation lifetime (days)").fill("400")
    page.get_by_role("button", name="Save settings").click()
    shots.take("console-tenant-invalid")

    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests")
    page.get_by_role("link", name="Audit log", exact=True).click()
    shots.take("console-audit")
    page.get_by_label("Actor", exact=True).fill(ADMIN)
    page.get_by_label("Action", exact=True).fill("invitation.*")
    page.get_by_role("button", name="Apply").click()
    shots.take("console-audit-filtered")
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/audit?from=yesterday")
    shots.take("console-audit-bad-filter")
    context.close()

    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    shots.page = page = context.new_page()
    sign_in(page, server, sink, READER, path="tenant")
    shots.take("console-tenant-reader")
    context.close()
    context = chromium.new_context(viewport={"width": 375, "height": 760})
    shots.page = page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="audit?action=tenant.update")
    shots.take("console-audit-narrow")
    context.close()
    assert shots.violations == []
    mine = sorted(p.stem for p in SHOTS.glob("*.png") if p.stem.startswith(PREFIXES))
    assert mine == sorted(shots.names)
