"""The console's Approvals page in Chromium, with axe-core and screenshots: an administrator
approves one held invitation (the guest gets the invitation, the requester the comment) and
declines another; a too-long comment is the page again, 400, nothing decided; a console
invite to a held domain says it waits; a Guest inviter decides nothing; forms need the token.

Screenshots (docs/screenshots/console/console-pending-*) are this module's, taken as the
console's others are (tests/e2e/test_console_screenshots.py)."""

from __future__ import annotations

import json
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
PREFIX = "console-pending"
INVITER = "gus.inviter@contoso.example"


@pytest.fixture(scope="module")
def shots_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-approvals")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


def text_of(mail: Any) -> str:
    body: str = mail.get_body(("plain",)).get_content()
    return body


def test_approvals_in_the_console(shots_server: Server, sink: SmtpSink, chromium: Any) -> None:
    server = shots_server
    member(server, ADMIN, "Avery Admin", "Global administrator")
    member(server, INVITER, "Gus Inviter", "Guest inviter")
    server.cli("policy", "set", "--tenant", DEMO_TENANT, "--approval-for", "fabrikam.example")
    caller = Caller.demo(server)
    held = {}
    for email, name in (
        ("ada.lovelace@fabrikam.example", "Ada Lovelace"),
        ("grace.hopper@fabrikam.example", "Grace Hopper"),
    ):
        answer = caller.invite(
            {
                "invitedUserEmailAddress": email,
                "invitedUserDisplayName": name,
                "sendInvitationMessage": True,
                "requestedBy": INVITER,
            }
        )
        assert answer.status_code == 202, answer.text
        held[email] = answer.json()["requestId"]
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    shots = Shots(page)

    sign_in(page, server, sink, ADMIN, path="approvals")
    assert page.get_by_role("heading", name="ada.lovelace@fabrikam.example").is_visible()
    shots.take(f"{PREFIX}-approvals")
    # Too long: the page again, 400, and nothing decided.
    ada = held["ada.lovelace@fabrikam.example"]
    page.get_by_label("Comment (optional, at most 1,000 characters)").first.fill("x" * 1001)
    with page.expect_response(lambda r: r.url.endswith(f"/{ada}/approve")) as answer:
        page.get_by_role("button", name="Approve").first.click()
    assert answer.value.status == 400
    assert "comment is longer than 1000 characters" in page.get_by_role("alert").inner_text()
    shots.take(f"{PREFIX}-invalid")
    page.get_by_label("Comment (optional, at most 1,000 characters)").first.fill("Known partner")
    page.get_by_role("button", name="Approve").first.click()
    page.wait_for_url("**/approvals?done=approved")
    [invitation] = sink.wait_for(to="ada.lovelace@fabrikam.example")
    assert "/redeem" in text_of(invitation) or "http" in text_of(invitation)
    [approved] = sink.wait_for(to=INVITER, subject_contains="approved")
    assert "Known partner" in text_of(approved)
    shots.take(f"{PREFIX}-approved")
    page.get_by_label("Comment (optional, at most 1,000 characters)").fill("Use the portal")
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url("**/approvals?done=declined")
    [declined] = sink.wait_for(to=INVITER, subject_contains="declined")
    assert "Use the portal" in text_of(declined)
    assert sink.messages(to="grace.hopper@fabrikam.example") == []
    assert "No request is waiting for you." in page.content()

    # A console invite to a held domain waits too; the page says so.
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/invite")
    page.get_by_label("Email address").fill("alan.turing@fabrikam.example")
    with page.expect_response(lambda r: r.url.endswith("/invite")) as answer:
        page.get_by_role("button", name="Invite").click()
    assert answer.value.status == 202
    assert page.get_by_role("heading", name="Invitation waits for approval").is_visible()
    alan = page.locator("dd code").inner_text()  # before the picture makes ids steady
    shots.take(f"{PREFIX}-invite")
    # A form without its token is refused, and decides nothing.
    forged = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/approvals/{alan}/approve",
        form={"comment": "forged"},
    )
    assert forged.status == 403
    context.close()

    # A Guest inviter sees no request and may decide none.
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    sign_in(page, server, sink, INVITER, path="approvals")
    assert "No request is waiting for you." in page.content()
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/approvals/{alan}/approve",
        form={"csrf": token or "", "comment": ""},
    )
    assert refused.status == 403, refused.text()
    context.close()
    audit = json.loads(
        server.cli("audit", "list", "--tenant", DEMO_TENANT, "--limit", "100", "--json").stdout
    )
    decided = [
        (e["action"], e["actor"])
        for e in audit
        if e["action"] in ("approval.approve", "approval.decline")
    ]
    assert sorted(decided) == [("approval.approve", ADMIN), ("approval.decline", ADMIN)]
    auditor = Caller.new_app(server, DEMO_TENANT, "AuditLog.Read.All")
    state = auditor.request("GET", f"/api/approvals/{alan}").json()
    assert state["status"] == "PendingApproval"
    assert shots.violations == []
    mine = sorted(p.stem for p in SHOTS.glob("*.png") if p.stem.startswith(PREFIX))
    assert mine == sorted(shots.names)
