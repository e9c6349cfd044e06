"""Screenshots of the admin console in Microsoft 365 mode into docs/screenshots/console/:
the authority's sign-in, the guest list read from Graph, a guest's profile, its sponsors,
Disable's confirmation, Deleted guests and Restore's confirmation; Reset redemption, Edit
display name and Delete, Invite, Bulk invite and a job, Webhooks, Activity, Reports and the
Audit log, and the profile at 375 px; axe-core on each. A
local-mode guestgate over https stands in for Entra and Graph, as in
test_console_graph_mode.py; the guests have fixed names, and ids and dates on the page are
replaced by fixed ones before each picture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Server
from tests.e2e.signin import latest_code
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_console_bulk import HEADINGS, _state_is, _wait_for
from tests.e2e.test_console_graph_mode import (
    ADMIN,
    _api_token,
    _app,
    microsoft,  # noqa: F401 (the stand-in Entra and Graph, a fixture)
)
from tests.e2e.test_console_screenshots import Shots
from tests.e2e.test_console_screenshots import pytestmark as pytestmark  # Chromium needed

GUESTS = (
    ("ada.lovelace@fabrikam.example", "Ada Lovelace"),
    ("grace.hopper@fabrikam.example", "Grace Hopper"),
    ("alan.turing@northwind.example", "Alan Turing"),
)


@pytest.fixture(scope="module")
def m365(
    tmp_path_factory: pytest.TempPathFactory,
    microsoft: Server,  # noqa: F811
) -> Iterator[tuple[Server, dict[str, str]]]:
    """A graph-mode guestgate whose console signs in with `microsoft` (a public client)."""
    workdir: Path = tmp_path_factory.mktemp("m365-shots")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db")
    own = _app(
        microsoft,
        "--name",
        "guestgate (Microsoft 365 mode)",
        *("--permission", "User.Invite.All", "--permission", "User.Read.All"),
        *("--permission", "User.ReadWrite.All"),
    )
    console_app = _app(
        microsoft,
        "--name",
        "guestgate admin console",
        *("--redirect-uri", f"{server.base_url}/admin/callback", "--public-client"),
    )
    server.extra_env.update(
        {
            "GUESTGATE_DIRECTORY": "graph",
            "GUESTGATE_GRAPH_URL": microsoft.base_url,
            "GUESTGATE_ENTRA_URL": microsoft.base_url,
            "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
            "GUESTGATE_GRAPH_CLIENT_ID": own["AppID"],
            "GUESTGATE_GRAPH_CLIENT_SECRET": own["AppSecret"],
            "GUESTGATE_GRAPH_TENANT": own["TenantID"],
            "GUESTGATE_CONSOLE_AUTHORITY": f"{microsoft.base_url}/{own['TenantID']}/v2.0",
            "GUESTGATE_CONSOLE_CLIENT_ID": console_app["AppID"],
        }
    )
    server.start()
    yield server, own
    server.stop()


def test_screenshots_of_the_microsoft_365_console(
    microsoft: Server,  # noqa: F811
    m365: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = m365
    token = _api_token(microsoft, own)
    ids = {}
    with server.client() as client:
        for email, name in GUESTS:
            answer = client.post(
                "/api/InviteGuest",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "invitedUserEmailAddress": email,
                    "invitedUserDisplayName": name,
                    "sendInvitationMessage": False,
                },
            )
            assert answer.status_code == 201, answer.text
            ids[email] = answer.json()["id"]
    tenant = own["TenantID"]
    context = chromium.new_context(
        ignore_https_errors=True, viewport={"width": 1200, "height": 700}
    )
    page = context.new_page()
    shots = Shots(page)
    try:
        page.goto(f"{server.base_url}/admin/{tenant}/guests")
        assert "/oauth2/v2.0/authorize" in page.url or "/signin" in page.url, page.url
        page.get_by_label("Email address").fill(ADMIN)
        shots.take("console-m365-signin")
        before = len(sink.messages(to=ADMIN, subject_contains="verification code"))
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        page.get_by_label("Code").fill(latest_code(sink, ADMIN, before + 1))
        with page.expect_navigation(url=re.compile(r"/admin/")):
            page.get_by_role("button", name="Sign in").click()
        text = page.inner_text("main")
        assert all(email in text for email, _ in GUESTS), text
        shots.take("console-m365-guests")
        first = GUESTS[0][0]
        page.locator(f"tbody a[href$='/guests/{ids[first]}']").click()
        page.wait_for_url(re.compile(rf"/guests/{ids[first]}$"))
        assert first in page.inner_text("main")
        shots.take("console-m365-guest")
        # Sponsors, Disable behind its confirmation, Deleted guests and Restore's confirmation.
        page.get_by_label("Add a sponsor (a member's email address or object id)").fill(ADMIN)
        page.get_by_role("button", name="Add sponsor").click()
        page.wait_for_url(re.compile(r"done=sponsor-added$"))
        assert "Avery Admin" in page.locator("ul.sponsors").inner_text()
        shots.take("console-m365-guest-sponsors")
        page.get_by_role("button", name="Disable guest").click()
        page.wait_for_url(re.compile(r"confirm=disable$"))
        shots.take("console-m365-confirm-disable")
        page.get_by_role("button", name="Yes, disable the guest").click()
        page.wait_for_url(re.compile(r"done=disable$"))
        assert "Disabled" in page.inner_text("dl.props")
        gone = GUESTS[2][0]
        page.goto(f"{server.base_url}/admin/{tenant}/guests/{ids[gone]}")
        page.get_by_role("button", name="Revoke invitation").click()
        page.get_by_role("button", name="Yes, revoke").click()
        page.goto(f"{server.base_url}/admin/{tenant}/guests")
        page.get_by_role("link", name="Deleted guests").click()
        page.wait_for_url(re.compile(r"/deleted$"))
        assert gone in page.locator("tbody").inner_text()
        shots.take("console-m365-deleted")
        page.get_by_role("button", name="Restore Alan Turing").click()
        page.wait_for_url(re.compile(r"confirm="))
        shots.take("console-m365-confirm-restore")
    finally:
        context.close()
    assert shots.violations == []
    assert shots.names == [
        "console-m365-signin",
        "console-m365-guests",
        "console-m365-guest",
        "console-m365-guest-sponsors",
        "console-m365-confirm-disable",
        "console-m365-deleted",
        "console-m365-confirm-restore",
    ]


NEW_GUESTS = (
    ("katherine.johnson@fabrikam.example", "Katherine Johnson"),
    ("dorothy.vaughan@northwind.example", "Dorothy Vaughan"),
)
NARROW_PAGES = ("guests/{id}", "invite", "bulk", "webhooks", "activity", "reports", "audit")


def test_screenshots_of_the_microsoft_365_consoles_other_pages(
    microsoft: Server,  # noqa: F811
    m365: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    """The profile's Reset redemption, Edit display name and Delete confirmations, Invite and
        the page after it, Bulk invite and a finished job, Webhooks, Activity, Reports and the Audit
    log; then
        each of them at 375 px, none wider than the window."""
    server, own = m365
    token = _api_token(microsoft, own)
    tenant = own["TenantID"]
    ids = {}
    with server.client() as client:
        for email, name in NEW_GUESTS:
            answer = client.post(
                "/api/InviteGuest",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "invitedUserEmailAddress": email,
                    "invitedUserDisplayName": name,
                    "sendInvitationMessage": False,
                },
            )
            assert answer.status_code == 201, answer.text
            ids[email] = answer.json()["id"]
    context = chromium.new_context(
        ignore_https_errors=True, viewport={"width": 1200, "height": 700}
    )
    page = context.new_page()
    shots = Shots(page)
    base = f"{server.base_url}/admin/{tenant}"
    first = ids[NEW_GUESTS[0][0]]
    try:
        page.goto(f"{base}/guests/{first}")
        page.get_by_label("Email address").fill(ADMIN)
        before = len(sink.messages(to=ADMIN, subject_contains="verification code"))
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        page.get_by_label("Code").fill(latest_code(sink, ADMIN, before + 1))
        with page.expect_navigation(url=re.compile(r"/admin/")):
            page.get_by_role("button", name="Sign in").click()
        for confirm, name in (
            ("reset", "console-m365-confirm-reset"),
            ("rename", "console-m365-rename"),
            ("delete", "console-m365-confirm-delete"),
        ):
            page.goto(f"{base}/guests/{first}?confirm={confirm}")
            shots.take(name)
        page.get_by_role("link", name="Invite", exact=True).click()
        page.get_by_label("Email address").fill("mary.jackson@fabrikam.example")
        page.get_by_label("Display name").fill("Mary Jackson")
        page.get_by_label("Message in the invitation email").fill(
            "Welcome to the Contoso partner portal."
        )
        page.get_by_label("Language of the email").fill("en-GB")
        shots.take("console-m365-invite")
        page.get_by_label("Send the invitation email").uncheck()
        page.get_by_role("button", name="Invite", exact=True).click()
        assert page.inner_text("h1") == "Invitation created"
        # The stand-in's address and the link's ticket change each run: fixed ones instead.
        page.get_by_label("Redeem link").evaluate(
            "e => { e.value = e.value.replace(/^https:[/][/][^/]+/, 'https://entra.example')"
            ".replace(/ticket=[^&]+/, 'ticket=...'); }"
        )
        shots.take("console-m365-invited")
        page.get_by_role("link", name="Bulk invite").click()
        shots.take("console-m365-bulk")
        rows = "".join(
            f"{e},https://myapplications.microsoft.com,FALSE,Welcome\n"
            for e in ("annie.easley@tailspin.example", "not-an-address")
        )
        page.get_by_label("CSV file").set_input_files(
            {
                "name": "guests.csv",
                "mimeType": "text/csv",
                "buffer": ("version:v1.0\n" + HEADINGS + "\n" + rows).encode(),
            }
        )
        with page.expect_navigation():
            page.get_by_role("button", name="Upload").click()
        _wait_for(_state_is(page, "Done"))
        page.wait_for_load_state()
        shots.take("console-m365-bulk-job")
        page.get_by_role("link", name="Webhooks").click()
        shots.take("console-m365-webhooks")
        page.get_by_role("link", name="Activity").click()
        assert "invitation.created" in page.inner_text("tbody")
        shots.take("console-m365-activity")
        page.get_by_role("link", name="Reports").click()
        shots.take("console-m365-reports")
        page.get_by_role("link", name="Audit log").click()
        shots.take("console-m365-audit")
        # Usable at 375 px: no page is wider than the window.
        page.set_viewport_size({"width": 375, "height": 760})
        for path in NARROW_PAGES:
            page.goto(f"{base}/{path.format(id=first)}")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, (path, width)
        page.goto(f"{base}/guests/{first}")
        shots.take("console-m365-guest-narrow")
    finally:
        context.close()
    assert shots.violations == []
    assert shots.names == [
        "console-m365-confirm-reset",
        "console-m365-rename",
        "console-m365-confirm-delete",
        "console-m365-invite",
        "console-m365-invited",
        "console-m365-bulk",
        "console-m365-bulk-job",
        "console-m365-webhooks",
        "console-m365-activity",
        "console-m365-reports",
        "console-m365-audit",
        "console-m365-guest-narrow",
    ]
