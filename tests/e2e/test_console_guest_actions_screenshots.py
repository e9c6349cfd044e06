"""Screenshots of the console's guest actions into docs/screenshots/console/ (the
console-guest-actions-* pictures), axe-core on each: the list with the "pending longer than"
filter and a selection, a bulk confirmation and its results, a profile's actions, the display
name form and the delete and reset confirmations. Fixed names; ids and dates made steady.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from guestgate.domain.timestamps import iso, utcnow
from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_console_screenshots import SHOTS, Shots

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
ADMIN = "avery.admin@contoso.example"
PREFIX = "console-guest-actions"
# Invited that many days ago (None: now). Relative to now, as the pictures' times are made
# steady by moving every time by the same amount (test_console_screenshots.STEADY).
GUESTS = [
    ("ada.lovelace@fabrikam.example", "Ada Lovelace", 61),
    ("grace.hopper@fabrikam.example", "Grace Hopper", 50),
    ("alan.turing@northwind.example", "Alan Turing", 42),
    ("edsger.dijkstra@northwind.example", "Edsger Dijkstra", None),
    ("barbara.liskov@tailspin.example", "Barbara Liskov", None),
]


@pytest.fixture(scope="module")
def shots_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-actions-shots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


def test_screenshots_of_the_guest_actions(
    shots_server: Server, sink: SmtpSink, chromium: Any
) -> None:
    server = shots_server
    member(server, ADMIN, "Avery Admin", "Global administrator")
    caller = Caller.demo(server)
    ids = {}
    for email, name, _ in GUESTS:
        answer = caller.invite(
            {
                "invitedUserEmailAddress": email,
                "invitedUserDisplayName": name,
                "sendInvitationMessage": True,
                "requestedBy": ADMIN,
            }
        )
        assert answer.status_code == 201, answer.text
        ids[email] = answer.json()["invitedUser"]["id"]
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        for email, _, days in GUESTS:
            if days:
                created = iso(utcnow() - timedelta(days=days))
                db.execute("UPDATE users SET created_at = ? WHERE id = ?", (created, ids[email]))
                db.execute(
                    "UPDATE invitations SET created_at = ? WHERE user_id = ?",
                    (created, ids[email]),
                )
                db.execute(  # and the guest list's copy of it
                    "UPDATE users SET invited_at = ? WHERE id = ?", (created, ids[email])
                )
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)
    sign_in(page, server, sink, ADMIN)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?pending=30&sort=name&order=asc")
    assert "3 guests" in page.inner_text("#count")
    page.get_by_label("Select Ada Lovelace").check()
    page.get_by_label("Select Grace Hopper").check()
    shots.take(f"{PREFIX}-list")
    page.get_by_role("button", name="Resend selected").click()
    shots.take(f"{PREFIX}-bulk-confirm")
    page.get_by_role("button", name="Yes, resend 2 guests").click()
    assert "2 of 2 done." in page.inner_text("#summary")
    shots.take(f"{PREFIX}-bulk-done")
    guest = f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids['alan.turing@northwind.example']}"
    page.goto(guest)
    shots.take(f"{PREFIX}-profile")
    page.get_by_role("button", name="Edit display name").click()
    shots.take(f"{PREFIX}-rename")
    page.goto(guest)
    page.get_by_role("button", name="Reset redemption").click()
    shots.take(f"{PREFIX}-confirm-reset")
    page.goto(guest)
    page.get_by_role("button", name="Delete guest").click()
    shots.take(f"{PREFIX}-confirm-delete")
    context.close()
    assert shots.violations == []
    mine = sorted(p.stem for p in SHOTS.glob(f"{PREFIX}-*.png"))
    assert mine == sorted(shots.names)
