"""The Microsoft 365 console's Webhooks pages and Activity view in Chromium, on SQLite and
PostgreSQL, axe-core on each page state.

A local-mode guestgate over https stands in for Entra and Graph (test_console_graph_mode.py);
a graph-mode guestgate's console signs in against it. guestgate keeps the events of what it
changes in Entra and delivers them to webhook endpoints as in local mode: an administrator
adds an endpoint for a real local receiver, invites a guest on the Invite page, and the
receiver gets invitation.created signed so that `standardwebhooks` verifies it; the delivery
log and the Activity view show it, with the administrator behind it. A bad URL is a 400 that
says why. A Global Reader sees the pages, and each of its posts is refused with 403. The
Reports page says it draws no figures in this mode, and why. The Audit log shows guestgate's
own audit trail (the sign-ins, with the person), filtered and exported as CSV.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from tests.e2e.server import Server
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
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.e2e
HOOKS_ENV = {"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true", "GUESTGATE_WEBHOOK_RETRY_SCALE": "0.001"}


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def broker(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    microsoft: Server,  # noqa: F811
) -> Iterator[tuple[Server, dict[str, str]]]:
    server, own = module_broker(request, tmp_path_factory, microsoft, "events", HOOKS_ENV)
    yield server, own
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(script=[Reply(200, body=b"thanks")]).start()
    yield running
    running.stop()


def _wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_an_administrator_adds_an_endpoint_and_sees_the_activity(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
    receiver: Receiver,
) -> None:
    server, own = broker
    base = f"{server.base_url}/admin/{own['TenantID']}"
    guest = f"hooked.{uuid.uuid4().hex[:8]}@fabrikam.example"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    violations: list[str] = []
    try:
        assert _sign_in(page, sink, f"{base}/guests", ADMIN).status == 200
        page.get_by_role("link", name="Webhooks").click()
        assert page.inner_text("h1") == "Webhooks"
        violations += serious_violations(page)
        # A bad URL: the page says why, and no endpoint is stored.
        page.get_by_label("URL").fill("ftp://example.com/hook")
        page.locator('input[name="event.invitation.created"]').check()
        page.get_by_role("button", name="Add endpoint").click()
        assert page.locator("p.error").count() == 1
        assert page.locator("tbody").inner_text() == "No webhook endpoints yet."
        violations += serious_violations(page)
        page.get_by_label("URL").fill(receiver.url)
        page.locator('input[name="event.invitation.created"]').check()
        page.get_by_role("button", name="Add endpoint").click()
        assert page.inner_text("h1") == "Webhook endpoint"
        secret = page.get_by_label("Signing secret").input_value()
        REGISTRY.secret(secret, "webhook secret")
        violations += serious_violations(page)
        page.goto(f"{base}/webhooks")
        assert secret not in page.content()  # shown once
        page.get_by_role("link", name=receiver.url).click()
        detail = page.url

        page.get_by_role("link", name="Invite", exact=True).click()
        page.get_by_label("Email address").fill(guest)
        page.get_by_label("Send the invitation email").uncheck()
        page.get_by_role("button", name="Invite", exact=True).click()
        assert page.inner_text("h1") == "Invitation created"
        _wait_for(lambda: len(receiver.received) == 1)
        (got,) = receiver.received
        payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
        assert payload["type"] == "invitation.created"
        assert payload["data"]["invitedUserEmailAddress"] == guest

        def logged() -> bool:
            page.goto(detail)
            return "1 delivered" in page.inner_text("dl.props")

        _wait_for(logged)
        violations += serious_violations(page)
        page.get_by_role("link", name="Activity").click()
        assert page.inner_text("h1") == "Activity"
        created = page.locator("tbody tr", has_text=got.webhook_id)
        cells = created.locator("td").all_inner_texts()
        assert cells[2] == "invitation.created"
        assert cells[4].splitlines()[0] == ADMIN
        violations += serious_violations(page)
        page.goto(detail)
        page.get_by_role("button", name="Disable").click()
        assert "Deliveries are off" in page.inner_text("main")
    finally:
        context.close()
    assert violations == []
    actions = {(actor, action) for actor, action, _ in _audit(server)}
    assert {(ADMIN, "webhook.add"), (ADMIN, "webhook.disable")} <= actions


def test_a_reader_sees_the_pages_and_its_posts_are_refused(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
    receiver: Receiver,
) -> None:
    server, own = broker
    base = f"{server.base_url}/admin/{own['TenantID']}"
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        assert _sign_in(page, sink, f"{base}/webhooks", READER).status == 200
        assert page.inner_text("h1") == "Webhooks"
        assert page.get_by_role("button", name="Add endpoint").count() == 0
        assert serious_violations(page) == []
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        added = page.request.post(
            f"{base}/webhooks",
            form={"csrf": csrf, "url": receiver.url, "event.invitation.created": "yes"},
        )
        assert added.status == 403, added.text()
        answer = page.goto(f"{base}/activity")
        assert answer is not None
        assert answer.status == 200
        assert serious_violations(page) == []
        # Reports: the page says what it shows in this mode, and why.
        page.get_by_role("link", name="Reports").click()
        assert page.inner_text("h1") == "Reports"
        assert "shows no figures in Microsoft 365 mode" in page.inner_text("main")
        assert page.get_by_role("link", name="Reports").get_attribute("aria-current") == "page"
        assert serious_violations(page) == []
    finally:
        context.close()
    assert not [a for actor, a, _ in _audit(server) if actor == READER and "webhook" in a]


def test_the_audit_log_shows_what_guestgate_did_with_who_did_it(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    base = f"{server.base_url}/admin/{own['TenantID']}"
    context = chromium.new_context(ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    try:
        assert _sign_in(page, sink, f"{base}/guests", ADMIN).status == 200
        page.get_by_role("link", name="Audit log").click()
        assert page.inner_text("h1") == "Audit log"
        assert serious_violations(page) == []
        page.get_by_label("Actor").fill(ADMIN)
        page.get_by_label("Action").fill("console.*")
        page.get_by_role("button", name="Apply").click()
        rows = page.locator("tbody tr").all_inner_texts()
        assert rows
        assert all("console.signin" in r and ADMIN in r for r in rows), rows
        with page.expect_download() as got:
            page.get_by_role("link", name="Download these events as CSV").click()
        exported = Path(got.value.path()).read_text(encoding="utf-8")
        assert exported.startswith("id,time,actor,appId,action,target,requestId,details")
        assert ADMIN in exported
        answer = page.goto(f"{base}/audit?from=not-a-date")
        assert answer is not None
        assert answer.status == 400
        assert page.locator("#filter-error").count() == 1
        assert serious_violations(page) == []
    finally:
        context.close()
