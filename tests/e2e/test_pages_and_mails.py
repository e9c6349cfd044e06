"""The guest's pages and every email in Chromium: Decline end to end, accessibility, screenshots.

A guest declines on SQLite and on PostgreSQL exactly as a person would: the link from the
email, the code from the next email, Decline on the consent page. Then the decline is
stored and audited, the requester hears of it, the old link is dead and a new invitation
works. Every page passes axe-core with no serious or critical violation, and
`test_screenshots_of_every_page_and_email` writes docs/screenshots/*.png: each page and each
email (its HTML part, shown as a mail client would), so the docs show the product as it is.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.console_browser import member
from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import GUESTGATE, ROOT, Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver, Reply

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
REQUESTER = "boss@contoso.example"  # on the demo tenant's own domain: may be told
LOGO = "https://contoso.example/logo.png"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"decline-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{workdir}/guestgate.db"
    else:
        database_url = request.getfixturevalue("postgres_url_factory")()
    server = Server(
        workdir=workdir, database_url=database_url, extra_env={"GUESTGATE_SMTP_URL": sink.url}
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def settled(page: Any) -> Any:
    """The page once its document has loaded.

    A click that submits a form returns once the next document is committed, before it is
    parsed: reading or checking it then finds no body (or no root element) yet.
    """
    page.wait_for_load_state("load")
    return page


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    settled(page)
    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def redeem_link(message: EmailMessage) -> str:
    found = re.search(r"(http://\S+ver=2\.0)", text_of(message))
    assert found is not None
    return found.group(1)


def to_consent(page: Any, sink: SmtpSink, email: str, link: str, codes: int = 1) -> None:
    """From the invitation link to the consent page, reading the code from its email."""
    page.goto(link)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/redeem/code$"))
    code_mail = sink.wait_for(codes, to=email, subject_contains="verification code")[-1]
    code = re.search(r"\b(\d{6})\b", text_of(code_mail))
    assert code is not None
    page.get_by_label("Code").fill(code.group(1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/redeem/consent$"))


def test_guest_declines_in_chromium(server: Server, sink: SmtpSink, browser: Any) -> None:
    caller = Caller.demo(server)
    email = f"decline.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = caller.invite(
        {"invitedUserEmailAddress": email, "sendInvitationMessage": True, "requestedBy": REQUESTER}
    )
    assert answer.status_code == 201, answer.text
    first = answer.json()
    [invitation] = sink.wait_for(to=email, subject_contains="invited you")
    link = redeem_link(invitation)
    page = browser.new_page()
    violations: list[str] = []

    to_consent(page, sink, email, link)
    violations += serious_violations(page)
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(r"/redeem/declined\?tenant="))
    violations += serious_violations(page)

    assert page.inner_text("h1") == "You declined the invitation"
    assert "Contoso" in page.inner_text("main")
    stored = caller.request("GET", f"/api/invitations/{first['invitationId']}").json()
    assert stored["status"] == "Declined"
    audit = json.loads(server.cli("audit", "list", "--tenant", "contoso.example", "--json").stdout)
    declines = [e for e in audit if e["action"] == "invitation.decline"]
    assert [e["target"] for e in declines] == [first["invitedUser"]["id"]]
    assert declines[0]["details"]["requesterNotice"] == "queued"
    [notice] = sink.wait_for(to=REQUESTER, subject_contains=f"{email} declined")
    assert "no longer works" in text_of(notice)

    page.goto(link)  # the old link is dead: the page any unknown link gets
    assert page.inner_text("h1") == "This invitation link is not valid"
    violations += serious_violations(page)

    again = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True})
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "PendingAcceptance"
    assert again.json()["invitedUser"]["id"] == first["invitedUser"]["id"]
    new_mail = sink.wait_for(2, to=email, subject_contains="invited you")[-1]
    assert redeem_link(new_mail) != link
    to_consent(page, sink, email, redeem_link(new_mail), codes=2)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/welcome\?tenant="))
    assert page.inner_text("h1") == "Welcome to Contoso"
    violations += serious_violations(page)
    page.close()
    status = caller.request("GET", f"/api/invitations/{again.json()['invitationId']}").json()
    assert status["status"] == "Completed"
    assert violations == []


def test_a_forged_decline_is_refused_and_changes_nothing(server: Server, sink: SmtpSink) -> None:
    caller = Caller.demo(server)
    email = f"forged.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = caller.invite({"invitedUserEmailAddress": email, "requestedBy": REQUESTER})
    assert answer.status_code == 201, answer.text
    guest = Guest(server)
    landing = guest.open(answer.json()["inviteRedeemUrl"])
    assert guest.submit(landing, "/redeem/start").status_code == 303
    code_page = guest.http.get("/redeem/code")
    verified = guest.submit(code_page, "/redeem/verify", code=latest_code(sink, email, 1))
    assert verified.headers["location"] == "/redeem/consent"
    consent = guest.http.get("/redeem/consent")
    csrf = re.search(r'name="csrf" value="([^"]+)"', consent.text)
    assert csrf is not None
    forged = [
        guest.http.post("/redeem/decline", data={"csrf": "0" * 64}),  # no valid token
        guest.http.post("/redeem/decline", data={}),
        guest.http.post(  # the right token, sent by another site
            "/redeem/decline",
            data={"csrf": csrf.group(1)},
            headers={"Origin": "https://evil.example"},
        ),
        guest.http.post(  # not a form the page sends
            "/redeem/decline",
            content=f"csrf={csrf.group(1)}",
            headers={"Content-Type": "text/plain"},
        ),
    ]
    assert [f.status_code for f in forged] == [403, 403, 403, 403]
    assert all("This request was refused" in f.text for f in forged)
    stored = caller.request("GET", f"/api/invitations/{answer.json()['invitationId']}").json()
    assert stored["status"] == "PendingAcceptance"
    audit = server.cli("audit", "list", "--tenant", "contoso.example", "--json").stdout
    assert answer.json()["invitedUser"]["id"] not in [
        e["target"] for e in json.loads(audit) if e["action"] == "invitation.decline"
    ]
    declined = guest.submit(consent, "/redeem/decline")
    assert declined.status_code == 303
    assert declined.headers["location"].startswith("/redeem/declined?tenant=")
    guest.close()


@pytest.fixture(scope="module")
def shots_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("screenshots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_MAIL_FROM": "invitations@mail.contoso.example",
            "GUESTGATE_PAGE_FAILURES_PER_10_MINUTES": "8",  # to show the page that says so
            "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver that turns itself off
        },
    )
    server.start()
    server.cli(
        "tenant",
        "set",
        "contoso.example",
        "--privacy-url",
        "https://contoso.example/privacy",
        "--logo-url",
        LOGO,
    )
    yield server
    server.stop()


class Shots:
    """Screenshots into docs/screenshots, and axe-core's verdict on every page shot."""

    def __init__(self, browser: Any) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.context = browser.new_context(viewport={"width": 720, "height": 640})
        self.page = self.context.new_page()
        self.names: list[str] = []
        self.violations: list[str] = []

    def page_shot(self, name: str) -> None:
        self.violations += serious_violations(self.page)
        self._save(self.page, name)

    def mail_shot(
        self, name: str, message: EmailMessage, logo: bytes, shown: dict[str, str]
    ) -> None:
        """The email's HTML part as a mail client shows it, the tenant's logo served to it;
        `shown`: test addresses replaced by the ones a deployment would have."""
        mail = self.context.new_page()
        mail.route(LOGO, lambda route: route.fulfill(body=logo, content_type="image/png"))
        html = html_of(message)
        for test_value, real in shown.items():
            html = html.replace(test_value, real)
        mail.set_content(steady(html), wait_until="load")
        self._save(mail, name)
        mail.close()

    def _save(self, page: Any, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.names.append(name)


UUID = "2794ae53-0b5f-4c73-8198-5502fac6d1d8"


def steady(html: str) -> str:
    """The mail with a fixed one-time code and date, so its picture in docs/ changes only
    when the design does, not on every run."""
    html = re.sub(r"(?<![#\w])\d{6}(?!\w)", "123456", html)  # not a colour such as #555555
    html = re.sub(r"\b20\d\d-\d\d-\d\d\b", "2026-12-31", html)
    html = re.sub(r"http://127\.0\.0\.1:\d+", "https://guestgate.contoso.example", html)
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", UUID, html)
    html = re.sub(r"attest\?t=[\w.~%-]+", "attest?t=eyJhdHRlc3QiOiJsaW5rIn0.c2lnbmVk", html)
    return re.sub(r"ticket=[\w-]+", "ticket=Qm9vay1hLXRpY2tldC1oZXJl", html)


def logo_png(browser: Any) -> bytes:
    """A stand-in company logo, drawn by the browser itself."""
    page = browser.new_page(viewport={"width": 96, "height": 96})
    page.set_content(
        '<body style="margin:0"><div style="width:96px;height:96px;background:#5c2e91;'
        "color:#fff;font:600 44px sans-serif;display:flex;align-items:center;"
        'justify-content:center;border-radius:18px">C</div></body>'
    )
    png: bytes = page.screenshot(omit_background=True)
    page.close()
    return png


def test_screenshots_of_every_page_and_email(
    shots_server: Server, sink: SmtpSink, browser: Any
) -> None:
    server = shots_server
    caller = Caller.demo(server)
    shots = Shots(browser)
    page = shots.page
    logo = logo_png(browser)
    logo_file = server.workdir / "contoso-logo.png"
    logo_file.write_bytes(logo)
    server.cli("tenant", "set", "contoso.example", "--logo", str(logo_file))  # for the pages
    mails: dict[str, Callable[[], EmailMessage]] = {}
    shown: dict[str, str] = {}

    def invite(email: str, **extra: Any) -> str:
        body = {"invitedUserEmailAddress": email, "sendInvitationMessage": True, **extra}
        answer = caller.invite(body)
        assert answer.status_code == 201, answer.text
        return redeem_link(sink.wait_for(to=email, subject_contains="invited you")[-1])

    accepting = "ada.lovelace@fabrikam.example"  # its own database: fixed names
    link = invite(
        accepting,
        requestedBy=REQUESTER,
        invitedUserDisplayName="Ada Lovelace",
        invitedUserMessageInfo={"customizedMessageBody": "Welcome aboard! See you on Monday."},
    )
    mails["mail-invitation"] = lambda: sink.wait_for(to=accepting, subject_contains="invited")[0]
    mails["mail-requester-invited"] = lambda: sink.wait_for(
        to=REQUESTER, subject_contains=f"{accepting} has been invited"
    )[0]
    page.goto(link)
    shots.page_shot("page-landing")
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/redeem/code$"))
    shots.page_shot("page-code")
    mails["mail-code"] = lambda: sink.wait_for(to=accepting, subject_contains="code")[0]
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    shots.page_shot("page-code-wrong")
    code = re.search(r"\b(\d{6})\b", text_of(mails["mail-code"]()))
    assert code is not None
    page.get_by_label("Code").fill(code.group(1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/redeem/consent$"))
    assert page.get_by_role("link", name="its privacy statement").count() == 1
    shots.page_shot("page-consent")
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/welcome\?tenant="))
    shots.page_shot("page-welcome")
    page.goto(f"{server.base_url}/redeem/consent")  # a second tab, still on the consent page
    page.get_by_role("button", name="Decline").click()
    assert page.inner_text("h1") == "Invitation already accepted"
    shots.page_shot("page-decline-after-accept")

    # A guest who accepted signs in to one of the tenant's apps with an emailed code.
    made = json.loads(
        server.cli(
            "app",
            "create",
            "--tenant",
            "contoso.example",
            "--name",
            "Contoso Projects",
            "--redirect-uri",
            "https://app.contoso.example/callback",
            "--json",
        ).stdout
    )
    REGISTRY.secret(made["AppSecret"], "client secret")
    page.context.clear_cookies()
    page.goto(
        f"{server.base_url}/contoso.example/oauth2/v2.0/authorize?"
        + urlencode(
            {
                "client_id": made["AppID"],
                "response_type": "code",
                "redirect_uri": "https://app.contoso.example/callback",
                "scope": "openid profile",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            }
        )
    )
    assert page.inner_text("h1") == "Sign in"
    shots.page_shot("page-signin")
    page.get_by_label("Email address").fill(accepting)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/signin/code$"))
    shots.page_shot("page-signin-code")
    page.get_by_label("Code").fill("000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "not right" in page.inner_text("[role=alert]")
    shots.page_shot("page-signin-code-wrong")
    page.context.clear_cookies()
    page.goto(f"{server.base_url}/signin/code")  # the sign-in's cookie is gone
    assert page.inner_text("h1") == "This sign-in has ended"
    shots.page_shot("page-signin-ended")

    declining = "grace.hopper@fabrikam.example"
    declined_link = invite(declining, requestedBy=REQUESTER)
    page.context.clear_cookies()
    to_consent(page, sink, declining, declined_link)
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(r"/redeem/declined"))
    shots.page_shot("page-declined")
    mails["mail-requester-declined"] = lambda: sink.wait_for(
        to=REQUESTER, subject_contains=f"{declining} declined"
    )[0]
    page.goto(declined_link)
    assert page.inner_text("h1") == "This invitation link is not valid"
    assert page.inner_text("main").count("This invitation link is not valid") == 1
    shots.page_shot("page-invalid-link")
    page.context.clear_cookies()
    page.goto(f"{server.base_url}/redeem/consent")
    shots.page_shot("page-session-ended")
    expiring = "linus.torvalds@fabrikam.example"
    expired_link = invite(expiring)
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        # The lifetime is whole days: move this invitation's expiry into the past instead.
        db.execute(
            "UPDATE invitations SET expires_at = '2026-01-01T00:00:00.000000Z' WHERE email = ?",
            (expiring,),
        )
    page.goto(expired_link)
    assert page.inner_text("h1") == "This invitation has expired"
    shots.page_shot("page-expired-link")
    with page.expect_navigation():  # the submit navigates; wait for that page, not this one
        page.evaluate(  # a form another site might post: no CSRF token
            """() => { const f = document.createElement("form"); f.method = "post";
            f.action = "/redeem/decline"; document.body.append(f); f.submit(); }"""
        )
    assert page.inner_text("h1") == "This request was refused"
    shots.page_shot("page-refused")
    for _ in range(10):  # bad links until the address is told to wait
        answer = page.goto(f"{server.base_url}/redeem/?tenant=x&user=y&ticket=z")
        if answer is not None and answer.status == 429:
            break
    assert page.inner_text("h1") == "Too many attempts"
    shots.page_shot("page-too-many-attempts")

    bulk = caller.request(
        "POST",
        "/api/InviteGuests",
        json={
            "invitations": [
                {"invitedUserEmailAddress": f"team{i}@northwind.example"}
                | {"requestedBy": REQUESTER}
                for i in range(3)
            ]
        },
    )
    assert bulk.status_code == 200, bulk.text
    mails["mail-requester-summary"] = lambda: sink.wait_for(
        to=REQUESTER, subject_contains="at your request"
    )[0]

    # A webhook receiver answers 410 Gone: the endpoint is turned off, its administrators told.
    admin = "ines.admin@contoso.example"
    member(server, admin, "Ines Admin", "Global administrator")
    receiver = Receiver(default=Reply(410)).start()
    try:
        hooks = Caller.new_app(server, "contoso.example", "User.Invite.All", "User.ReadWrite.All")
        made_hook = hooks.request("POST", "/api/webhooks", json={"url": receiver.url})
        assert made_hook.status_code == 201, made_hook.text
        REGISTRY.secret(made_hook.json()["secret"], "webhook secret")
        invite("alan.turing@fabrikam.example")
        disabled = sink.wait_for(to=admin, subject_contains="webhook endpoint was turned off")
        mails["mail-webhook-disabled"] = lambda: disabled[0]
        shown[receiver.url] = "https://hooks.contoso.example/guestgate"
    finally:
        receiver.stop()

    held = approvals_and_lifecycle(server, sink, mails)
    attestation_pages(shots, held)

    for name, message in mails.items():
        shots.mail_shot(name, message(), logo, shown)
    shots.context.close()
    assert shots.violations == []
    assert sorted(p.stem for p in SCREENSHOTS.glob("*.png")) == sorted(shots.names)


HELD_DOMAIN = "tailspin.example"  # invitations to it wait for an approver
SPONSOR = "sam.sponsor@contoso.example"
NS = "#microsoft.graph.identityGovernance."


def approvals_and_lifecycle(
    server: Server, sink: SmtpSink, mails: dict[str, Callable[[], EmailMessage]]
) -> list[str]:
    """Approval outcomes told to the requester (approved, declined, expired unapproved) and
    the lifecycle notices (a sponsor's summary, a guest's own), sent by a `guestgate worker`;
    answers the Keep and Remove links of the sponsor's notice."""
    admin = Caller.new_app(
        server,
        "contoso.example",
        "User.Invite.All",
        "Policy.ReadWrite.Authorization",
        "User.ReadWrite.All",
        "LifecyclePolicies-Guests.ReadWrite.All",
    )
    rule = {"guestgateApproval": {"requiredFor": [HELD_DOMAIN], "requestLifetimeDays": 7}}
    answer = admin.request("PATCH", "/api/policies/invitations", json=rule)
    assert answer.status_code == 200, answer.text
    asked: dict[str, str] = {}
    for name in ("approved", "declined", "expired"):
        email = f"{name}.guest@{HELD_DOMAIN}"
        answer = admin.invite(
            {"invitedUserEmailAddress": email, "sendInvitationMessage": True}
            | {"requestedBy": REQUESTER}
        )
        assert answer.status_code == 202, answer.text
        asked[name] = answer.json()["requestId"]
    approve = {"comment": "A known partner: the Q3 audit."}
    answer = admin.request("POST", f"/api/approvals/{asked['approved']}/approve", json=approve)
    assert answer.status_code == 200, answer.text
    decline = {"comment": "Please use the partner portal for suppliers."}
    answer = admin.request("POST", f"/api/approvals/{asked['declined']}/decline", json=decline)
    assert answer.status_code == 200, answer.text
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        db.execute(  # its week has passed: the worker's sweep lets it lapse
            "UPDATE approval_requests SET expires_at = '2026-01-01T00:00:00.000000Z' WHERE id = ?",
            (asked["expired"],),
        )

    member(server, SPONSOR, "Sam Sponsor")
    for email, name in (
        ("katherine.johnson@fabrikam.example", "Katherine Johnson"),
        ("margaret.hamilton@fabrikam.example", "Margaret Hamilton"),
    ):
        answer = admin.invite(
            {"invitedUserEmailAddress": email, "invitedUserDisplayName": name}
            | {"requestedBy": SPONSOR}
        )
        assert answer.status_code == 201, answer.text
    policy = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "Every guest has two sponsors",
        "isEnabled": True,
        "gracePeriodInDays": 14,
        "enforcementAction": {"@odata.type": f"{NS}disableOnlyEnforcementAction"},
        "rules": [{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 2}],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [0]},
    }
    made = admin.request(
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
        [lapsed] = sink.wait_for(to=REQUESTER, subject_contains="expired unapproved")
        [sponsor] = sink.wait_for(to=SPONSOR, subject_contains="need your decision")
        guest = "katherine.johnson@fabrikam.example"
        [own] = sink.wait_for(to=guest, subject_contains="guest access will end")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    mails["mail-approval-approved"] = lambda: sink.wait_for(
        to=REQUESTER, subject_contains=f"approved.guest@{HELD_DOMAIN} was approved"
    )[0]
    mails["mail-approval-declined"] = lambda: sink.wait_for(
        to=REQUESTER, subject_contains=f"declined.guest@{HELD_DOMAIN} was declined"
    )[0]
    mails["mail-approval-expired"] = lambda: lapsed
    mails["mail-lifecycle-sponsor"] = lambda: sponsor
    mails["mail-lifecycle-guest"] = lambda: own
    text = text_of(sponsor)
    assert "Katherine Johnson <katherine.johnson@fabrikam.example>" in text
    return re.findall(r"(?:Keep|Remove now): (\S+)", text)


def attestation_pages(shots: Shots, links: list[str]) -> None:
    """The page a notice's Keep or Remove link opens, what confirming it says, and the page a
    used link gets."""
    keep, remove = links[0], links[1]  # the first guest's pair
    page = shots.page
    page.goto(keep)
    assert page.inner_text("h1") == "Keep this guest?"
    shots.page_shot("page-attest-keep")
    page.get_by_role("button", name="Keep").click()
    assert page.inner_text("h1") == "Done"
    shots.page_shot("page-attest-done")
    page.goto(remove)
    assert page.inner_text("h1") == "Remove this guest?"
    shots.page_shot("page-attest-remove")
    page.goto(keep)
    page.get_by_role("button", name="Keep").click()
    assert page.inner_text("h1") == "This link cannot be used"
    assert "used already" in page.inner_text("main")
    shots.page_shot("page-attest-used")
