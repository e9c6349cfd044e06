"""The Microsoft 365 console's Invite page in Chromium, on SQLite and PostgreSQL, axe-core on
each page state.

A local-mode guestgate over https stands in for Entra and Graph (test_console_graph_mode.py);
a graph-mode guestgate's console signs in against it. An administrator invites a guest with
every InviteGuest field; the stand-in then holds the guest with its display name and mails
the invitation with the message and the CC recipient, and the page shows the redeem link.
Bad input is a 400 page that names the field, and nothing is invited; a Global Reader gets
no Invite link and its posts are refused with 403. Invitations the policy holds wait on the
Approvals page, where one is approved (the guest is then made in Graph) and one declined; a
Global Reader's decisions are refused with 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_console_graph_mode import (
    ADMIN,
    READER,
    _audit,
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
    server, own = module_broker(request, tmp_path_factory, microsoft, "invite")
    yield server, own
    server.stop()


def _found(stand_in: Server, own: dict[str, str], email: str) -> list[dict[str, Any]]:
    graph = Caller(stand_in, own["TenantID"], own["AppID"], own["AppSecret"])
    answer = graph.request(
        "GET",
        "/v1.0/users",
        params={"$filter": f"mail eq '{email}'", "$select": "displayName,userType"},
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["value"]
    return found


def test_an_administrator_invites_with_every_field(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    tenant = own["TenantID"]
    tag = uuid.uuid4().hex[:8]
    email, cc = f"ada.{tag}@fabrikam.example", f"cc.{tag}@contoso.example"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    violations: list[str] = []
    try:
        assert _sign_in(page, sink, f"{server.base_url}/admin/{tenant}/guests", ADMIN).status == 200
        page.get_by_role("link", name="Invite", exact=True).click()
        assert page.inner_text("h1") == "Invite a guest"
        violations += serious_violations(page)
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Display name").fill("Ada Lovelace")
        page.get_by_label("Redirect URL after accepting").fill("https://myapps.example/welcome")
        page.get_by_label("Message in the invitation email").fill(f"Welcome aboard {tag}")
        page.get_by_label("Language of the email").fill("en-GB")
        page.get_by_label("CC the email to").fill(cc)
        assert page.get_by_label("Send the invitation email").is_checked()
        page.get_by_role("button", name="Invite", exact=True).click()
        assert page.inner_text("h1") == "Invitation sent"
        link = page.get_by_label("Redeem link").input_value()
        assert link.startswith(microsoft.base_url)
        violations += serious_violations(page)
        # The stand-in's guest, and its mail with the message, to the guest and the CC.
        found = _found(microsoft, own, email)
        assert [(u["displayName"], u["userType"]) for u in found] == [("Ada Lovelace", "Guest")]
        mails = sink.wait_for(to=email, subject_contains="invited you")
        assert f"Welcome aboard {tag}" in mails[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert cc in str(mails[-1]["Cc"])
        page.get_by_role("link", name="Open the guest").click()
        assert page.inner_text("h1") == "Ada Lovelace"

        # Bad input: the form again with a message naming the field; nothing invited.
        page.goto(f"{server.base_url}/admin/{tenant}/invite")
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        bad = f"bad.{tag}@fabrikam.example"
        for form, why in (
            ({"email": "not an address"}, "address"),
            ({"email": bad, "redirect": "javascript:alert(1)"}, "redirect"),
            ({"email": bad, "cc": "nobody"}, "cc"),
            ({"email": bad, "language": "x" * 40}, "anguage"),
            ({"email": bad, "message": "a\x00b"}, "essage"),
        ):
            answer = page.request.post(
                f"{server.base_url}/admin/{tenant}/invite", form={"csrf": csrf, **form}
            )
            assert answer.status == 400, (form, answer.text())
            assert 'class="error"' in answer.text()
            assert why.lower() in answer.text().lower(), (form, answer.text())
        assert _found(microsoft, own, bad) == []
        page.get_by_label("Email address").fill("still not an address@")
        page.get_by_role("button", name="Invite", exact=True).click()
        violations += serious_violations(page)
    finally:
        context.close()
    assert violations == []
    assert any(a == ADMIN and action == "invitation.create" for a, action, _ in _audit(server))


def test_a_reader_cannot_invite(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    tenant = own["TenantID"]
    email = f"nope.{uuid.uuid4().hex[:8]}@fabrikam.example"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        assert (
            _sign_in(page, sink, f"{server.base_url}/admin/{tenant}/guests", READER).status == 200
        )
        assert page.get_by_role("link", name="Invite", exact=True).count() == 0
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        answer = page.goto(f"{server.base_url}/admin/{tenant}/invite")
        assert answer is not None
        assert answer.status == 403
        posted = page.request.post(
            f"{server.base_url}/admin/{tenant}/invite",
            form={"csrf": csrf, "email": email, "send": "yes"},
        )
        assert posted.status == 403, posted.text()
    finally:
        context.close()
    assert _found(microsoft, own, email) == []


def test_a_held_invitation_is_approved_and_another_declined_on_the_approvals_page(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    tenant = own["TenantID"]
    held = f"held-{uuid.uuid4().hex[:6]}.example"
    server.cli("policy", "set", "--tenant", tenant, "--approval-for", held)
    first, second = f"ada@{held}", f"grace@{held}"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    violations: list[str] = []
    try:
        invite = f"{server.base_url}/admin/{tenant}/invite"
        assert _sign_in(page, sink, invite, ADMIN).status == 200
        ids = []
        for email in (first, second):
            page.goto(invite)
            page.get_by_label("Email address").fill(email)
            page.get_by_role("button", name="Invite", exact=True).click()
            assert page.inner_text("h1") == "Invitation waits for approval"
            ids.append(page.locator("dl.props code").first.inner_text())
        violations += serious_violations(page)
        # A Global Reader sees no request to decide, and its decision is refused.
        reading = chromium.new_context(ignore_https_errors=True)
        try:
            reader = reading.new_page()
            approvals = f"{server.base_url}/admin/{tenant}/approvals"
            assert _sign_in(reader, sink, approvals, READER).status == 200
            assert first not in reader.inner_text("main")
            csrf = reader.locator("input[name=csrf]").first.get_attribute("value") or ""
            for verb in ("approve", "decline"):
                posted = reader.request.post(f"{approvals}/{ids[0]}/{verb}", form={"csrf": csrf})
                assert posted.status == 403, posted.text()
        finally:
            reading.close()
        assert _found(microsoft, own, first) == []  # nothing in Graph before the approval
        page.get_by_role("link", name="Open approvals").click()
        assert page.inner_text("h1") == "Approvals"
        violations += serious_violations(page)
        text = page.inner_text("main")
        assert first in text
        assert second in text
        rows = page.locator("section", has_text=first)
        rows.get_by_label("Comment").fill("Partner project")
        rows.get_by_role("button", name="Approve").click()
        assert "The request was approved" in page.inner_text("main")
        violations += serious_violations(page)
        page.locator("section", has_text=second).get_by_role("button", name="Decline").click()
        assert "The request was declined" in page.inner_text("main")
        assert first not in page.inner_text("main")
    finally:
        context.close()
    assert violations == []
    assert [u["userType"] for u in _found(microsoft, own, first)] == ["Guest"]
    assert _found(microsoft, own, second) == []
    actions = {(a, action) for a, action, _ in _audit(server)}
    assert {(ADMIN, "approval.approve"), (ADMIN, "approval.decline")} <= actions
