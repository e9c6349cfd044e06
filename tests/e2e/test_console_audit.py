"""The console's Audit log page in Chromium, on SQLite and PostgreSQL.

An administrator reads the tenant's audit trail newest first, filters it by actor (in any
case), action (exactly or by its start), target and time, and the filters combine; the
pages follow one another by id without a gap or a repeat; the CSV export is the filtered
view with spreadsheet-safe cells. A bad filter is the page with a 400 naming it. A Reader
sees the page and the export; a Sponsor and a Guest inviter get 403 and no link. axe-core
checks each page; it works at 375 px and is reached by keyboard.
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
ADMIN = "avery.admin@contoso.example"
READER = "rene.reader@contoso.example"
SPONSOR = "sam.sponsor@contoso.example"
INVITER = "ivan.inviter@contoso.example"
FORMULA = "=1+2@formula.example"  # a requester a spreadsheet would read as a formula
INVITES = 55  # more than a page of invitation.create rows


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-audit-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    running = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    running.start()
    member(running, ADMIN, "Avery Admin", "Global administrator")
    member(running, READER, "Rene Reader", "Reader")
    member(running, SPONSOR, "Sam Sponsor", "Sponsor")
    member(running, INVITER, "Ivan Inviter", "Guest inviter")
    caller = Caller.demo(running)
    for n in range(INVITES):
        body: dict[str, Any] = {
            "invitedUserEmailAddress": f"guest{n:02d}.{uuid.uuid4().hex[:6]}@fabrikam.example",
            "requestedBy": ADMIN if n % 2 else INVITER,
        }
        if n == 0:
            body["requestedBy"] = FORMULA
        answer = caller.invite(body)
        assert answer.status_code == 201, answer.text
    yield running
    running.stop()


def _audit(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        server.cli("audit", "list", "--tenant", DEMO_TENANT, "--limit", "10000", "--json").stdout
    )
    return found


def _rows(page: Any) -> list[list[str]]:
    rows = page.get_by_role("region", name="Audit events").locator("tbody tr").all()
    return [r.locator("td").all_inner_texts() for r in rows if r.locator("td").count() == 5]


LABELS = {
    "actor": "Actor",
    "action": "Action",
    "target": "Target",
    "start": "From (UTC)",
    "to": "To (UTC)",
}


def _filter(page: Any, **values: str) -> Any:
    for name, value in values.items():
        page.get_by_label(LABELS[name], exact=True).fill(value)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Apply").click()
    return navigation.value


def _clear(page: Any) -> None:
    for label in LABELS.values():
        page.get_by_label(label, exact=True).fill("")


def _csv(page: Any, server: Server) -> list[dict[str, str]]:
    link = page.get_by_role("link", name="as CSV").get_attribute("href")
    answer = page.request.get(server.base_url + link)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="audit.csv"'
    return list(csv.DictReader(io.StringIO(answer.text())))


def test_an_administrator_filters_pages_and_exports_the_audit_log(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, ADMIN, path="audit")
    assert page.inner_text("h1") == "Audit log"
    assert (
        page.get_by_role("link", name="Audit log", exact=True).get_attribute("aria-current")
        == "page"
    )
    violations += serious_violations(page)
    stored = _audit(server)  # newest first, as the page
    first = _rows(page)
    assert len(first) == 50
    assert [r[2] for r in first] == [e["action"] for e in stored[:50]]
    assert first[0][2] == "console.signin"  # this sign-in, the newest event

    # Actor in another case, combined with an action prefix: the admin's requests only.
    _filter(page, actor=ADMIN.upper(), action="invitation.*")
    mine = _rows(page)
    expected = [e for e in stored if e["actor"] == ADMIN and e["action"].startswith("invitation.")]
    assert len(mine) == len(expected) == INVITES // 2
    assert {r[1].splitlines()[0] for r in mine} == {ADMIN}
    assert {r[2] for r in mine} == {"invitation.create"}
    # Details are readable: each key beside its value.
    detail = mine[0][4]
    assert "email" in detail
    assert expected[0]["details"]["email"] in detail
    assert "requesterNotice" in detail
    violations += serious_violations(page)
    exported = _csv(page, server)
    assert [int(r["id"]) for r in exported] == [e["id"] for e in expected]
    assert {r["action"] for r in exported} == {"invitation.create"}

    # Target: one guest's events.
    _clear(page)
    target = expected[3]["target"]
    _filter(page, target=target.upper())
    assert [r[3] for r in _rows(page)] == [target]

    # Time: nothing after tomorrow, nothing before 2000, everything from today.
    _clear(page)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    _filter(page, start=tomorrow)
    assert page.get_by_role("region", name="Audit events").inner_text().endswith("No events match.")
    _clear(page)
    _filter(page, to="2000-01-01")
    assert _rows(page) == []
    _clear(page)
    today = datetime.now(UTC).date().isoformat()
    _filter(page, action="invitation.create", start=today, to=today)
    assert len(_rows(page)) == 50

    # Paging: newest first, each page below the last, the whole filtered view once.
    seen = [r[3] for r in _rows(page)]
    page.get_by_role("link", name="Older events").click()
    rest = [r[3] for r in _rows(page)]
    assert len(rest) == INVITES - 50
    assert page.get_by_role("link", name="Older events").count() == 0
    creates = [e["target"] for e in stored if e["action"] == "invitation.create"]
    assert seen + rest == creates
    page.get_by_role("link", name="Newest events").click()
    assert [r[3] for r in _rows(page)] == seen

    # The export is the filtered view, every text cell spreadsheet-safe.
    _clear(page)
    _filter(page, actor=FORMULA)
    (row,) = _csv(page, server)
    assert row["actor"] == "'" + FORMULA
    assert row["action"] == "invitation.create"
    assert json.loads(row["details"])["requesterNotice"]
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/audit")
    assert len(_csv(page, server)) >= len(stored)
    assert serious_violations(page) == []
    assert violations == []
    context.close()


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("from=someday", "The from time 'someday' is not a date"),
        ("to=2026-13-40", "The to time '2026-13-40' is not a date"),
        ("action=DROP%20TABLE%3B", "is not an action name"),
        ("from=2026-12-02&to=2026-12-01", "The from time must be before the to time."),
        ("actor=" + "a" * 400, "The actor must be at most 320 printable characters."),
        ("target=%01x", "The target must be at most 400 printable characters."),
        ("before=-5", "The page link is not valid"),
    ],
)
def test_a_bad_filter_is_a_400_page_naming_it(
    server: Server, sink: SmtpSink, chromium: Any, query: str, named: str
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="audit")
    answer = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/audit?{query}")
    assert answer is not None
    assert answer.status == 400
    assert named in page.get_by_role("alert").inner_text()
    assert page.get_by_role("link", name="as CSV").count() == 0
    assert page.get_by_role("button", name="Apply").is_visible()  # the form stays
    download = page.request.get(f"{server.base_url}/admin/{DEMO_TENANT}/audit.csv?{query}")
    assert download.status == (200 if query.startswith("before") else 400)  # no paging there
    if "from=someday" in query:
        assert serious_violations(page) == []
    context.close()


@pytest.mark.parametrize(("email", "allowed"), [(READER, True), (SPONSOR, False), (INVITER, False)])
def test_readers_see_the_audit_log_and_other_roles_do_not(
    server: Server, sink: SmtpSink, chromium: Any, email: str, allowed: bool
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, email, path="audit")
    download = page.request.get(f"{server.base_url}/admin/{DEMO_TENANT}/audit.csv")
    if allowed:
        assert answer.status == 200
        assert len(_rows(page)) == 50
        assert download.status == 200
        assert page.get_by_role("link", name="Audit log", exact=True).count() == 1
    else:
        assert answer.status == 403
        assert "administrators and readers see it" in page.inner_text("main")
        assert download.status == 403
        assert "action" not in download.text()
        page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests")
        assert page.get_by_role("link", name="Audit log", exact=True).count() == 0
    context.close()


def test_the_page_works_at_375_pixels_and_by_keyboard(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    context = chromium.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="audit")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached = []
    for _ in range(25):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("() => document.activeElement.id || document.activeElement.innerText")
        )
    for wanted in ("actor", "action", "target", "from", "to", "Apply"):
        assert wanted in reached
    page.get_by_label("Action", exact=True).focus()
    page.keyboard.type("console.signin")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert {r[2] for r in _rows(page)} == {"console.signin"}
    context.close()
