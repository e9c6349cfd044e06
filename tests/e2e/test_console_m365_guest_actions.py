"""The Microsoft 365 console's Delete guest, Reset redemption and Edit display name in
Chromium, on SQLite and PostgreSQL, axe-core on every page state.

A local-mode guestgate over https stands in for Entra and Graph (test_console_graph_mode.py);
a graph-mode guestgate's console signs in against it. An administrator renames a guest (the
stand-in's user then has the new name), resets its redemption (the stand-in mails a new
invitation for the same user object) and deletes it (the stand-in keeps it in its deleted
items), each behind a confirmation and audited with the administrator as actor; a bad name
is a 400 that says why. A Global Reader's posts are refused with 403 and change nothing. A
delete with a sign-in older than 10 minutes asks for a sign-in again, and completes after it.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.signin import latest_code
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_console_graph_mode import (
    ADMIN,
    READER,
    _api_token,
    _audit,
    _invite,
    _sign_in,
    microsoft,  # noqa: F401 (the stand-in Entra and Graph, a fixture)
    module_broker,
)
from tests.e2e.test_pages_and_mails import serious_violations

pytestmark = pytest.mark.e2e


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def broker(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    microsoft: Server,  # noqa: F811
) -> Iterator[tuple[Server, dict[str, str]]]:
    server, own = module_broker(request, tmp_path_factory, microsoft, "actions")
    yield server, own
    server.stop()


def _graph(stand_in: Server, own: dict[str, str]) -> Caller:
    return Caller(stand_in, own["TenantID"], own["AppID"], own["AppSecret"])


def _user(graph: Caller, user_id: str) -> dict[str, Any] | None:
    answer = graph.request("GET", f"/v1.0/users/{user_id}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _guest(server: Server, stand_in: Server, own: dict[str, str], name: str) -> tuple[str, str]:
    email = f"{name}.{uuid.uuid4().hex[:8]}@fabrikam.example"
    return email, str(_invite(server, _api_token(stand_in, own), email)["id"])


def test_an_administrator_renames_resets_and_deletes_a_guest(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    graph = _graph(microsoft, own)
    email, user_id = _guest(server, microsoft, own, "ada")
    tenant = own["TenantID"]
    profile = f"{server.base_url}/admin/{tenant}/guests/{user_id}"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    violations: list[str] = []

    def check() -> None:
        violations.extend(serious_violations(page))

    try:
        assert _sign_in(page, sink, profile, ADMIN).status == 200
        check()
        # Edit display name: the form behind the button, then Graph's PATCH.
        page.get_by_role("button", name="Edit display name").click()
        page.wait_for_url(re.compile(r"confirm=rename$"))
        check()
        page.get_by_label("New display name").fill("Ada Renamed")
        page.get_by_role("button", name="Save display name").click()
        page.wait_for_url(re.compile(r"done=rename$"))
        assert "The display name was changed" in page.inner_text("main")
        assert page.inner_text("h1") == "Ada Renamed"
        check()
        found = _user(graph, user_id)
        assert found is not None
        assert found["displayName"] == "Ada Renamed"
        # A bad name is a 400 saying why, and nothing changes.
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        for name, why in (("   ", "must not be empty"), ("x" * 257, "longer than 256")):
            answer = page.request.post(
                f"{profile}/rename", form={"csrf": csrf, "confirmed": "yes", "name": name}
            )
            assert answer.status == 400, answer.text()
            assert why in answer.text()
        found = _user(graph, user_id)
        assert found is not None
        assert found["displayName"] == "Ada Renamed"

        # Reset redemption: a new invitation mailed for the same user object.
        before = len(sink.messages(to=email))
        page.get_by_role("button", name="Reset redemption").click()
        page.wait_for_url(re.compile(r"confirm=reset$"))
        assert "must accept again" in page.inner_text("main")
        check()
        assert len(sink.messages(to=email)) == before  # nothing yet
        page.get_by_role("button", name="Yes, reset redemption").click()
        page.wait_for_url(re.compile(r"done=reset$"))
        assert "The redemption was reset" in page.inner_text("main")
        check()
        sink.wait_for(before + 1, to=email)
        assert _user(graph, user_id) is not None  # the same object

        # Delete behind a confirmation (the sign-in is recent): Entra's deleted items.
        page.get_by_role("button", name="Delete guest").click()
        page.wait_for_url(re.compile(r"confirm=delete$"))
        assert "Deleted guests for 30 days" in page.inner_text("main")
        check()
        assert _user(graph, user_id) is not None  # nothing yet
        page.get_by_role("button", name="Yes, delete the guest").click()
        page.wait_for_url(re.compile(r"/guests\?deleted=1$"))
        assert "The guest was deleted" in page.inner_text("main")
        check()
        assert _user(graph, user_id) is None
        deleted = graph.request("GET", f"/v1.0/directory/deletedItems/{user_id}")
        assert deleted.status_code == 200, deleted.text
    finally:
        context.close()
    assert violations == []
    mine = {(actor, action) for actor, action, target in _audit(server) if target == user_id}
    for action in ("user.update", "user.delete"):
        assert (ADMIN, action) in mine, (action, mine)
    assert any(actor == ADMIN and action.startswith("invitation.") for actor, action in mine)


def test_a_readers_posts_are_refused_and_change_nothing(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    graph = _graph(microsoft, own)
    email, user_id = _guest(server, microsoft, own, "kept")
    tenant = own["TenantID"]
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        url = f"{server.base_url}/admin/{tenant}/guests/{user_id}"
        assert _sign_in(page, sink, url, READER).status == 200
        for name in ("Delete guest", "Reset redemption", "Edit display name"):
            assert page.get_by_role("button", name=name).count() == 0
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        mails = len(sink.messages(to=email))
        for action, form in (
            ("delete", {"confirmed": "yes"}),
            ("delete", {}),
            ("reset", {"confirmed": "yes"}),
            ("rename", {"confirmed": "yes", "name": "Changed"}),
        ):
            posted = page.request.post(f"{url}/{action}", form={"csrf": csrf, **form})
            assert posted.status == 403, (action, form, posted.text())
    finally:
        context.close()
    found = _user(graph, user_id)
    assert found is not None
    assert found["displayName"] != "Changed"
    assert len(sink.messages(to=email)) == mails


def _stand_in_sessions_signed_in(microsoft: Server, moment: datetime) -> None:  # noqa: F811
    """The stand-in Entra's sign-in sessions as if their credentials were entered then."""
    with sqlite3.connect(microsoft.database_url.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE signin_sessions SET auth_time = ?",
            (moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),),
        )


def test_a_delete_needs_a_sign_in_within_ten_minutes(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    graph = _graph(microsoft, own)
    _email, user_id = _guest(server, microsoft, own, "stale")
    tenant = own["TenantID"]
    profile = f"{server.base_url}/admin/{tenant}/guests/{user_id}"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        assert _sign_in(page, sink, profile, ADMIN).status == 200
        # A new console session on the stand-in's session of 20 minutes ago (no code asked).
        page.get_by_role("button", name="Sign out").click()
        _stand_in_sessions_signed_in(microsoft, datetime.now(UTC) - timedelta(minutes=20))
        page.goto(f"{profile}?confirm=delete")
        page.wait_for_url(re.compile(r"confirm=delete$"))
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        posted = page.request.post(f"{profile}/delete", form={"csrf": csrf, "confirmed": "yes"})
        assert posted.status == 403
        assert "Sign in again" in posted.text()
        page.get_by_role("button", name="Yes, delete the guest").click()
        assert page.inner_text("h1") == "Sign in again to continue"
        assert "within the last 10 minutes" in page.inner_text("main")
        assert serious_violations(page) == []
        assert _user(graph, user_id) is not None
        # Signing in again (a code entered now) comes back to the confirmation.
        page.get_by_role("link", name="Sign in again").click()
        page.wait_for_url(re.compile(r"/authorize|/signin"))
        before = len(sink.messages(to=ADMIN, subject_contains="verification code"))
        if page.get_by_label("Email address").count():
            page.get_by_label("Email address").fill(ADMIN)
        page.get_by_role("button", name="Send code").click()
        page.wait_for_url(re.compile(r"/signin/code$"))
        page.get_by_label("Code").fill(latest_code(sink, ADMIN, before + 1))
        with page.expect_navigation(url=re.compile(r"confirm=delete$")):
            page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Yes, delete the guest").click()
        page.wait_for_url(re.compile(r"/guests\?deleted=1$"))
        assert _user(graph, user_id) is None
    finally:
        context.close()
