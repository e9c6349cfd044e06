"""The console's Bulk invite pages in Chromium, on SQLite and PostgreSQL.

An administrator uploads a CSV file with a bad row, follows the job to done (the page's
script, and without JavaScript its Refresh link) and downloads the results, the API's file
byte for byte; check only lists the bad row and stores and sends nothing; a big job is
cancelled mid-way; a Guest inviter sees only its own jobs; a Reader sees the jobs and every
post is refused; a Sponsor gets 403. axe-core checks every page; the form is reached by
keyboard.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import serious_violations

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
HEADINGS = (
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    " Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    " message [customizedMessageBody]"
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-bulk-{request.param}")
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


def _wait_for(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _state_is(page: Any, label: str) -> Callable[[], bool]:
    """Whether the job page shows the state (the page may be reloading meanwhile)."""
    from playwright.sync_api import Error

    def check() -> bool:
        try:
            return bool(page.locator("#state").inner_text(timeout=2000) == label)
        except Error:
            return False

    return check


def _count(server: Server, sql: str, *params: str) -> int:
    url = server.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return int(db.execute(sql, params).fetchone()[0])
    with psycopg.connect(url) as pg:
        row = pg.execute(sql.replace("?", "%s").encode(), params).fetchone()
        assert row is not None
        return int(row[0])


def _users(server: Server, emails: list[str]) -> int:
    marks = ", ".join("?" for _ in emails)
    return _count(server, f"SELECT COUNT(*) FROM users WHERE mail IN ({marks})", *emails)


def _entra_file(rows: list[str]) -> bytes:
    return ("version:v1.0\n" + HEADINGS + "\n" + "".join(r + "\n" for r in rows)).encode()


def _guests(count: int = 3) -> list[str]:
    return [_address(f"guest{n}", "fabrikam.example") for n in range(count)]


def _file_with_a_bad_row(guests: list[str], send: str = "FALSE") -> bytes:
    app = "https://myapplications.microsoft.com"
    rows = [f"{guests[0]},{app},{send},Welcome", f"not-an-address,{app},{send},Welcome"]
    rows += [f'{g},{app},{send},"Welcome, partner"' for g in guests[1:]]
    return _entra_file(rows)


def _upload(page: Any, server: Server, data: bytes, *, check_only: bool = False) -> None:
    if not page.url.endswith("/bulk"):
        page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/bulk")
    page.get_by_label("CSV file").set_input_files(
        {"name": "guests.csv", "mimeType": "text/csv", "buffer": data}
    )
    box = page.get_by_label("Check only: list the rows that would fail, invite nobody")
    box.set_checked(check_only)
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()


def _counts(page: Any) -> dict[str, str]:
    found = page.locator("dl.counts")
    return dict(
        zip(
            found.locator("dt").all_inner_texts(),
            found.locator("dd").all_inner_texts(),
            strict=True,
        )
    )


def _job_id(page: Any) -> str:
    match = re.search(r"/bulk/([0-9a-f-]{36})", page.url)
    assert match is not None, page.url
    return match.group(1)


def _audit(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        server.cli("audit", "list", "--tenant", DEMO_TENANT, "--limit", "100000", "--json").stdout
    )
    return found


def _focus_order(page: Any, steps: int = 40) -> list[str]:
    """What Tab reaches from the top of the page: each element's label, name or text."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                """() => { const e = document.activeElement;
                  if (!e) return "";
                  const label = e.id && document.querySelector(`label[for="${e.id}"]`);
                  const text = label ? label.innerText : e.innerText || e.name || e.tagName;
                  return text.trim(); }"""
            )
        )
    return seen


def test_an_admin_uploads_follows_the_job_and_downloads_its_results(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    guests = _guests()
    data = _file_with_a_bad_row(guests)
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, admin, path="bulk")
    assert page.inner_text("h1") == "Bulk invite"
    assert page.get_by_role("link", name="Bulk invite").get_attribute("aria-current") == "page"
    violations += serious_violations(page)
    reached = _focus_order(page)
    for name in ("CSV file", "Check only", "Upload", "Download Entra's template"):
        assert any(r.startswith(name) for r in reached), (name, reached)

    with page.expect_download() as template:
        page.get_by_role("link", name="Download Entra's template").click()
    template_bytes = Path(template.value.path()).read_bytes()
    assert template_bytes.startswith(b"version:v1.0\n" + HEADINGS.encode())
    assert b"\nExample: " in template_bytes

    _upload(page, server, data)
    job_id = _job_id(page)
    assert page.inner_text("h1") == "Bulk job"
    violations += serious_violations(page)
    _wait_for(_state_is(page, "Done"))  # the script reloads
    page.wait_for_load_state()
    assert _counts(page) == {
        "Invited": "3",
        "Held for approval": "0",
        "Failed": "1",
        "Skipped": "0",
        "Remaining": "0",
        "Total": "4",
    }
    assert page.get_by_role("button", name="Cancel the job").count() == 0
    violations += serious_violations(page)
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the results (CSV)").click()
    downloaded = Path(got.value.path()).read_bytes()
    api = Caller.demo(server).request("GET", f"/api/bulk/invitations/{job_id}/results")
    assert api.status_code == 200, api.text
    assert downloaded == api.content  # the API's results file, byte for byte
    rows = list(csv.reader(io.StringIO(downloaded.decode("utf-8-sig"))))
    assert rows[0][-5:] == ["status", "error code", "error message", "user id", "inviteRedeemUrl"]
    assert [r[0] for r in rows[1:]] == [guests[0], "not-an-address", guests[1], guests[2]]
    assert [r[4] for r in rows[1:]] == ["Success", "Failure", "Success", "Success"]
    assert rows[2][5] == "InvalidEmailAddress"
    assert rows[2][6].startswith("Row 4, column inviteeEmail")
    assert all(r[8].startswith(server.base_url + "/redeem/") for r in rows[1:] if r[4] == "Success")

    page.get_by_role("link", name="Bulk invite").first.click()
    listed = page.locator("tbody tr", has=page.locator(f'a[href$="/bulk/{job_id}"]'))
    cells = listed.locator("td").all_inner_texts()
    assert cells[1:] == [admin, "Done", "4", "3", "0", "1", "0"]
    violations += serious_violations(page)

    audit = _audit(server)
    (started,) = [e for e in audit if e["action"] == "bulk.create" and e["target"] == job_id]
    assert started["actor"] == admin
    invited = [e for e in audit if e["action"] == "invitation.create" and e["actor"] == admin]
    assert {e["details"]["email"] for e in invited} >= set(guests)
    context.close()
    assert violations == []


def test_check_only_lists_the_bad_row_and_stores_and_sends_nothing(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "User administrator")
    guests = _guests()
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin, path="bulk")
    jobs = _count(server, "SELECT COUNT(*) FROM bulk_jobs")
    mails = sum(len(sink.messages(to=g)) for g in guests)
    _upload(page, server, _file_with_a_bad_row(guests, send="TRUE"), check_only=True)
    assert "Nothing was stored or sent. 4 rows: 3 to invite, 1 with a problem" in page.inner_text(
        "main"
    )
    problems = page.get_by_role("region", name="Rows with a problem").locator("tbody tr")
    assert problems.count() == 1
    row, code, text = problems.locator("td").all_inner_texts()
    assert (row, code) == ("4", "InvalidEmailAddress")
    assert text.startswith("Row 4, column inviteeEmail")
    assert "Entra's portal would split the cell" in page.inner_text("main")  # the comma warning
    assert page.get_by_label(
        "Check only: list the rows that would fail, invite nobody"
    ).is_checked()
    assert serious_violations(page) == []
    time.sleep(1.5)  # a worker would have taken a job and mailed by now
    assert _count(server, "SELECT COUNT(*) FROM bulk_jobs") == jobs
    assert _users(server, guests) == 0
    assert sum(len(sink.messages(to=g)) for g in guests) == mails == 0

    # A file that cannot be read is refused whole, naming the problem, and stores nothing.
    _upload(page, server, b"version:v2.0\n" + HEADINGS.encode() + b"\n")
    assert page.locator(".error").inner_text().startswith("Row 1: the version line must be")
    assert serious_violations(page) == []
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    upload = f"{server.base_url}/admin/{DEMO_TENANT}/bulk"
    answer = page.request.post(upload, multipart={"csrf": csrf or ""})
    assert answer.status == 400
    assert "Choose a CSV file" in answer.text()
    file = {"name": "g.csv", "mimeType": "text/csv", "buffer": _entra_file([])}
    answer = page.request.post(upload, multipart={"csrf": csrf or "", "file": file})
    assert answer.status == 400
    assert "no rows below its headings" in answer.text()
    answer = page.request.post(upload, multipart={"csrf": "nope", "file": file})
    assert answer.status == 403
    answer = page.request.post(upload, form={"csrf": csrf or ""})
    assert answer.status == 403
    huge = {"name": "g.csv", "mimeType": "text/csv", "buffer": b"x" * (33 * 1024 * 1024)}
    answer = page.request.post(upload, multipart={"csrf": csrf or "", "file": huge})
    assert answer.status == 413
    assert "up to 32 MiB" in answer.text()
    assert _count(server, "SELECT COUNT(*) FROM bulk_jobs") == jobs
    for path in ("bulk/not-a-guid", f"bulk/{uuid.uuid4()}", f"bulk/{uuid.uuid4()}/results"):
        assert page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/{path}").status == 404
    context.close()


CANCELLED_ROWS = 90_000


def test_a_job_is_cancelled_mid_way_without_javascript(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    run = uuid.uuid4().hex[:8]
    # Large enough to be still running after a page load or two however fast the worker is.
    lines = [f"b{n}.{run}@northwind.example,false" for n in range(CANCELLED_ROWS)]
    data = ("invitedUserEmailAddress,sendInvitationMessage\n" + "\n".join(lines) + "\n").encode()
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, server, sink, admin, path="bulk")
    _upload(page, server, data)
    job_id = _job_id(page)
    before = _counts(page)
    page.get_by_role("link", name="Refresh").click()  # no script: the link reads the counts
    assert _job_id(page) == job_id
    assert int(_counts(page)["Remaining"]) <= int(before["Remaining"])
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel the job").click()
    assert "The job was cancelled" in page.inner_text("main")
    assert page.locator("#state").inner_text() == "Cancelled"
    counts = _counts(page)
    assert int(counts["Remaining"]) > 0
    assert int(counts["Invited"]) + int(counts["Remaining"]) == CANCELLED_ROWS
    time.sleep(1.5)  # the worker stops at its next batch, and invites no more
    page.get_by_role("link", name="Bulk invite").first.click()
    page.locator(f'a[href$="/bulk/{job_id}"]').click()
    assert _counts(page) == counts
    results = page.request.get(f"{server.base_url}/admin/{DEMO_TENANT}/bulk/{job_id}/results")
    rows = list(csv.reader(io.StringIO(results.text().lstrip("\ufeff"))))
    assert len(rows) == CANCELLED_ROWS + 1
    statuses = [r[2] for r in rows[1:]]
    assert statuses.count("Success") == int(counts["Invited"])
    assert statuses.count("Skipped") == int(counts["Remaining"])
    audit = [e for e in _audit(server) if e["target"] == job_id]
    assert sorted(e["action"] for e in audit) == ["bulk.cancel", "bulk.create"]
    assert {e["actor"] for e in audit} == {admin}
    context.close()
    # axe-core runs in the page: the cancelled job's page, once more with JavaScript.
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin, path=f"bulk/{job_id}")
    assert page.locator("#state").inner_text() == "Cancelled"
    assert serious_violations(page) == []
    context.close()


def test_a_guest_inviter_sees_its_own_jobs_and_invites_in_its_own_name(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    Caller.demo(server).request(
        "POST",
        "/api/bulk/invitations",
        content=_file_with_a_bad_row(_guests()),
        headers={"Content-Type": "text/csv"},
    )
    inviter = _address("inviter")
    member(server, inviter, "Ivy Inviter", "Guest inviter")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, inviter, path="bulk")
    assert "0 jobs you started" in page.inner_text("#count")
    other = "someone.else@contoso.example"
    data = (
        "invitedUserEmailAddress,requestedBy\n"
        f"{_address('g1', 'fabrikam.example')},\n"
        f"{_address('g2', 'fabrikam.example')},{other}\n"
    ).encode()
    _upload(page, server, data, check_only=True)
    (problem,) = page.get_by_role("region", name="Rows with a problem").locator("td").all()[2:3]
    assert problem.inner_text().startswith("Row 3, column requestedBy: a Guest inviter")
    _upload(page, server, data)
    _wait_for(_state_is(page, "Done"))
    page.wait_for_load_state()
    assert (_counts(page)["Invited"], _counts(page)["Failed"]) == ("1", "1")
    page.get_by_role("link", name="Bulk invite").first.click()
    assert page.locator("tbody tr").count() == 1
    assert page.locator("tbody td").nth(1).inner_text() == inviter
    assert serious_violations(page) == []
    context.close()


def test_a_reader_sees_the_jobs_and_every_post_is_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    answer = Caller.demo(server).request(
        "POST",
        "/api/bulk/invitations",
        content=_file_with_a_bad_row(_guests()),
        headers={"Content-Type": "text/csv"},
    )
    job_id = answer.json()["id"]
    reader = _address("reader")
    member(server, reader, "Riley Reader", "Reader")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, reader, path="bulk")
    assert page.get_by_role("button", name="Upload").count() == 0
    assert page.locator(f'a[href$="/bulk/{job_id}"]').count() == 1
    assert serious_violations(page) == []
    page.locator(f'a[href$="/bulk/{job_id}"]').click()
    _wait_for(_state_is(page, "Done"))
    page.wait_for_load_state()
    assert page.get_by_role("button").all_inner_texts() == ["Sign out"]
    assert "App " in page.locator("dl.props").first.inner_text()
    assert serious_violations(page) == []
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    base = f"{server.base_url}/admin/{DEMO_TENANT}/bulk"
    jobs = _count(server, "SELECT COUNT(*) FROM bulk_jobs")
    file = {"name": "g.csv", "mimeType": "text/csv", "buffer": _file_with_a_bad_row(_guests())}
    answer = page.request.post(base, multipart={"csrf": csrf, "file": file})
    assert answer.status == 403
    assert "not start or cancel" in answer.text()
    answer = page.request.post(f"{base}/{job_id}/cancel", form={"csrf": csrf})
    assert answer.status == 403
    assert _count(server, "SELECT COUNT(*) FROM bulk_jobs") == jobs
    assert page.get_by_role("link", name="Download the results (CSV)").count() == 0
    answer = page.request.get(f"{base}/{job_id}/results")  # they hold the redeem links
    assert answer.status == 403
    assert "does not let you download it" in answer.text()
    context.close()

    sponsor = _address("sponsor")
    member(server, sponsor, "Sam Sponsor", "Sponsor")
    context = chromium.new_context()
    page = context.new_page()
    assert sign_in(page, server, sink, sponsor, path="bulk").status == 403
    assert "does not let you see bulk invitations" in page.inner_text("main")
    assert page.get_by_role("link", name="Bulk invite").count() == 0
    context.close()


def test_rows_held_for_an_approver_are_counted_apart_and_named_by_the_check(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    """A policy holds one domain for an approver: the check names its rows, the job page
    counts them as held (not failed) and the results list the approval request."""
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    held = [_address(f"held{n}", "waits.example") for n in range(2)]
    invited = _address("free", "fabrikam.example")
    app = "https://myapplications.microsoft.com"
    data = _entra_file(
        [f"{held[0]},{app},TRUE,Hi", f"{invited},{app},FALSE,Hi", f"{held[1]},{app},TRUE,Hi"]
    )
    server.cli("policy", "set", "--tenant", DEMO_TENANT, "--approval-for", "waits.example")
    context = chromium.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, server, sink, admin, path="bulk")
        requests = _count(server, "SELECT COUNT(*) FROM approval_requests")
        _upload(page, server, data, check_only=True)
        text = page.inner_text("main")
        assert "3 rows: 3 to invite, 0 with a problem" in text
        assert "Of those to invite, 2 would wait for an approver" in text
        assert "rows 3, 5." in text  # the file's rows: version line 1, headings 2
        assert _count(server, "SELECT COUNT(*) FROM approval_requests") == requests
        assert serious_violations(page) == []

        _upload(page, server, data)
        _wait_for(_state_is(page, "Done"))
        page.reload()
        counts = _counts(page)
        assert (counts["Invited"], counts["Held for approval"], counts["Failed"]) == ("1", "2", "0")
        assert "2 rows wait for an approver" in page.inner_text("main")
        assert serious_violations(page) == []
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the results (CSV)").click()
        text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
        rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
        for guest in held:
            status, code, message, request_id, url = rows[guest][4:]
            assert (status, code) == ("PendingApproval", "PendingApproval")
            assert request_id in message
            assert url == f"{server.base_url}/api/approvals/{request_id}"
        assert rows[invited][4] == "Success"
        assert _count(server, "SELECT COUNT(*) FROM approval_requests") == requests + 2
        assert _users(server, held) == 0
        assert all(sink.messages(to=g) == [] for g in held)
        page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/bulk")
        row = page.get_by_role("region", name="Recent jobs").locator("tbody tr").first
        assert row.locator("td").all_inner_texts()[4:7] == ["1", "2", "0"]
    finally:
        context.close()
        server.cli("policy", "set", "--tenant", DEMO_TENANT, "--approval-for", "")
