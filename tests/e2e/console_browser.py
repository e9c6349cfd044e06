"""Driving the admin console in Chromium: sign in with the mailed code, read the guest list."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT, latest_code
from tests.e2e.smtp import SmtpSink


def member(server: Server, email: str, name: str, role: str | None = None) -> None:
    """A member of the demo tenant, with a console role if `role` is given."""
    server.cli("user", "create", "--tenant", DEMO_TENANT, "--email", email, "--name", name)
    if role is not None:
        server.cli("role", "assign", "--tenant", DEMO_TENANT, "--user", email, "--role", role)


def sign_in(page: Any, server: Server, sink: SmtpSink, email: str, path: str = "guests") -> Any:
    """Open a console page; sign in on guestgate's own pages with the code from the mail."""
    answer = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/{path}")
    assert answer is not None
    if "/signin" not in page.url and "authorize" not in page.url:
        return answer  # a live session
    before = len(sink.messages(to=email, subject_contains="verification code"))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/signin/code$"))
    page.get_by_label("Code").fill(latest_code(sink, email, before + 1))
    with page.expect_navigation(url=re.compile(r"/admin/")) as navigation:
        page.get_by_role("button", name="Sign in").click()
    return navigation.value


def listed(page: Any) -> dict[str, str]:
    """The guest list's rows on the page: email → state."""
    rows = page.locator("tbody tr").all()
    found = {}
    for row in rows:
        cells = row.locator("td").all_inner_texts()
        if len(cells) == 7:
            found[cells[1]] = cells[3]
    return found


def shown_count(page: Any) -> int:
    match = re.match(r"(\d+) guests?", page.inner_text("#count"))
    assert match is not None
    return int(match.group(1))
