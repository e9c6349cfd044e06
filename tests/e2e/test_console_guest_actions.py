"""The console's guest actions in Chromium, on SQLite and PostgreSQL: the "pending longer
than N days" filter (its count equals the API's $count), bulk revoke of a selection, and on a
profile delete, edit display name and reset redemption; a sponsor cannot act on another's
guest, a reader's posts and posts without the form's CSRF token are refused. axe-core checks
every new page state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.console_browser import listed, member, shown_count, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import redeem_link, serious_violations

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
    workdir: Path = tmp_path_factory.mktemp(f"console-actions-{request.param}")
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


def _sql(server: Server, sql: str, *params: str) -> None:
    url = server.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql, params)
        return
    with psycopg.connect(url) as pg:
        pg.execute(sql.replace("?", "%s").encode(), params)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _guest_count(caller: Caller, flt: str) -> int:
    answer = caller.request("GET", "/v1.0/users/$count", params={"$filter": flt}, headers=EVENTUAL)
    assert answer.status_code == 200, answer.text
    return int(answer.text)


def _invite(caller: Caller, email: str, name: str, requester: str | None = None) -> str:
    body: dict[str, Any] = {
        "invitedUserEmailAddress": email,
        "invitedUserDisplayName": name,
        "sendInvitationMessage": True,
    }
    if requester:
        body["requestedBy"] = requester
    answer = caller.invite(body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["invitedUser"]["id"])


def _link_status(server: Server, link: str) -> int:
    with httpx.Client(verify=False) as client:
        return client.get(link).status_code


def test_pending_longer_than_n_days_counts_as_the_api_and_a_bulk_revoke_kills_the_links(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    caller = Caller.demo(server)
    domain = f"old{uuid.uuid4().hex[:6]}.example"
    emails = [_address(f"g{i}", domain) for i in range(5)]
    ids = {e: _invite(caller, e, f"Guest {i}") for i, e in enumerate(emails)}
    links = {
        e: redeem_link(sink.wait_for(to=e, subject_contains="invited you")[-1]) for e in emails
    }
    old = _stamp(datetime.now(UTC) - timedelta(days=40))
    for email in emails[:3]:
        _sql(server, "UPDATE users SET created_at = ? WHERE id = ?", old, ids[email])
        _sql(server, "UPDATE invitations SET created_at = ? WHERE user_id = ?", old, ids[email])
        # The guest list's copy of the latest invitation (adapters/sql/invitations.py) too.
        _sql(server, "UPDATE users SET invited_at = ? WHERE id = ?", old, ids[email])

    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, admin)
    page.get_by_label("Domain").fill(domain)
    page.get_by_label("Pending longer than (days)").fill("30")
    page.get_by_role("button", name="Apply").click()
    assert set(listed(page)) == set(emails[:3])
    assert shown_count(page) == 3
    violations += serious_violations(page)
    # Without the domain: every guest pending for 30 days, as the API counts them.
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?pending=30")
    cutoff = (datetime.now(UTC) - timedelta(days=35)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shown_count(page) == _guest_count(
        caller,
        "userType eq 'Guest' and externalUserState eq 'PendingAcceptance'"
        f" and createdDateTime le {cutoff}",
    )
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?pending=30&state=Accepted")
    assert shown_count(page) == 0  # the filters combine
    for bad in ("-1", "x", "3651", "99999"):
        answer = page.request.get(f"{server.base_url}/admin/{DEMO_TENANT}/guests?pending={bad}")
        assert answer.status == 400, bad
        assert "whole number of days" in answer.text()

    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?domain={domain}&sort=email&order=asc")
    chosen = sorted(emails)[:3]
    for email in chosen:
        page.get_by_label(f"Select Guest {emails.index(email)}").check()
    page.get_by_role("button", name="Revoke selected").click()
    assert page.inner_text("h1") == "Revoke 3 guests?"
    for email in chosen:
        assert email in page.inner_text("main")
    violations += serious_violations(page)
    page.get_by_role("button", name="Yes, revoke 3 guests").click()
    assert page.inner_text("h1") == "Revoke: results"
    assert "3 of 3 done." in page.inner_text("#summary")
    violations += serious_violations(page)
    for email in emails:
        assert _link_status(server, links[email]) == (404 if email in chosen else 200), email
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?domain={domain}&state=Revoked")
    assert set(listed(page)) == set(chosen)
    audit = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    revoked = [e for e in audit if e["action"] == "invitation.revoke"]
    assert sorted(e["target"] for e in revoked) == sorted(ids[e] for e in chosen)
    assert {e["actor"] for e in revoked} == {admin}
    # A resend of revoked invitations: each guest's own outcome, named.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    again = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/bulk",
        form={"csrf": csrf, "action": "resend", "confirmed": "yes"}
        | {f"g:{ids[e]}": "on" for e in chosen[:2]},
    )
    assert again.status == 200
    assert "0 of 2 done." in again.text()
    assert again.text().count("Not done") == 2
    too_many = {f"g:{uuid.uuid4()}": "on" for _ in range(101)}
    answer = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/guests/bulk",
        form={"csrf": csrf, "action": "revoke"} | too_many,
    )
    assert answer.status == 400
    assert "at most 100 guests" in answer.text()
    for form in ({"action": "revoke"}, {"action": "explode", f"g:{ids[emails[3]]}": "on"}):
        answer = page.request.post(
            f"{server.base_url}/admin/{DEMO_TENANT}/guests/bulk", form={"csrf": csrf} | form
        )
        assert answer.status == 400, form
    context.close()
    assert violations == []


def test_a_profile_renames_resets_the_redemption_and_deletes_the_guest(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Uma Useradmin", "User administrator")
    caller = Caller.demo(server)
    guest = _address("ada", "fabrikam.example")
    user_id = _invite(caller, guest, "Ada Lovelace")
    old_link = redeem_link(sink.wait_for(to=guest, subject_contains="invited you")[-1])
    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, admin, f"guests/{user_id}")
    assert page.inner_text("h1") == "Ada Lovelace"

    page.get_by_role("button", name="Edit display name").click()
    violations += serious_violations(page)
    page.get_by_label("New display name").fill("Ada King")
    page.get_by_role("button", name="Save display name").click()
    assert page.inner_text("h1") == "Ada King"
    assert "The display name was changed" in page.inner_text("main")
    shown = caller.request("GET", f"/v1.0/users/{user_id}").json()
    assert shown["displayName"] == "Ada King"
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    for name in ("", " ", "x" * 257, "a\x00b"):
        answer = page.request.post(
            f"{server.base_url}/admin/{DEMO_TENANT}/guests/{user_id}/rename",
            form={"csrf": csrf, "confirmed": "yes", "name": name},
        )
        assert answer.status == 400, name
        assert "display name" in answer.text()
    assert caller.request("GET", f"/v1.0/users/{user_id}").json()["displayName"] == "Ada King"

    page.get_by_role("button", name="Reset redemption").click()
    assert "must accept it again" in page.inner_text("main")
    violations += serious_violations(page)
    page.get_by_role("button", name="Yes, reset redemption").click()
    assert "The redemption was reset" in page.inner_text("main")
    violations += serious_violations(page)
    new_link = redeem_link(sink.wait_for(2, to=guest, subject_contains="invited you")[-1])
    assert new_link != old_link
    assert f"user={user_id}" in new_link  # the same user object
    assert _link_status(server, old_link) == 404
    assert _link_status(server, new_link) == 200

    page.get_by_role("button", name="Delete guest").click()
    assert "kept in Deleted guests for 30 days" in page.inner_text("main")
    violations += serious_violations(page)
    page.get_by_role("button", name="Yes, delete the guest").click()
    assert page.inner_text("h1") == "Guests"
    assert "The guest was deleted" in page.inner_text("main")
    violations += serious_violations(page)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests?q={guest}")
    assert listed(page) == {}
    assert caller.request("GET", f"/v1.0/users/{user_id}").status_code == 404
    assert _link_status(server, new_link) == 404
    audit = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    mine = [(e["action"], e["actor"]) for e in audit if e["target"] == user_id]
    for action in ("user.update", "invitation.reinvite", "user.delete"):
        assert (action, admin) in mine, (action, mine)
    context.close()
    assert violations == []


def test_a_sponsor_cannot_act_on_anothers_guest_and_a_readers_posts_are_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    mine, theirs, reader = _address("sponsor"), _address("other"), _address("reader")
    member(server, mine, "Sam Sponsor", "Sponsor")
    member(server, theirs, "Olive Other", "Sponsor")
    member(server, reader, "Riley Reader", "Reader")
    caller = Caller.demo(server)
    own = _invite(caller, _address("own", "fabrikam.example"), "Own Guest", mine)
    other = _invite(caller, _address("oth", "fabrikam.example"), "Other Guest", theirs)
    base = f"{server.base_url}/admin/{DEMO_TENANT}"
    for email, allowed in ((mine, True), (reader, False)):
        context = chromium.new_context()
        page = context.new_page()
        sign_in(page, server, sink, email, f"guests/{own}")
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        targets = [other] if allowed else [own, other]
        for user_id in targets:
            for action in ("delete", "reset", "rename"):
                answer = page.request.post(
                    f"{base}/guests/{user_id}/{action}",
                    form={"csrf": csrf, "confirmed": "yes", "name": "Taken Over"},
                )
                assert answer.status == 403, (email, action, answer.text())
            answer = page.request.post(
                f"{base}/guests/bulk",
                form={"csrf": csrf, "action": "delete", "confirmed": "yes", f"g:{user_id}": "on"},
            )
            if allowed:  # the sponsor's bulk: that guest is not done
                assert "0 of 1 done." in answer.text()
            else:
                assert answer.status == 403
            answer = page.request.get(f"{base}/guests/bulk?action=revoke&g={user_id}")
            assert "None of the selected guests can be changed" in answer.text() or (
                answer.status == 403
            )
        if allowed:
            assert page.get_by_role("button", name="Delete guest").count() == 1
            page.goto(f"{base}/guests")
            assert page.get_by_label("Select Own Guest").count() == 1
            assert page.get_by_role("button", name="Revoke selected").count() == 1
        else:
            assert page.get_by_role("button", name="Delete guest").count() == 0
            page.goto(f"{base}/guests")
            assert page.get_by_role("button", name="Revoke selected").count() == 0
        # No CSRF token, or another site's origin: refused.
        forged = page.request.post(f"{base}/guests/{own}/delete", form={"confirmed": "yes"})
        assert forged.status == 403
        foreign = page.request.post(
            f"{base}/guests/{own}/delete",
            form={"csrf": csrf, "confirmed": "yes"},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status == 403
        context.close()
    for user_id, name in ((own, "Own Guest"), (other, "Other Guest")):
        shown = caller.request("GET", f"/v1.0/users/{user_id}")
        assert shown.status_code == 200
        assert shown.json()["displayName"] == name


def test_deleting_needs_a_sign_in_within_the_last_ten_minutes(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Gale Global", "Global administrator")
    caller = Caller.demo(server)
    guest = _address("keep", "fabrikam.example")
    user_id = _invite(caller, guest, "Kept Guest")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin, f"guests/{user_id}")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    stale = _stamp(datetime.now(UTC) - timedelta(minutes=20))
    _sql(server, "UPDATE console_sessions SET signed_in_at = ?", stale)
    base = f"{server.base_url}/admin/{DEMO_TENANT}"
    for path, form in (
        (f"guests/{user_id}/delete", {"confirmed": "yes"}),
        ("guests/bulk", {"action": "delete", "confirmed": "yes", f"g:{user_id}": "on"}),
        ("guests/bulk", {"action": "delete", f"g:{user_id}": "on"}),
    ):
        answer = page.request.post(f"{base}/{path}", form={"csrf": csrf} | form)
        assert answer.status == 403, (path, answer.text())
        assert "Sign in again" in answer.text()
    assert caller.request("GET", f"/v1.0/users/{user_id}").status_code == 200
    # A resend does not need a fresh sign-in.
    answer = page.request.post(
        f"{base}/guests/bulk",
        form={"csrf": csrf, "action": "resend", "confirmed": "yes", f"g:{user_id}": "on"},
    )
    assert "1 of 1 done." in answer.text()
    page.goto(f"{base}/guests/{user_id}?confirm=delete")
    page.get_by_role("button", name="Yes, delete the guest").click()
    assert page.inner_text("h1") == "Sign in again to continue"
    assert serious_violations(page) == []
    context.close()
