"""Every page of guestgate in Microsoft 365 mode, opened by Chromium with no network: each
request a page makes goes to guestgate's own origin.

guestgate runs in graph mode as in test_console_graph_mode.py: a local-mode guestgate over
https stands in for Entra (the console's authority) and for Microsoft Graph. An administrator
signs in on the stand-in's pages (another origin, by design, so not watched), then every page
route of the graph-mode app, walked from the app as test_every_page_origin.py walks local
mode's, is opened with every request watched: the Microsoft 365 console's guest list and
profile (with each confirmation, adding a sponsor, revoking), the Deleted guests page, Invite
and the page after it, Bulk invite and a job's page, Webhooks and an endpoint's page,
Activity, Reports, the Audit log, Approvals, the pages of the local console this mode lacks
(404 pages that say so), /admin and the callback, the sponsor's Keep page from a real
lifecycle notice a graph-mode `guestgate worker` wrote, the API docs, and the page after
signing out. A page route added later and not opened fails the test, named; so does a
request to another origin (the authority's sign-in again among them), one the page's
Content-Security-Policy stopped, a 5xx, or a document not HTML.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from guestgate.config_env import from_env
from tests.e2e.console_browser import member
from tests.e2e.server import GUESTGATE, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_bulk import CSV, TEMPLATE
from tests.e2e.test_console_graph_mode import (
    ADMIN,
    _api_token,
    _invite,
    _sign_in,
    microsoft,
    start_broker,
)
from tests.e2e.test_docs_offline import Watch
from tests.e2e.test_every_page_origin import (
    NOT_PAGES,
    browser,
    check_pages,
    page_routes,
    pytestmark,
    watched,
)
from tests.e2e.test_pages_and_mails import text_of
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver

__all__ = ["browser", "microsoft", "pytestmark"]  # the fixtures, and the skip without Chromium
SPONSOR = "sasha.m365@contoso.example"
NS = "#microsoft.graph.identityGovernance."


@pytest.fixture(scope="module")
def broker(
    tmp_path_factory: pytest.TempPathFactory, microsoft: Server
) -> Iterator[tuple[Server, dict[str, str]]]:
    """test_console_graph_mode's graph-mode guestgate (a public console client, SQLite), its
    own app given what lifecycle policies need as well: sign-in activity (AuditLog.Read.All)
    and managing them through guestgate's API."""
    workdir: Path = tmp_path_factory.mktemp("m365-every-page")
    url = f"sqlite:///{workdir}/guestgate.db"
    server, _ = start_broker(microsoft, workdir, url, "public", "every page")
    own = microsoft.create_app(
        "contoso.example",
        "guestgate broker, lifecycle",
        "User.Invite.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "AuditLog.Read.All",
        "LifecyclePolicies-Guests.ReadWrite.All",
    )
    REGISTRY.secret(own["AppSecret"], "client secret")
    server.stop()
    server.extra_env["GUESTGATE_GRAPH_CLIENT_ID"] = own["AppID"]
    server.extra_env["GUESTGATE_GRAPH_CLIENT_SECRET"] = own["AppSecret"]
    server.extra_env["GUESTGATE_WEBHOOK_ALLOW_PRIVATE"] = "true"
    server.start()
    yield server, own
    server.stop()


def mails(server: Server) -> list[EmailMessage]:
    """The mails the graph-mode guestgate wrote to its mail folder (it has no SMTP server)."""
    folder = server.workdir / "var" / "mail"
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def keep_link(server: Server, token: str) -> str:
    """The Keep link of the lifecycle notice the graph-mode guestgate writes SPONSOR:
    a policy asks every guest for two sponsors; the sponsored guest has one, in Graph."""
    rule = {"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 2}
    made = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "Two sponsors",
        "isEnabled": True,
        "gracePeriodInDays": 14,
        "enforcementAction": {"@odata.type": f"{NS}disableOnlyEnforcementAction"},
        "rules": [rule],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [0]},
    }
    with server.client() as client:
        answer = client.post(
            "/api/identityGovernance/lifecycleWorkflows/lifecyclePolicies",
            json=made,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201, answer.text
    # A `guestgate worker` of its own, holding the Graph client as `serve` does, runs the
    # lifecycle scheduler's first pass as it starts and delivers the notice.
    log = server.workdir / "worker.log"
    with log.open("wb") as errors:
        worker = subprocess.Popen(
            [*GUESTGATE, "worker", "--poll", "0.2"],
            env=server.env(),
            cwd=server.workdir,
            stderr=errors,
        )
    deadline = time.monotonic() + 60
    notices: list[EmailMessage] = []
    try:
        while not notices and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
            notices = [
                m
                for m in mails(server)
                if SPONSOR in str(m["To"]) and "need your decision" in str(m["Subject"])
            ]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert notices, f"no lifecycle notice to the sponsor: {log.read_text()[-3000:]}"
    assert notices, f"no lifecycle notice to the sponsor: {server.logs()[-3000:]}"
    found = re.search(r"Keep: (\S+)", text_of(notices[0]))
    assert found is not None
    return found.group(1)


def test_every_m365_page_loads_only_from_guestgate(
    microsoft: Server,
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    browser: Any,
) -> None:
    server, own = broker
    pages = page_routes(from_env(server.env())) - set(NOT_PAGES)
    tenant = own["TenantID"]
    token = _api_token(microsoft, own)
    REGISTRY.secret(token, "access token")
    tag = uuid.uuid4().hex[:8]
    kept = _invite(server, token, f"kept.{tag}@fabrikam.example")
    revoked = _invite(server, token, f"revoked.{tag}@fabrikam.example")
    member(microsoft, SPONSOR, "Sasha Sponsor")
    api = {"Authorization": f"Bearer {token}"}
    with server.client() as client:
        job = client.post("/api/bulk/invitations", content=TEMPLATE, headers={**CSV, **api})
        receiver = Receiver().start()
        try:
            hook = client.post("/api/webhooks", json={"url": receiver.url}, headers=api)
        finally:
            receiver.stop()
    assert job.status_code == 202, job.text
    assert hook.status_code == 201, hook.text
    REGISTRY.secret(hook.json()["secret"], "webhook secret")

    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    admin = f"{server.base_url}/admin/{tenant}"
    # Signing in runs on the authority's pages, another origin by design: not watched.
    signed = _sign_in(page, sink, f"{admin}/guests", ADMIN)
    assert signed.status == 200, page.content()
    watch = Watch(server.base_url)
    watch.attach(context)
    opened = watched(page, watch)
    titles: dict[str, str] = {}  # each console page's heading, by the path opened

    def visit(path: str) -> None:
        page.goto(f"{admin}{path}")
        titles[path] = page.inner_text("h1")

    visit("/guests")
    visit(f"/guests?email=kept.{tag}%40fabrikam.example")
    profile = f"/guests/{kept['id']}"
    visit(profile)
    page.get_by_role("textbox", name=re.compile("^Add a sponsor")).fill(SPONSOR)
    page.get_by_role("button", name="Add sponsor").click()
    page.wait_for_url(re.compile(r"done=sponsor-added"))
    assert SPONSOR in page.inner_text("ul.sponsors")
    for confirm in ("resend", "revoke", "disable", "reset", "delete"):
        visit(f"{profile}?confirm={confirm}")
        assert page.locator("div.confirm").count() == 1, confirm
    visit(f"{profile}?confirm=rename")
    assert page.get_by_label("New display name").count() == 1
    visit(f"/guests/{revoked['id']}?confirm=revoke")
    page.get_by_role("button", name="Yes, revoke").click()
    assert page.inner_text("h1") == "The invitation was revoked"
    visit("/deleted")
    assert f"revoked.{tag}@fabrikam.example" in page.inner_text("main")
    visit("/invite")
    page.get_by_label("Email address").fill(f"invited.{tag}@fabrikam.example")
    page.get_by_role("button", name="Invite", exact=True).click()
    assert page.inner_text("h1") == "Invitation sent"
    visit(f"/bulk/{job.json()['id']}")
    assert titles[f"/bulk/{job.json()['id']}"] == "Bulk job"
    visit(f"/webhooks/{hook.json()['id']}")
    assert titles[f"/webhooks/{hook.json()['id']}"] == "Webhook endpoint"
    for section, title in (
        ("bulk", "Bulk invite"),
        ("webhooks", "Webhooks"),
        ("activity", "Activity"),
        ("reports", "Reports"),
        ("audit", "Audit log"),
        ("approvals", "Approvals"),
    ):
        visit(f"/{section}")
        assert titles[f"/{section}"] == title
    for section in ("lifecycle", "tenant", "apps"):
        visit(f"/{section}")
        assert "is not in the Microsoft 365 console" in titles[f"/{section}"]
    visit("/no-such-page")
    visit("")  # /admin/{tenant}: to the guests
    page.goto(f"{server.base_url}/admin")
    assert page.inner_text("h1") == "Guests"
    page.goto(f"{server.base_url}/admin/callback")
    assert page.inner_text("h1") == "This sign-in has ended"
    # The sponsor's Keep page, from a real notice.
    page.goto(keep_link(server, token))
    assert page.inner_text("h1") == "Keep this guest?"
    # The API docs.
    page.goto(f"{server.base_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    page.goto(f"{server.base_url}/docs/oauth2-redirect.html")
    page.goto(f"{server.base_url}/docs/no-such-page")
    # Signing out: the page after it.
    page.goto(f"{admin}/guests")
    page.get_by_role("button", name="Sign out").click()
    assert page.inner_text("h1") == "You signed out"
    context.close()

    check_pages(pages, opened, watch)
    # Every console page opened was the page itself, not the sign-in again (whose pages are
    # the authority's: a request there fails check_pages).
    assert titles[""] == titles["/guests"] == "Guests"
    assert titles[profile] == f"kept.{tag}"  # the guest's display name
    assert titles["/deleted"] == "Deleted guests"
    assert titles["/invite"] == "Invite a guest"
    assert not [t for t in titles.values() if "sign in" in t.lower()], titles
