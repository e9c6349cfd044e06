"""Screenshots of the admin console into docs/screenshots/console/, axe-core on each page.

Its own SQLite database with fixed names; dates and ids on the page are replaced by fixed
ones before each picture (`steady`), so a picture changes only when the design does.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import ROOT, Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import redeem_link, serious_violations, to_consent

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
SHOTS = ROOT / "docs" / "screenshots" / "console"
ADMIN = "avery.admin@contoso.example"
SPONSOR = "sam.sponsor@contoso.example"
NOBODY = "noel.norole@contoso.example"
# Applied to the page's text nodes and input values before a picture: each distinct id
# becomes a steady one of its own (by order of appearance), and each time is moved by the
# same amount, so that the picture's now is 2026-12-01 09:30 UTC and the order and distance
# of its times stay as they were (an expiry 30 days after its invitation still reads so).
STEADY = """() => {
  const ids = new Map();
  const steadyId = (id) => {
    if (!ids.has(id)) {
      const n = (ids.size + 1).toString(16).padStart(4, "0");
      ids.set(id, "2794ae53-0b5f-4c73-8198-5502fac6" + n);
    }
    return ids.get(id);
  };
  const shift = Date.UTC(2026, 11, 1, 9, 30) - Math.floor(Date.now() / 60000) * 60000;
  const steadyTime = (t) => {
    const [day, time] = t.split(" ");
    const moved = new Date(Date.parse(day + "T" + time + ":00Z") + shift).toISOString();
    return moved.slice(0, 10) + " " + moved.slice(11, 16);
  };
  const fix = (t) => t
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, steadyId)
    .replace(/20\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d(?= UTC)/g, steadyTime)
    .replace(/ticket=[\\w-]+/g, "ticket=Qm9vay1hLXRpY2tldC1oZXJl")
    .replace(/http:\\/\\/127\\.0\\.0\\.1:\\d+/g, "https://guestgate.contoso.example");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) walker.currentNode.nodeValue = fix(walker.currentNode.nodeValue);
  for (const input of document.querySelectorAll("input")) input.value = fix(input.value);
}"""


@pytest.fixture(scope="module")
def shots_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-shots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


class Shots:
    def __init__(self, page: Any) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page = page
        self.names: list[str] = []
        self.violations: list[str] = []

    def take(self, name: str) -> None:
        self.violations += serious_violations(self.page)  # once the page has loaded
        self.page.evaluate(STEADY)
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        self.names.append(name)


def _seed(server: Server, sink: SmtpSink, chromium: Any) -> dict[str, str]:
    """Guests in every state, with fixed names; returns email → user id."""
    caller = Caller.demo(server)
    ids = {}
    guests = [
        ("ada.lovelace@fabrikam.example", "Ada Lovelace", ADMIN),
        ("grace.hopper@fabrikam.example", "Grace Hopper", SPONSOR),
        ("alan.turing@northwind.example", "Alan Turing", ADMIN),
        ("edsger.dijkstra@northwind.example", "Edsger Dijkstra", SPONSOR),
        ("barbara.liskov@tailspin.example", "Barbara Liskov", None),
    ]
    for email, name, requester in guests:
        body: dict[str, Any] = {
            "invitedUserEmailAddress": email,
            "invitedUserDisplayName": name,
            "sendInvitationMessage": True,
        }
        if requester:
            body["requestedBy"] = requester
        answer = caller.invite(body)
        assert answer.status_code == 201, answer.text
        ids[email] = answer.json()["invitedUser"]["id"]
    context = chromium.new_context()
    page = context.new_page()
    ada = "ada.lovelace@fabrikam.example"
    to_consent(page, sink, ada, redeem_link(sink.wait_for(to=ada, subject_contains="invited")[0]))
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/welcome"))
    context.close()
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE invitations SET expires_at = '2026-01-01T00:00:00.000000Z' WHERE email = ?",
            ("edsger.dijkstra@northwind.example",),
        )
        db.execute(
            "UPDATE invitations SET status = 'Declined' WHERE email = ?",
            ("barbara.liskov@tailspin.example",),
        )
        # The guest list reads each guest's latest invitation from the guest's row.
        db.execute(
            "UPDATE users SET invitation_expires_at = '2026-01-01T00:00:00.000000Z'"
            " WHERE mail_key = ?",
            ("edsger.dijkstra@northwind.example",),
        )
        db.execute(
            "UPDATE users SET invitation_state = 'Declined', invitation_expires_at = NULL"
            " WHERE mail_key = ?",
            ("barbara.liskov@tailspin.example",),
        )
    return ids


def test_screenshots_of_the_admin_console(
    shots_server: Server, sink: SmtpSink, chromium: Any
) -> None:
    server = shots_server
    member(server, ADMIN, "Avery Admin", "Global administrator")
    member(server, SPONSOR, "Sam Sponsor", "Sponsor")
    member(server, NOBODY, "Noel Norole")
    ids = _seed(server, sink, chromium)
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)
    page.goto(f"{server.base_url}/admin")
    shots.take("console-picker")
    sign_in(page, server, sink, ADMIN)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?sort=name&order=asc")
    shots.take("console-guests")
    page.get_by_label("State").select_option("Pending")
    page.get_by_label("Domain").fill("fabrikam.example")
    page.get_by_role("button", name="Apply").click()
    assert "1 guest" in page.inner_text("#count")
    shots.take("console-guests-filtered")
    page.goto(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids['ada.lovelace@fabrikam.example']}"
    )
    shots.take("console-guest-accepted")
    page.goto(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids['grace.hopper@fabrikam.example']}"
    )
    page.get_by_role("button", name="Resend invitation").click()
    shots.take("console-guest-confirm-resend")
    page.get_by_role("button", name="Yes, resend").click()
    shots.take("console-guest-resent")
    page.get_by_role("link", name="Invite", exact=True).click()
    page.get_by_label("Email address").fill("katherine.johnson@fabrikam.example")
    page.get_by_label("Display name").fill("Katherine Johnson")
    page.get_by_label("Redirect URL after accepting").fill("https://myapps.contoso.example")
    shots.take("console-invite")
    page.get_by_label("Send the invitation email").uncheck()
    page.get_by_role("button", name="Invite", exact=True).click()
    assert page.inner_text("h1") == "Invitation created"
    shots.take("console-invited")
    context.close()

    for email, name in ((SPONSOR, "console-guests-sponsor"), (NOBODY, "console-no-role")):
        context = chromium.new_context(viewport={"width": 1200, "height": 760})
        shots.page = context.new_page()
        sign_in(shots.page, server, sink, email)
        shots.take(name)
        context.close()
    assert shots.violations == []
    # The Webhooks and Activity pictures are test_console_events_screenshots.py's; the Bulk
    # invite and Reports pictures are their own tests'.
    theirs = (
        "console-webhook",
        "console-activity",
        "console-bulk",
        "console-reports",
        "console-guest-actions",
        "console-audit",  # test_console_audit_screenshots.py's, with console-tenant
        "console-tenant",
        "console-app",  # test_console_apps_screenshots.py's, with console-reauth
        "console-reauth",
        "console-pending",  # test_console_approvals.py's
        "console-lifecycle",  # test_console_lifecycle.py's
        "console-users",  # test_console_users.py's (sponsors, disabled, deleted guests)
        "console-m365",  # test_console_m365_screenshots.py's
    )
    mine = [p.stem for p in SHOTS.glob("*.png") if not p.stem.startswith(theirs)]
    assert sorted(mine) == sorted(shots.names)
