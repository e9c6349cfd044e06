"""Every page of guestgate in local mode, opened by Chromium with no network: each request a
page makes goes to guestgate's own origin.

The pages are the app's own GET routes, walked from the Litestar app: each route that is not
named below as answering something else (JSON, CSV, an image, a script) is a page, and the
test opens it - the guest's redemption pages, the sign-in pages, the sponsor's Keep / Remove
page, every admin console page (signed in as a Global administrator; a new client secret's
page is the real one, after adding the secret through the app's form, showing the value once),
the API docs. A page route added later and not opened here fails the test, named. Chromium
resolves no host name but 127.0.0.1; a request to another origin, one the page's
Content-Security-Policy stopped, a 5xx or a document not HTML fails it as well. The
Microsoft 365 mode's pages (its console among them): test_every_page_origin_m365.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from guestgate.config import DatabaseSettings, Settings
from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import GUESTGATE, Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_bulk import CSV, TEMPLATE
from tests.e2e.test_docs_offline import OFFLINE, Watch
from tests.e2e.test_pages_and_mails import redeem_link, text_of, to_consent
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
ADMIN = "olga.origin@contoso.example"
SPONSOR = "sid.sponsor@contoso.example"
NS = "#microsoft.graph.identityGovernance."

# GET routes that are not pages, and what they answer instead.
NOT_PAGES = {
    "/readyz": "JSON",
    "/openapi.json": "the OpenAPI document",
    "/docs/assets/{name:str}": "Swagger UI's scripts and styles",
    "/{tenant:str}/v2.0/.well-known/openid-configuration": "JSON",
    "/{tenant:str}/discovery/v2.0/keys": "JSON",
    "/oidc/userinfo": "JSON",
    "/api/reports/summary": "JSON or CSV",
    "/api/reports/requesters": "JSON or CSV",
    "/api/reports/domains": "JSON or CSV",
    "/api/reports/pending": "JSON or CSV",
    "/api/reports/sign-ins": "JSON or CSV",
    "/v1.0/users/$count": "a number",
    "/odata": "the OData service document",
    "/odata/$metadata": "the OData metadata",
    "/odata/{name:str}": "an OData feed",
    "/odata/{name:str}/$count": "a number",
    "/static/guestgate.css": "the stylesheet",
    "/static/console_bulk.js": "the bulk page's script",
    "/static/bulk-invite-template.csv": "CSV",
    "/branding/{tenant_id:str}/logo": "the tenant's logo image",
    "/admin/{tenant:str}/bulk/{job_id:str}/progress": "JSON",
    "/admin/{tenant:str}/bulk/{job_id:str}/results": "CSV",
    "/admin/{tenant:str}/reports/{file:str}": "CSV",
    "/admin/{tenant:str}/audit.csv": "CSV",
    "/docs/openapi.json": "the OpenAPI document",
}


def page_routes(settings: Settings) -> set[str]:
    """The GET routes of the app built from `settings` that may answer a page: not typed as
    JSON, CSV or the like."""
    from litestar.routes import HTTPRoute

    from guestgate.web.app import create_app

    found = set()
    with warnings.catch_warnings():  # Litestar's notes on path parameters' style
        warnings.simplefilter("ignore", DeprecationWarning)
        app = create_app(settings)
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            for handler in route.route_handlers:
                typed = str(getattr(handler.media_type, "value", handler.media_type))
                if "GET" in handler.http_methods and not typed.startswith(
                    ("application/", "text/csv")
                ):
                    found.add(route.path)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # this thread runs an event loop
        pool.submit(asyncio.run, app.state.runtime.close()).result()
    return found


def pattern(path: str) -> re.Pattern[str]:
    """The route's path as a regular expression: each {name:type} one segment or more."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "/?$")


Opened = list[tuple[str, int, str]]  # path, status and content type of each document


def watched(page: Any, watch: Watch) -> Opened:
    """The documents `page` opens from the watched origin, as it opens them; its console's
    CSP refusals go to `watch`."""
    opened: Opened = []

    def document(response: Any) -> None:
        if response.request.resource_type == "document" and response.url.startswith(watch.origin):
            kind = response.headers.get("content-type", "")
            opened.append((urlsplit(response.url).path, response.status, kind))

    page.on("response", document)
    page.on("console", watch.console)
    return opened


def check_pages(pages: set[str], opened: Opened, watch: Watch) -> None:
    """Every page route opened; each document HTML (or a redirect), none a 5xx; no request
    to another origin and none the CSP refused."""
    not_opened = sorted(
        p for p in pages if not any(pattern(p).match(path) for path, _, _ in opened)
    )
    assert not_opened == [], f"page routes this test does not open: {not_opened}"
    not_html = [o for o in opened if not 300 <= o[1] < 400 and not o[2].startswith("text/html")]
    assert not_html == []
    failed = [o for o in opened if o[1] >= 500]
    assert failed == []
    assert watch.foreign == []
    assert watch.refused == []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("every-page")
    running = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",  # a receiver on 127.0.0.1
        },
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, OFFLINE])
        try:
            yield chromium
        finally:
            chromium.close()


def keep_link(server: Server, sink: SmtpSink, caller: Caller) -> str:
    """The Keep link of a lifecycle notice a `guestgate worker` mails a sponsor."""
    member(server, SPONSOR, "Sid Sponsor")
    email = f"kept.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = caller.invite({"invitedUserEmailAddress": email, "requestedBy": SPONSOR})
    assert answer.status_code == 201, answer.text
    policy = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "Two sponsors",
        "isEnabled": True,
        "gracePeriodInDays": 14,
        "enforcementAction": {"@odata.type": f"{NS}disableOnlyEnforcementAction"},
        "rules": [{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 2}],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [0]},
    }
    made = caller.request(
        "POST", "/v1.0/identityGovernance/lifecycleWorkflows/lifecyclePolicies", json=policy
    )
    assert made.status_code == 201, made.text
    worker = subprocess.Popen(
        [*GUESTGATE, "worker", "--poll", "0.2"],
        env=server.env(),
        cwd=server.workdir,
        stderr=subprocess.DEVNULL,
    )
    try:
        [notice] = sink.wait_for(to=SPONSOR, subject_contains="need your decision")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    found = re.search(r"Keep: (\S+)", text_of(notice))
    assert found is not None
    return found.group(1)


def test_every_page_loads_only_from_guestgate(
    server: Server, sink: SmtpSink, browser: Any, tmp_path: Path
) -> None:
    routes = page_routes(
        Settings(
            database=DatabaseSettings(url=f"sqlite:///{tmp_path}/routes.db"), secret_key=b"k" * 32
        )
    )
    pages = routes - set(NOT_PAGES)

    caller = Caller.new_app(
        server,
        DEMO_TENANT,
        "User.Invite.All",
        "User.ReadWrite.All",
        "LifecyclePolicies-Guests.ReadWrite.All",
    )
    member(server, ADMIN, "Olga Origin", "Global administrator")
    guest = f"origin.{uuid.uuid4().hex[:8]}@fabrikam.example"
    invited = caller.invite(
        {"invitedUserEmailAddress": guest, "sendInvitationMessage": True, "requestedBy": ADMIN}
    )
    assert invited.status_code == 201, invited.text
    user_id = invited.json()["invitedUser"]["id"]
    receiver = Receiver().start()
    try:
        hook = caller.request("POST", "/api/webhooks", json={"url": receiver.url})
    finally:
        receiver.stop()
    assert hook.status_code == 201, hook.text
    REGISTRY.secret(hook.json()["secret"], "webhook secret")
    job = caller.request("POST", "/api/bulk/invitations", content=TEMPLATE, headers=CSV)
    assert job.status_code == 202, job.text
    app = server.create_app(DEMO_TENANT, "Origin app", "User.Read.All")
    REGISTRY.secret(app["AppSecret"], "client secret")
    keep = keep_link(server, sink, caller)

    watch = Watch(server.base_url)
    context = browser.new_context()
    watch.attach(context)
    page = context.new_page()
    opened = watched(page, watch)

    # The guest: the invitation link, the code, consent, welcome; a declined page.
    [mail] = sink.wait_for(to=guest, subject_contains="invited you")
    to_consent(page, sink, guest, redeem_link(mail))
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/welcome\?tenant="))
    tenant_id = invited.json()["invitedUser"].get("tenantId") or app["TenantID"]
    page.goto(f"{server.base_url}/redeem/declined?tenant={tenant_id}")
    # The sponsor's Keep page.
    page.goto(keep)
    assert page.inner_text("h1") == "Keep this guest?"
    # The console: signing in opens the sign-in pages (authorize, /signin/code).
    sign_in(page, server, sink, ADMIN)
    admin = f"{server.base_url}/admin/{DEMO_TENANT}"
    for path in (
        "",
        "/guests",
        f"/guests/{user_id}",
        f"/guests/bulk?action=resend&g={user_id}",
        "/invite",
        "/approvals",
        "/apps",
        f"/apps/{app['AppID']}",
        f"/apps/{app['AppID']}/secrets/new",
        "/webhooks",
        f"/webhooks/{hook.json()['id']}",
        "/activity",
        "/bulk",
        f"/bulk/{job.json()['id']}",
        "/reports",
        "/audit",
        "/lifecycle",
        "/tenant",
        "/deleted",
    ):
        page.goto(f"{admin}{path}")
    # A new secret's page, shown once: added through the app's form, as an administrator does.
    page.goto(f"{admin}/apps/{app['AppID']}")
    page.get_by_label("Description").fill("origin check")
    page.get_by_label("Expires after").select_option(label="90 days")
    page.get_by_role("button", name="Add secret").click()
    page.wait_for_url(re.compile(r"/secrets/[0-9a-f-]{36}/created$"))
    value = page.get_by_label("Client secret value").input_value()
    REGISTRY.secret(value, "client secret")
    assert value.startswith("gg_")
    assert "shown only on this page" in page.inner_text("div.secret")
    page.reload()
    assert value not in page.content()
    assert "cannot be shown again" in page.inner_text("main")
    page.goto(f"{server.base_url}/admin")
    page.goto(f"{server.base_url}/admin/callback")
    # The API docs.
    page.goto(f"{server.base_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    page.goto(f"{server.base_url}/docs/oauth2-redirect.html")
    page.goto(f"{server.base_url}/docs/no-such-page")
    page.goto(f"{server.base_url}/{DEMO_TENANT}/oauth2/v2.0/logout")
    context.close()

    check_pages(pages, opened, watch)
    # Every console page opened was the page itself, not the sign-in again.
    consoled = [o for o in opened if o[0].startswith(f"/admin/{DEMO_TENANT}")]
    assert len(consoled) >= 20, json.dumps(consoled)
