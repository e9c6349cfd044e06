"""The console's Reports page in Chromium, on SQLite and PostgreSQL, and its screenshot.

An administrator sees every report with the invitations the test made: the figures in the
tables beside the SVG charts (labelled, patterned, with a title and description), the CSV
downloads through the console session, the window form; a bad value is a 400 page naming
it. A Reader sees the page; a Guest inviter and a Sponsor get 403 and no Reports link.
axe-core checks the page; the picture goes to docs/screenshots/console/.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_console_screenshots import Shots
from tests.e2e.test_pages_and_mails import serious_violations

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
ADMIN = "avery.admin@contoso.example"
READER = "rene.reader@contoso.example"
INVITER = "ivan.inviter@contoso.example"
GUESTS = [
    ("ada.lovelace@fabrikam.example", "Ada Lovelace", ADMIN),
    ("grace.hopper@fabrikam.example", "Grace Hopper", ADMIN),
    ("alan.turing@northwind.example", "Alan Turing", INVITER),
    ("edsger.dijkstra@northwind.example", "Edsger Dijkstra", None),
    ("barbara.liskov@tailspin.example", "Barbara Liskov", ADMIN),
    ("margaret.hamilton@fabrikam.example", "Margaret Hamilton", INVITER),
]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"reports-console-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    running = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    running.start()
    member(running, ADMIN, "Avery Admin", "Global administrator")
    member(running, READER, "Rene Reader", "Reader")
    member(running, INVITER, "Ivan Inviter", "Guest inviter")
    caller = Caller.demo(running)
    made = []
    for email, name, requester in GUESTS:
        body: dict[str, Any] = {"invitedUserEmailAddress": email, "invitedUserDisplayName": name}
        if requester:
            body["requestedBy"] = requester
        answer = caller.invite(body)
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    revoked = caller.request("POST", f"/api/invitations/{made[3]['invitationId']}/revoke")
    assert revoked.status_code == 200, revoked.text
    yield running
    running.stop()


def _table(page: Any, region: str) -> list[list[str]]:
    rows = page.get_by_role("region", name=region).locator("tbody tr").all()
    return [row.locator("td").all_inner_texts() for row in rows]


def test_an_administrator_sees_every_report(
    server: Server, sink: SmtpSink, chromium: Any, request: pytest.FixtureRequest
) -> None:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="reports")
    assert page.url.endswith(f"/admin/{DEMO_TENANT}/reports")
    assert page.get_by_role("heading", name="Reports", level=1).is_visible()
    assert page.get_by_role("link", name="Reports").get_attribute("aria-current") == "page"
    states = dict((r[0], r[1]) for r in _table(page, "Invitations by state"))
    assert states == {
        "Pending": "5",
        "Expired": "0",
        "Accepted": "0",
        "Declined": "0",
        "Revoked": "1",
    }
    requesters = {r[0]: r[2] for r in _table(page, "Invitations by requester")}
    assert requesters == {ADMIN: "3", INVITER: "2", "(none)": "1"}
    domains = {r[0]: r[2] for r in _table(page, "Invitations by domain")}
    assert domains == {"fabrikam.example": "3", "northwind.example": "2", "tailspin.example": "1"}
    signs = {r[0]: r[2] for r in _table(page, "Guests by last sign-in")}
    assert signs["0 (No Login)"] == "6"
    assert "No invitation has been pending that long." in page.inner_text("#h-pending ~ div")
    # Every chart is an image with a title and a description naming each bar's figure.
    charts = page.locator("svg.chart").all()
    assert len(charts) == 5
    for chart in charts:
        assert chart.get_attribute("role") == "img"
        assert chart.locator("title").first.text_content()
    requester_chart = page.get_by_role("img", name="Invitations by requester")
    assert f"{ADMIN}: 3 invitations" in (requester_chart.locator("desc").text_content() or "")
    assert "(none)" in (requester_chart.text_content() or "")  # labels are text, not colour
    assert serious_violations(page) == []
    # Downloads go through the console session.
    link = page.get_by_role("link", name="Download CSV").nth(1)
    download = page.request.get(f"{server.base_url}{link.get_attribute('href')}")
    assert download.status == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text())))
    assert sum(int(r["invitations"]) for r in rows if r["requester"] == ADMIN) == 3
    summary = page.get_by_role("link", name="Download CSV").first.get_attribute("href")
    [row] = list(csv.DictReader(io.StringIO(page.request.get(server.base_url + summary).text())))
    assert (row["invited"], row["Revoked"]) == ("6", "1")
    # The form: all pending invitations (0 days), per day.
    page.get_by_label("Pending longer than (days)").fill("0")
    page.get_by_label("Per", exact=True).select_option("day")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**days=0**")
    pending = _table(page, "Pending invitations")
    assert len(pending) == 5
    assert {r[1] for r in pending} == {g[0] for g in GUESTS} - {GUESTS[3][0]}
    assert page.get_by_role("heading", name="Invitations per day").is_visible()
    assert serious_violations(page) == []
    if request.node.callspec.params.get("server") == "sqlite":
        page.set_viewport_size({"width": 1200, "height": 760})
        page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/reports")
        shots = Shots(page)
        shots.take("console-reports")
        assert shots.violations == []
    # A bad value: a 400 page that names it.
    answer = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/reports?from=someday")
    assert answer is not None
    assert answer.status == 400
    assert "from: must be a date" in page.inner_text("main")
    missing = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/reports/everything.csv")
    assert missing is not None
    assert missing.status == 404
    context.close()


@pytest.mark.parametrize(("email", "allowed"), [(READER, True), (INVITER, False)])
def test_readers_see_reports_and_other_roles_do_not(
    server: Server, sink: SmtpSink, chromium: Any, email: str, allowed: bool
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, email, path="reports")
    if allowed:
        assert answer.status == 200
        assert page.get_by_role("link", name="Reports").count() == 1
        assert len(_table(page, "Invitations by state")) == 5
        csv_link = page.get_by_role("link", name="Download CSV").last.get_attribute("href")
        assert page.request.get(server.base_url + csv_link).status == 200
    else:
        assert answer.status == 403
        assert "administrators and readers see them" in page.inner_text("main")
        download = page.request.get(f"{server.base_url}/admin/{DEMO_TENANT}/reports/summary.csv")
        assert download.status == 403
        page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests")
        assert page.get_by_role("link", name="Reports").count() == 0
    context.close()


def test_the_page_shows_markup_in_names_as_text(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    caller = Caller.demo(server)
    hostile = '"><svg onload=alert(1)><b>bold</b>'
    email = f"h{uuid.uuid4().hex[:6]}@hostile.example"
    answer = caller.invite({"invitedUserEmailAddress": email, "invitedUserDisplayName": hostile})
    assert answer.status_code == 201, answer.text
    context = chromium.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, server, sink, ADMIN, path="reports?days=0")
    shown = {r[1]: r[0] for r in _table(page, "Pending invitations")}
    assert shown[email] == hostile
    assert dialogs == []
    assert page.locator("main svg[onload], main b").count() == 0
    context.close()
