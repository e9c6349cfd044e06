"""The console's sponsors, Disable/Enable and Deleted guests in Chromium, on SQLite and
PostgreSQL, axe-core on every page state: a profile shows the requester as sponsor, adds and
removes sponsors, disables the guest behind a confirmation (its redeem link then says so) and
enables it; a deleted guest is listed under Deleted guests and restored with its id and
sponsors; a reader sees the page but may not restore, a sponsor may not open it. Screenshots
(SQLite run) go to docs/screenshots/console/console-users-*.png."""

from __future__ import annotations

import json
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
from tests.e2e.test_console_screenshots import SHOTS, Shots
from tests.e2e.test_pages_and_mails import redeem_link, serious_violations

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
PREFIX = "console-users"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-users-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


def _address(prefix: str, domain: str = "contoso.example") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}@{domain}"


def _invite(caller: Caller, email: str, name: str, requester: str) -> str:
    answer = caller.invite(
        {
            "invitedUserEmailAddress": email,
            "invitedUserDisplayName": name,
            "sendInvitationMessage": True,
            "requestedBy": requester,
        }
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["invitedUser"]["id"])


def test_sponsors_disable_enable_delete_and_restore_in_the_console(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    sqlite = server.database_url.startswith("sqlite")
    admin, helper = _address("avery"), _address("harper")
    member(server, admin, "Avery Admin", "Global administrator")
    member(server, helper, "Harper Helper")
    caller = Caller.demo(server)
    guest = _address("ada", "fabrikam.example")
    user_id = _invite(caller, guest, "Ada Lovelace", admin)
    link = redeem_link(sink.wait_for(to=guest, subject_contains="invited you")[-1])
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)
    violations: list[str] = []

    def take(name: str) -> None:
        if sqlite:
            shots.take(f"{PREFIX}-{name}")
        else:
            violations.extend(serious_violations(page))

    sign_in(page, server, sink, admin, f"guests/{user_id}")
    sponsors = page.locator("ul.sponsors").inner_text()
    assert "Avery Admin" in sponsors  # the requester, a member, sponsors by default
    page.get_by_label("Add a sponsor (a member's email address or object id)").fill(helper)
    page.get_by_role("button", name="Add sponsor").click()
    assert "The sponsor was added" in page.inner_text("main")
    assert "Harper Helper" in page.locator("ul.sponsors").inner_text()
    take("profile")
    page.get_by_label("Add a sponsor (a member's email address or object id)").fill(guest)
    page.get_by_role("button", name="Add sponsor").click()
    assert "not a member of the organization" in page.inner_text("main")
    violations.extend(serious_violations(page))
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{user_id}")
    page.get_by_role("button", name="Remove sponsor Harper Helper").click()
    assert "The sponsor was removed" in page.inner_text("main")
    assert "Harper Helper" not in page.locator("ul.sponsors").inner_text()
    # A sponsor named by object id, as Graph names it.
    found = caller.request("GET", "/v1.0/users", params={"$filter": f"mail eq '{helper}'"})
    assert found.status_code == 200, found.text
    field = page.get_by_label("Add a sponsor (a member's email address or object id)")
    field.fill(found.json()["value"][0]["id"])
    page.get_by_role("button", name="Add sponsor").click()
    assert "The sponsor was added" in page.inner_text("main")
    assert "Harper Helper" in page.locator("ul.sponsors").inner_text()

    page.get_by_role("button", name="Disable guest").click()
    assert "can no longer accept an invitation or sign in" in page.inner_text("main")
    take("confirm-disable")
    page.get_by_role("button", name="Yes, disable the guest").click()
    assert "The guest was disabled" in page.inner_text("main")
    assert "Disabled" in page.inner_text("dl.props")
    take("disabled")
    with server.client() as client:
        refused = client.get(link.replace(server.base_url, ""))
    assert refused.status_code == 403
    assert "Your account is disabled" in refused.text
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?q={guest}")
    assert "Disabled" in page.locator("tbody").inner_text()
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{user_id}")
    page.get_by_role("button", name="Enable guest").click()
    page.get_by_role("button", name="Yes, enable the guest").click()
    assert "The guest was enabled again" in page.inner_text("main")
    assert "Enabled" in page.inner_text("dl.props")

    page.get_by_role("button", name="Delete guest").click()
    page.get_by_role("button", name="Yes, delete the guest").click()
    assert "Deleted guests" in page.inner_text("main")
    page.get_by_role("link", name="Deleted guests").first.click()
    assert page.inner_text("h1") == "Deleted guests"
    assert guest in page.locator("tbody").inner_text()
    take("deleted")
    page.get_by_role("button", name="Restore Ada Lovelace").click()
    assert "Restore " + guest in page.inner_text("main")
    take("confirm-restore")
    page.get_by_role("button", name="Yes, restore the guest").click()
    assert "The guest was restored" in page.inner_text("main")
    assert page.inner_text("h1") == "Ada Lovelace"
    assert f"/guests/{user_id}" in page.url
    assert "Avery Admin" in page.locator("ul.sponsors").inner_text()
    violations.extend(serious_violations(page))
    audit = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    mine = {(e["action"], e["actor"]) for e in audit if e["target"] == user_id}
    for action in (
        "user.sponsor.add",
        "user.sponsor.remove",
        "user.disable",
        "user.enable",
        "user.delete",
        "user.restore",
    ):
        assert (action, admin) in mine, (action, mine)
    context.close()
    assert violations == []
    assert shots.violations == []


def test_a_reader_cannot_restore_and_a_sponsor_cannot_see_deleted_guests(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    reader, sponsor = _address("riley"), _address("sam")
    member(server, reader, "Riley Reader", "Reader")
    member(server, sponsor, "Sam Sponsor", "Sponsor")
    caller = Caller.new_app(
        server, DEMO_TENANT, "User.Invite.All", "User.Read.All", "User.ReadWrite.All"
    )
    user_id = _invite(caller, _address("gone", "fabrikam.example"), "Gone Guest", sponsor)
    assert caller.request("DELETE", f"/v1.0/users/{user_id}").status_code == 204
    for email, status in ((reader, 200), (sponsor, 403)):
        context = chromium.new_context()
        page = context.new_page()
        sign_in(page, server, sink, email, "guests")
        answer = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/deleted")
        assert answer is not None
        assert answer.status == status
        csrf = (
            page.locator("input[name=csrf]").first.get_attribute("value") if status == 200 else ""
        )
        if status == 200:
            assert page.get_by_role("button", name="Restore Gone Guest").count() == 0
        posted = page.request.post(
            f"{server.base_url}/admin/{DEMO_TENANT}/deleted/{user_id}/restore",
            form={"csrf": csrf, "confirmed": "yes"},
        )
        assert posted.status == 403, posted.text()
        context.close()
    assert caller.request("GET", f"/v1.0/directory/deletedItems/{user_id}").status_code == 200
    # Without the form's token nothing is changed either.
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, reader, "guests")
    posted = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/{user_id}/disable",
        form={"confirmed": "yes"},
    )
    assert posted.status == 403
    context.close()


def test_the_screenshots_are_the_ones_taken(server: Server) -> None:
    if not server.database_url.startswith("sqlite"):
        pytest.skip("the screenshots come from the SQLite run")
    mine = sorted(p.stem for p in SHOTS.glob(f"{PREFIX}-*.png"))
    expected = sorted(
        f"{PREFIX}-{n}"
        for n in ("profile", "confirm-disable", "disabled", "deleted", "confirm-restore")
    )
    assert mine == expected
