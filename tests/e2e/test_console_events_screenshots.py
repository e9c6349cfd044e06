"""Screenshots of the console's Webhooks pages and Activity view, axe-core on each page.

The console screenshots' mechanism (tests/e2e/test_console_screenshots.py): its own SQLite
database with fixed names, dates and ids made steady before each picture; here also the
receiver's address, the signing secret and the latencies. Changes are made one at a time,
each delivery awaited, so the event numbers and the log's order are the same on every run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_console_screenshots import ADMIN, SHOTS, Shots
from tests.e2e.test_pages_and_mails import settled
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver, Reply

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
# The pictures this test owns in docs/screenshots/console/ (the console's test owns the rest).
PREFIXES = ("console-webhook", "console-activity")
HOOK = "https://hooks.contoso.example/guestgate"
# Before STEADY: the receiver's loopback address, the secret and the latencies.
FIXED = """([receiver, hook]) => {
  const fix = (t) => t.split(receiver).join(hook)
    .split("http://127.0.0.1:9/").join("https://automate.contoso.example/")
    .replace(/whsec_[A-Za-z0-9+\\/=]+/g, "whsec_MfKQ9r3xdvA1c2Y6ztjmBgW5kHhPnqLeRu8sTw4VXo0=")
    .replace(/\\b\\d+ ms\\b/g, "38 ms");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) walker.currentNode.nodeValue = fix(walker.currentNode.nodeValue);
  for (const input of document.querySelectorAll("input")) input.value = fix(input.value);
}"""


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("console-events-shots")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",
            "GUESTGATE_WEBHOOK_RETRY_SCALE": "0.001",
        },
    )
    server.start()
    yield server
    server.stop()


def _wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_screenshots_of_the_webhooks_pages_and_the_activity_view(
    hooks_server: Server, sink: SmtpSink, chromium: Any
) -> None:
    server = hooks_server
    receiver = Receiver(default=Reply(200, body=b'{"received":true}')).start()
    try:
        _pictures(server, sink, chromium, receiver)
    finally:
        receiver.stop()


def _pictures(server: Server, sink: SmtpSink, chromium: Any, receiver: Receiver) -> None:
    member(server, ADMIN, "Avery Admin", "Global administrator")
    caller = Caller.demo(server)
    context = chromium.new_context(viewport={"width": 1200, "height": 760})
    page = context.new_page()
    shots = Shots(page)

    def take(name: str) -> None:
        settled(page).evaluate(FIXED, [receiver.url, HOOK])
        shots.take(name)

    sign_in(page, server, sink, ADMIN, path="webhooks")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_label("Signing secret").input_value()
    REGISTRY.secret(secret, "webhook secret")
    detail = f"{server.base_url}/admin/{DEMO_TENANT}/webhooks/{_endpoint_id(page)}"
    take("console-webhook-added")  # after reading the id: the picture's ids are fixed ones

    def delivered(count: int) -> None:
        _wait_for(lambda: len(receiver.received) == count)

    ids = {}
    for n, (email, name) in enumerate(
        (
            ("ada.lovelace@fabrikam.example", "Ada Lovelace"),
            ("alan.turing@northwind.example", "Alan Turing"),
        ),
        start=1,
    ):
        answer = caller.invite(
            {
                "invitedUserEmailAddress": email,
                "invitedUserDisplayName": name,
                "sendInvitationMessage": False,
                "requestedBy": ADMIN,
            }
        )
        assert answer.status_code == 201, answer.text
        ids[email] = answer.json()["invitationId"]
        delivered(n)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/invite")
    page.get_by_label("Email address").fill("grace.hopper@fabrikam.example")
    page.get_by_label("Display name").fill("Grace Hopper")
    page.get_by_label("Send the invitation email").uncheck()
    page.get_by_role("button", name="Invite", exact=True).click()
    delivered(3)
    revoked = caller.request(
        "POST", f"/api/invitations/{ids['alan.turing@northwind.example']}/revoke"
    )
    assert revoked.status_code == 200, revoked.text
    delivered(4)

    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/webhooks")
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks/guests")
    page.locator('input[name="event.invitation.redeemed"]').check()
    page.locator('input[name="event.invitation.revoked"]').check()
    page.get_by_role("button", name="Add endpoint").click()
    REGISTRY.secret(page.get_by_label("Signing secret").input_value(), "webhook secret")
    page.get_by_role("button", name="Disable").click()

    def logged() -> bool:
        page.goto(detail)
        return bool(page.locator("td.excerpt").count() == 4)

    _wait_for(logged)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/webhooks")
    take("console-webhooks")
    page.goto(detail)
    take("console-webhook")
    page.get_by_role("button", name="Remove").click()
    take("console-webhook-confirm-remove")
    page.get_by_role("link", name="Activity").click()
    take("console-activity")
    page.get_by_label("Type").select_option("invitation.created")
    page.get_by_role("button", name="Apply").click()
    take("console-activity-filtered")
    context.close()
    assert shots.violations == []
    mine = sorted(p.stem for p in SHOTS.glob("*.png") if p.stem.startswith(PREFIXES))
    assert mine == sorted(shots.names)


def _endpoint_id(page: Any) -> str:
    found = page.locator("dl.props dt", has_text="Id").locator("xpath=following-sibling::dd[1]")
    return str(found.inner_text().strip())
