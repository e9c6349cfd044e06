"""The Microsoft 365 console's sponsors, Disable/Enable and Deleted guests in Chromium, on
SQLite and PostgreSQL, axe-core on every page state.

A local-mode guestgate over https stands in for Entra and Graph (test_console_graph_mode.py);
a graph-mode guestgate's console signs in against it. An administrator adds sponsors by
address and by object id (the stand-in's /users/{id}/sponsors then lists them), removes one,
disables the guest (the stand-in's accountEnabled is false and the guest's redeem link says
the account is disabled), enables it, revokes its invitation (which deletes the guest user in
Microsoft 365) and restores it from Deleted guests. A Global Reader sees the pages without
their buttons, and each of its posts is refused with 403, changing nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_console_graph_mode import (
    ADMIN,
    NOBODY,
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
    server, own = module_broker(request, tmp_path_factory, microsoft, "users")
    yield server, own
    server.stop()


def _graph(stand_in: Server, own: dict[str, str]) -> Caller:
    """The broker's own app calling the stand-in's Graph surface, to check what it holds."""
    return Caller(stand_in, own["TenantID"], own["AppID"], own["AppSecret"])


def _sponsors(graph: Caller, user_id: str) -> list[str]:
    answer = graph.request("GET", f"/v1.0/users/{user_id}/sponsors")
    assert answer.status_code == 200, answer.text
    return sorted(s["mail"] for s in answer.json()["value"])


def _enabled(graph: Caller, user_id: str) -> bool:
    answer = graph.request("GET", f"/v1.0/users/{user_id}", params={"$select": "accountEnabled"})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["accountEnabled"])


def _member_id(graph: Caller, email: str) -> str:
    answer = graph.request("GET", "/v1.0/users", params={"$filter": f"mail eq '{email}'"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["value"][0]["id"])


def test_an_administrator_manages_sponsors_disables_enables_and_restores_a_guest(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    graph = _graph(microsoft, own)
    tag = uuid.uuid4().hex[:8]
    email = f"ada.{tag}@fabrikam.example"
    invited = _invite(server, _api_token(microsoft, own), email)
    user_id = str(invited["id"])
    link = str(invited["inviteRedeemUrl"])
    other = str(_invite(server, _api_token(microsoft, own), f"other.{tag}@x.example")["id"])
    tenant = own["TenantID"]
    profile = f"{server.base_url}/admin/{tenant}/guests/{user_id}"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    violations: list[str] = []

    def check() -> None:
        violations.extend(serious_violations(page))

    try:
        assert _sign_in(page, sink, profile, ADMIN).status == 200
        assert "No sponsors." in page.locator("ul.sponsors").inner_text()
        assert "Enabled" in page.inner_text("dl.props")
        check()
        # Sponsors: one by address, one by object id; a guest cannot sponsor.
        field = page.get_by_label("Add a sponsor (a member's email address or object id)")
        field.fill(NOBODY)
        page.get_by_role("button", name="Add sponsor").click()
        assert "The sponsor was added" in page.inner_text("main")
        check()
        field.fill(_member_id(graph, READER))
        page.get_by_role("button", name="Add sponsor").click()
        assert "The sponsor was added" in page.inner_text("main")
        assert _sponsors(graph, user_id) == sorted([NOBODY, READER])
        assert NOBODY in page.locator("ul.sponsors").inner_text()
        field.fill(f"other.{tag}@x.example")
        page.get_by_role("button", name="Add sponsor").click()
        assert "not a member of the organization" in page.inner_text("main")
        check()
        page.goto(profile)
        field.fill("not an address")
        page.get_by_role("button", name="Add sponsor").click()
        assert "sponsor" in page.inner_text("main").lower()
        page.goto(profile)
        page.get_by_role("button", name="Remove sponsor Noor Nobody").click()
        assert "The sponsor was removed" in page.inner_text("main")
        assert _sponsors(graph, user_id) == [READER]

        # Disable behind a confirmation: Entra's accountEnabled, and no redemption.
        page.get_by_role("button", name="Disable guest").click()
        page.wait_for_url(re.compile(r"confirm=disable$"))
        assert "can no longer accept an invitation or sign in" in page.inner_text("main")
        assert _enabled(graph, user_id)  # nothing yet
        check()
        page.get_by_role("button", name="Yes, disable the guest").click()
        page.wait_for_url(re.compile(r"done=disable$"))
        assert "The guest was disabled" in page.inner_text("main")
        assert "Disabled" in page.inner_text("dl.props")
        check()
        assert not _enabled(graph, user_id)
        with microsoft.client() as client:
            refused = client.get(link.replace(microsoft.base_url, ""))
        assert refused.status_code == 403
        assert "Your account is disabled" in refused.text
        page.get_by_role("button", name="Enable guest").click()
        page.get_by_role("button", name="Yes, enable the guest").click()
        page.wait_for_url(re.compile(r"done=enable$"))
        assert "The guest was enabled again" in page.inner_text("main")
        assert _enabled(graph, user_id)

        # Revoking deletes the guest user in Microsoft 365; Deleted guests brings it back.
        page.get_by_role("button", name="Revoke invitation").click()
        page.get_by_role("button", name="Yes, revoke").click()
        assert "The invitation was revoked" in page.inner_text("main")
        assert graph.request("GET", f"/v1.0/users/{user_id}").status_code == 404
        page.goto(f"{server.base_url}/admin/{tenant}/guests")
        page.get_by_role("link", name="Deleted guests").click()
        assert page.inner_text("h1") == "Deleted guests"
        assert email in page.locator("tbody").inner_text()
        check()
        page.locator(f"form[action$='/deleted/{user_id}/restore'] button").click()
        assert f"Restore {email}?" in page.inner_text("main")
        check()
        page.get_by_role("button", name="Yes, restore the guest").click()
        page.wait_for_url(re.compile(rf"/guests/{user_id}\?done=restore$"))
        assert "The guest was restored" in page.inner_text("main")
        assert READER in page.locator("ul.sponsors").inner_text()
        check()
        assert graph.request("GET", f"/v1.0/users/{user_id}").status_code == 200
        # Another guest's forms without the page's token change nothing.
        cookies = {c["name"]: c["value"] for c in context.cookies(server.base_url)}
        with server.client(cookies=cookies) as client:
            forged = client.post(
                f"/admin/{tenant}/guests/{other}/disable", data={"confirmed": "yes"}
            )
        assert forged.status_code == 403
        assert _enabled(graph, other)
    finally:
        context.close()
    assert violations == []
    mine = {(actor, action) for actor, action, target in _audit(server) if target == user_id}
    for action in (
        "user.sponsor.add",
        "user.sponsor.remove",
        "user.disable",
        "user.enable",
        "invitation.revoke",
        "user.restore",
    ):
        assert (ADMIN, action) in mine, (action, mine)


def test_a_readers_posts_are_refused_and_change_nothing(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    graph = _graph(microsoft, own)
    tag = uuid.uuid4().hex[:8]
    user_id = str(_invite(server, _api_token(microsoft, own), f"kept.{tag}@x.example")["id"])
    assert (
        graph.request(
            "POST",
            f"/v1.0/users/{user_id}/sponsors/$ref",
            json={
                "@odata.id": f"https://graph.microsoft.com/v1.0/users/{_member_id(graph, ADMIN)}"
            },
        ).status_code
        == 204
    )
    gone = str(_invite(server, _api_token(microsoft, own), f"gone.{tag}@x.example")["id"])
    assert graph.request("DELETE", f"/v1.0/users/{gone}").status_code == 204
    tenant = own["TenantID"]
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        url = f"{server.base_url}/admin/{tenant}/guests/{user_id}"
        assert _sign_in(page, sink, url, READER).status == 200
        assert page.get_by_role("button", name="Disable guest").count() == 0
        assert page.get_by_role("button", name="Add sponsor").count() == 0
        assert "Avery Admin" in page.locator("ul.sponsors").inner_text()
        assert serious_violations(page) == []
        answer = page.goto(f"{server.base_url}/admin/{tenant}/deleted")
        assert answer is not None
        assert answer.status == 200
        assert f"gone.{tag}@x.example" in page.locator("tbody").inner_text()
        assert page.locator("form[action$='/restore']").count() == 0
        assert serious_violations(page) == []
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        admin_id = _member_id(graph, ADMIN)
        for path, form in (
            (f"guests/{user_id}/disable", {"confirmed": "yes"}),
            (f"guests/{user_id}/disable", {}),
            (f"guests/{user_id}/sponsors", {"sponsor": NOBODY}),
            (f"guests/{user_id}/sponsors/{admin_id}/remove", {}),
            (f"deleted/{gone}/restore", {"confirmed": "yes"}),
            (f"deleted/{gone}/restore", {}),
        ):
            posted = page.request.post(
                f"{server.base_url}/admin/{tenant}/{path}", form={"csrf": csrf or "", **form}
            )
            assert posted.status == 403, (path, form, posted.text())
    finally:
        context.close()
    assert _enabled(graph, user_id)
    assert _sponsors(graph, user_id) == [ADMIN]
    assert graph.request("GET", f"/v1.0/directory/deletedItems/{gone}").status_code == 200
