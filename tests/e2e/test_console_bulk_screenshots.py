"""Screenshots of the console's Bulk invite pages into docs/screenshots/console/, axe-core on each.

The console screenshots' mechanism (tests/e2e/test_console_screenshots.py): its own SQLite
database, fixed names, and ids and dates made steady before each picture. The jobs run one
at a time, each awaited, so the counts and the list's order are the same on every run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
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
PREFIX = "console-bulk"  # the pictures this test owns in docs/screenshots/console/
HEADINGS = (
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    " Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    " message [customizedMessageBody]"
)
APP = "https://myapplications.microsoft.com"
FILE = (
    "version:v1.0\n"
    + HEADINGS
    + "\n"
    + f"ada.lovelace@fabrikam.example,{APP},FALSE,Welcome to Contoso\n"
    + f"grace.hopper@fabrikam,{APP},FALSE,Welcome to Contoso\n"
    + f"alan.turing@northwind.example,{APP},FALSE,Welcome to Contoso\n"
    + f"katherine.johnson@northwind.example,{APP},FALSE,Welcome to Contoso\n"
).encode()
PARTNERS = (
    b"invitedUserEmailAddress,invitedUserDisplayName,sendInvitationMessage\n"
    b"hedy.lamarr@tailspin.example,Hedy Lamarr,false\n"
    b"margaret.hamilton@tailspin.example,Margaret Hamilton,false\n"
)


@pytest.fixture(scope="module")
def bulk_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-bulk-shots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


def _wait_for(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _upload(page: Any, data: bytes, *, check_only: bool) -> None:
    page.get_by_label("CSV file").set_input_files(
        {"name": "guests.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_label("Check only: list the rows that would fail, invite nobody").set_checked(
        check_only
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()


def test_screenshots_of_the_bulk_invite_pages(
    bulk_server: Server, sink: SmtpSink, chromium: Any
) -> None:
    server = bulk_server
    member(server, ADMIN, "Avery Admin", "Global administrator")
    caller = Caller.demo(server)
    answer = caller.request(
        "POST", "/api/bulk/invitations", content=PARTNERS, headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 202, answer.text

    def finished() -> bool:
        status = caller.request("GET", answer.headers["Location"]).json()["status"]
        return bool(status == "done")

    _wait_for(finished)
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)
    sign_in(page, server, sink, ADMIN, path="bulk")
    _upload(page, FILE, check_only=True)
    shots.take("console-bulk-check")
    _upload(page, FILE, check_only=False)
    job_page = page.url

    def done() -> bool:
        page.goto(job_page)
        return bool(page.locator("#state").inner_text() == "Done")

    _wait_for(done)
    shots.take("console-bulk-job")
    page.get_by_role("link", name="Bulk invite").first.click()
    shots.take("console-bulk")
    context.close()
    assert shots.violations == []
    mine = sorted(p.stem for p in SHOTS.glob("*.png") if p.stem.startswith(PREFIX))
    assert mine == sorted(shots.names)
