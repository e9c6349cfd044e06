"""The admin console in Chromium, on SQLite and PostgreSQL, against a running server.

An administrator signs in through guestgate's own provider (the mailed code from the real
SMTP sink), invites; the list shows the guest Pending; the guest redeems in another browser
context; the list shows Accepted; a resend from a profile kills the old link. A reader's
posts are refused, a member without a role gets 403, a sponsor cannot open another's guest
by URL. axe-core checks every page.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import listed, member, shown_count, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT, accepted_guest
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
EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-{request.param}")
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


def _guest_count(caller: Caller, flt: str) -> int:
    answer = caller.request("GET", "/v1.0/users/$count", params={"$filter": flt}, headers=EVENTUAL)
    assert answer.status_code == 200, answer.text
    return int(answer.text)


def _invite_in_console(page: Any, email: str, name: str) -> None:
    page.get_by_role("link", name="Invite", exact=True).click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Send the invitation email").check()
    page.get_by_role("button", name="Invite", exact=True).click()
    assert page.inner_text("h1") == "Invitation sent"


def test_an_admin_invites_the_guest_accepts_and_a_resend_kills_the_old_link(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    caller = Caller.demo(server)
    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, admin)
    assert page.inner_text("h1") == "Guests", page.inner_text("main")
    violations += serious_violations(page)
    assert shown_count(page) == _guest_count(caller, "userType eq 'Guest'")

    guest = _address("ada", "fabrikam.example")
    _invite_in_console(page, guest, "Ada Lovelace")
    violations += serious_violations(page)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?q={guest}")
    assert listed(page) == {guest: "Pending"}
    assert page.get_by_role("cell", name=admin).count() == 1  # the requester: the admin
    audit = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    created = next(e for e in audit if e["action"] == "invitation.create")
    assert created["actor"] == admin
    assert created["details"]["email"] == guest

    link = redeem_link(sink.wait_for(to=guest, subject_contains="invited you")[-1])
    other = chromium.new_context()  # the guest's own browser
    guest_page = other.new_page()
    to_consent(guest_page, sink, guest, link)
    guest_page.get_by_role("button", name="Accept").click()
    guest_page.wait_for_url(re.compile(r"/welcome\?tenant="))
    other.close()
    page.reload()
    assert listed(page) == {guest: "Accepted"}
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?state=Accepted")
    assert shown_count(page) == _guest_count(
        caller, "userType eq 'Guest' and externalUserState eq 'Accepted'"
    )
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests")
    assert shown_count(page) == _guest_count(caller, "userType eq 'Guest'")

    pending = _address("grace", "fabrikam.example")
    _invite_in_console(page, pending, "Grace Hopper")
    old_link = redeem_link(sink.wait_for(to=pending, subject_contains="invited you")[-1])
    page.get_by_role("link", name="Open the guest").click()
    assert page.inner_text("h1") == "Grace Hopper"
    violations += serious_violations(page)
    page.get_by_role("button", name="Resend invitation").click()
    assert "The link in the previous one stops working" in page.inner_text("main")
    violations += serious_violations(page)
    page.get_by_role("button", name="Yes, resend").click()
    assert "A new invitation was sent" in page.inner_text("main")
    new_link = redeem_link(sink.wait_for(2, to=pending, subject_contains="invited you")[-1])
    assert new_link != old_link
    probe = chromium.new_context().new_page()
    probe.goto(old_link)
    assert probe.inner_text("h1") == "This invitation link is not valid"
    probe.goto(new_link)
    assert probe.get_by_role("button", name="Send code").count() == 1
    probe.context.close()
    audit = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    resent = [e for e in audit if e["action"] == "invitation.resend"]
    assert [e["actor"] for e in resent] == [admin]
    assert "invitation.resend" in page.inner_text("main")  # the profile's audit entries

    page.get_by_role("button", name="Revoke invitation").click()
    page.get_by_role("button", name="Yes, revoke").click()
    assert "The invitation was revoked" in page.inner_text("main")
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?state=Revoked&q={pending}")
    assert listed(page) == {pending: "Revoked"}
    violations += serious_violations(page)
    context.close()
    assert violations == []


def test_a_reader_sees_everything_but_every_post_is_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    reader = _address("reader")
    member(server, reader, "Riley Reader", "Reader")
    caller = Caller.demo(server)
    guest = _address("read", "northwind.example")
    answer = caller.invite({"invitedUserEmailAddress": guest, "sendInvitationMessage": False})
    assert answer.status_code == 201, answer.text
    user_id = answer.json()["invitedUser"]["id"]
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, reader)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?q={guest}")
    assert listed(page) == {guest: "Pending"}
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{user_id}")
    assert page.get_by_role("button", name="Resend invitation").count() == 0
    assert page.get_by_role("link", name="Invite", exact=True).count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    for path, form in (
        (f"guests/{user_id}/resend", {"csrf": csrf, "confirmed": "yes"}),
        (f"guests/{user_id}/revoke", {"csrf": csrf, "confirmed": "yes"}),
        ("invite", {"csrf": csrf, "email": _address("x", "fabrikam.example"), "send": "yes"}),
    ):
        refused = page.request.post(f"{server.base_url}/admin/{DEMO_TENANT}/{path}", form=form)
        assert refused.status == 403, (path, refused.text())
    stored = caller.request("GET", f"/api/invitations/{answer.json()['invitationId']}").json()
    assert stored["status"] == "PendingAcceptance"
    # No CSRF token, or another site's origin: refused before any role is looked at.
    forged = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/{user_id}/revoke", form={"confirmed": "yes"}
    )
    assert forged.status == 403
    context.close()


def test_a_member_without_a_role_gets_a_403_page(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    nobody = _address("norole")
    member(server, nobody, "Noel Norole")
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, nobody)
    assert answer.status == 403
    assert page.inner_text("h1") == "No access to the admin console"
    assert nobody in page.inner_text("main")
    assert serious_violations(page) == []
    context.close()


def test_a_sponsor_sees_only_their_guests_and_another_sponsors_by_url_is_403(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    mine, theirs = _address("sponsor"), _address("other")
    member(server, mine, "Sam Sponsor", "Sponsor")
    member(server, theirs, "Olive Other", "Sponsor")
    caller = Caller.demo(server)
    ids = {}
    for requester in (mine, theirs):
        guest = _address("g", "fabrikam.example")
        answer = caller.invite({"invitedUserEmailAddress": guest, "requestedBy": requester})
        assert answer.status_code == 201, answer.text
        ids[requester] = (guest, answer.json()["invitedUser"]["id"])
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, mine)
    assert listed(page) == {ids[mine][0]: "Pending"}
    assert shown_count(page) == 1
    own = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids[mine][1]}")
    assert own is not None
    assert own.status == 200
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids[theirs][1]}")
    assert refused is not None
    assert refused.status == 403
    assert ids[theirs][0] not in page.inner_text("main")
    assert "neither sponsor nor requested" in page.inner_text("main")
    post = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids[theirs][1]}/revoke",
        form={"csrf": csrf, "confirmed": "yes"},
    )
    assert post.status == 403
    context.close()


def test_the_session_cookie_is_httponly_lax_stored_hashed_and_ends_at_sign_out(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("cookie")
    member(server, admin, "Cora Cookie", "User administrator")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin)
    [session] = [c for c in context.cookies() if c["name"] == "gg_console"]  # plain http
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["path"] == "/"
    if server.database_url.startswith("sqlite"):
        with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
            stored = [r[0] for r in db.execute("SELECT session_hash FROM console_sessions")]
        assert session["value"] not in stored
        assert any(len(h) == 64 for h in stored)
    page.get_by_role("button", name="Sign out").click()
    assert page.inner_text("h1") == "You signed out"
    reused = context.request.get(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests",
        headers={"Cookie": f"gg_console={session['value']}"},
        max_redirects=0,
    )
    assert reused.status == 303  # to the sign-in again: the session ended
    assert "/oauth2/v2.0/authorize" in reused.headers["location"]
    context.close()


def test_hostile_console_input_is_a_clear_4xx_never_a_500(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("hostile")
    member(server, admin, "Hal Hostile", "Global administrator")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin)
    base = f"{server.base_url}/admin/{DEMO_TENANT}"
    cases = {
        f"{base}/guests?state=Lost": (400, "There is no state"),
        f"{base}/guests?sort=password": (400, "cannot be sorted"),
        f"{base}/guests?order=sideways": (400, "asc or desc"),
        f"{base}/guests?q={'x' * 129}": (400, "at most 128"),
        f"{base}/guests?q=%00": (400, "at most 128"),
        f"{base}/guests?after=bm90IGpzb24": (400, "page link is not valid"),
        f"{base}/guests?after=WyJ4IiwgIm5vdC1hLWd1aWQiXQ": (400, "page link is not valid"),
        f"{base}/guests/not-a-guid%00": (404, "no such guest"),
        f"{base}/guests/{uuid.uuid4()}": (404, "no such guest"),
        f"{server.base_url}/admin/nowhere.example/guests": (404, "no organization"),
        f"{server.base_url}/admin/callback?code=x&state=y": (400, "sign-in has ended"),
    }
    for url, (status, text) in cases.items():
        answer = page.request.get(url, max_redirects=0)
        assert (answer.status, text in answer.text()) == (status, True), (url, answer.text())
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    for form in (
        {"csrf": csrf, "email": "not an address", "send": "yes"},
        {"csrf": csrf, "email": _address("r", "fabrikam.example"), "redirect": "javascript:x"},
        {"csrf": csrf, "email": "a\x00@fabrikam.example"},
    ):
        answer = page.request.post(f"{base}/invite", form=form)
        assert answer.status == 400, (form, answer.text())
        assert 'class="error"' in answer.text()
    foreign = page.request.post(
        f"{base}/invite",
        form={"csrf": csrf, "email": _address("o", "fabrikam.example")},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status == 403
    context.close()


def test_role_commands_name_each_problem_and_change_nothing(server: Server, sink: SmtpSink) -> None:
    admin = _address("roles")
    member(server, admin, "Rory Roles")
    guest, _ = accepted_guest(server, sink)

    def role(*args: str) -> Any:
        return server.cli("role", *args, "--tenant", DEMO_TENANT, check=False)

    refused = {
        "UnknownRole": role("assign", "--user", admin, "--role", "Owner"),
        "UserNotFound": role("assign", "--user", _address("ghost"), "--role", "Reader"),
        "GuestCannotHoldRole": role("assign", "--user", guest, "--role", "Reader"),
        "RoleNotHeld": role("remove", "--user", admin, "--role", "Reader"),
        "InvalidUser": role("assign", "--user", "not-an-address", "--role", "Reader"),
    }
    for code, answer in refused.items():
        assert answer.returncode == 1, (code, answer.stdout)
        assert code in answer.stderr, (code, answer.stderr)
    assert "Owner" in refused["UnknownRole"].stderr
    assert "Global administrator" in refused["UnknownRole"].stderr
    listed_roles = json.loads(role("list", "--json").stdout)
    assert admin not in [r["user"] for r in listed_roles]
    assigned = json.loads(
        role("assign", "--user", admin, "--role", "guest inviter", "--json").stdout
    )
    assert (assigned["role"], assigned["changed"]) == ("Guest inviter", True)
    again = json.loads(role("assign", "--user", admin, "--role", "GuestInviter", "--json").stdout)
    assert again["changed"] is False
    rows = [r for r in json.loads(role("list", "--json").stdout) if r["user"] == admin]
    assert [r["role"] for r in rows] == ["Guest inviter"]
    assert role("remove", "--user", admin, "--role", "Guest inviter").returncode == 0
    assert admin not in [r["user"] for r in json.loads(role("list", "--json").stdout)]


def test_a_guest_signing_in_to_the_console_gets_a_403_page(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    guest, _ = accepted_guest(server, sink)
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, guest)
    assert answer.status == 403
    assert f"{guest} is a guest" in page.inner_text("main")
    context.close()


def test_a_reader_who_sponsors_sees_every_guest_but_changes_only_its_own(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    both = _address("readsponsor")
    member(server, both, "Rae Both", "Reader")
    server.cli("role", "assign", "--tenant", DEMO_TENANT, "--user", both, "--role", "Sponsor")
    caller = Caller.demo(server)
    ids = {}
    for requester in (both, None):
        body = {"invitedUserEmailAddress": _address("rs", "fabrikam.example")}
        answer = caller.invite(body | ({"requestedBy": requester} if requester else {}))
        assert answer.status_code == 201, answer.text
        ids[requester] = answer.json()["invitedUser"]["id"]
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, both)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids[None]}")
    assert page.get_by_role("button", name="Revoke invitation").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids[None]}/revoke",
        form={"csrf": csrf, "confirmed": "yes"},
    )
    assert refused.status == 403
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests/{ids[both]}")
    page.get_by_role("button", name="Revoke invitation").click()
    page.get_by_role("button", name="Yes, revoke").click()
    assert "The invitation was revoked" in page.inner_text("main")
    context.close()
